"""The signatures updater frameworks check on a release's file, made once when
the file is received, with the server's active signing key: Sparkle's
edSignature (Ed25519 over the bytes) and Tauri's minisign signature
(Ed25519 over the file's BLAKE2b-512). A file hosted at an external URL has
neither: the server never sees its bytes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from licserver.domain import feeds
from licserver.services.context import Context

_CHUNK = 1 << 20


@dataclass(frozen=True)
class FileSignatures:
    kid: str
    ed_signature: str
    minisign: str


def sign_file(ctx: Context, path: Path, filename: str) -> FileSignatures:
    """Sign the file at ``path``. Ed25519 (Sparkle's scheme) is not streamed:
    the file is read into memory once, as Sparkle's own ``sign_update`` does."""
    kid, key = ctx.keyring.signer(ctx.session)
    blake = hashlib.blake2b(digest_size=64)
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            blake.update(chunk)
    data = path.read_bytes()
    stamp = int(ctx.now().timestamp())
    return FileSignatures(
        kid=kid,
        ed_signature=feeds.sparkle_signature(key, data),
        minisign=feeds.minisign_signature(key, blake.digest(), filename, stamp),
    )
