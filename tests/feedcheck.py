"""What updater frameworks check on a file, written from their documented
formats: Tauri's minisign verification (minisign-verify)."""

from __future__ import annotations

import base64
import hashlib

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def minisign_verify(pubkey_b64: str, signature_b64: str, data: bytes) -> str:
    """What Tauri's updater (minisign-verify) checks; returns the trusted
    comment. Raises InvalidSignature (or AssertionError) when it fails."""
    pk_lines = base64.b64decode(pubkey_b64).decode().splitlines()
    pk = base64.b64decode(pk_lines[1])
    assert pk[:2] == b"Ed"
    public = Ed25519PublicKey.from_public_bytes(pk[10:])
    lines = base64.b64decode(signature_b64).decode().splitlines()
    assert lines[0].startswith("untrusted comment: ")
    sig = base64.b64decode(lines[1])
    alg, key_id, raw = sig[:2], sig[2:10], sig[10:]
    assert key_id == pk[2:10]
    message = hashlib.blake2b(data).digest() if alg == b"ED" else data
    public.verify(raw, message)
    trusted = lines[2].removeprefix("trusted comment: ")
    public.verify(base64.b64decode(lines[3]), raw + trusted.encode())
    return trusted
