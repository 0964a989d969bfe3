"""Updates (API.md, "Updates"): the answer of ``POST /api/v1/updates`` as an
``Update``, its UP1 manifest verified with the pinned keys, and a download
that resumes a partial file and lets the file appear under its name only
once its SHA-256 and manifest agree — a wrong file never lands."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from licclient._verify import InvalidToken, verify
from licclient.errors import CertificateInvalid, LicenseError, ServerUnavailable, error_for

UPDATE_MANIFEST_PREFIX = "UP1"
CERTIFICATE_INVALID = "CERTIFICATE_INVALID"
_CHUNK = 1 << 16


def _bad(reason: str) -> CertificateInvalid:
    return CertificateInvalid(
        f"The update did not verify ({reason}); nothing was kept.", code=CERTIFICATE_INVALID
    )


@dataclass(frozen=True)
class Update:
    """A newer release this licence may have. ``download(path)`` fetches it."""

    version: str
    channel: str
    released_at: datetime | None
    notes: str | None
    download_url: str
    size: int
    sha256: str
    manifest: str
    platform: str | None
    arch: str | None
    timeout: float = 30.0
    retries: int = 3
    user_agent: str = "licclient"

    def download(self, path: str | os.PathLike[str]) -> Path:
        """Download to ``path``. A ``path.part`` left by an interrupted download
        is resumed (HTTP Range). The file gets its name only after its size and
        SHA-256 match this update and its manifest; otherwise the partial file
        is removed and ``CertificateInvalid`` raised. Errors of the server
        (an expired link: ``LINK_EXPIRED``; check again for a fresh one) raise
        like the SDK's others; the partial file is kept for the next try."""
        target = Path(path)
        part = target.with_name(target.name + ".part")
        for attempt in range(self.retries + 1):
            try:
                self._fetch(part)
                break
            except ServerUnavailable:
                if attempt == self.retries:
                    raise
        digest = hashlib.sha256()
        with part.open("rb") as f:
            while chunk := f.read(_CHUNK):
                digest.update(chunk)
        size = part.stat().st_size
        if size != self.size or digest.hexdigest() != self.sha256:
            part.unlink(missing_ok=True)
            raise _bad("the file's size or SHA-256 is not the manifest's")
        os.replace(part, target)
        return target

    def _fetch(self, part: Path) -> None:
        have = part.stat().st_size if part.exists() else 0
        if have > self.size:
            part.unlink()
            have = 0
        if have == self.size:
            return
        headers = {"User-Agent": self.user_agent}
        if have:
            headers["Range"] = f"bytes={have}-"
        req = urllib.request.Request(self.download_url, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # follows a 302
                append = have > 0 and resp.status == 206
                with part.open("ab" if append else "wb") as out:
                    written = have if append else 0
                    while chunk := resp.read(_CHUNK):
                        written += len(chunk)
                        if written > self.size:
                            break  # more than the manifest says: checked below
                        out.write(chunk)
            if written < self.size:  # the answer ended early: resume from here
                raise ServerUnavailable(f"The download stopped after {written} bytes.")
        except urllib.error.HTTPError as exc:
            if exc.code == 416:  # nothing beyond what we have: start again
                part.unlink(missing_ok=True)
                raise ServerUnavailable("The download could not resume.", status=416) from exc
            try:
                problem = json.loads(exc.read(1 << 16) or b"null")
            except (ValueError, OSError):
                problem = None
            finally:
                exc.close()
            raise error_for(exc.code, problem if isinstance(problem, dict) else None) from exc
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            raise ServerUnavailable(f"The download was interrupted: {exc}") from exc


def from_answer(
    answer: Mapping[str, Any],
    product: str,
    keys: Mapping[str, Ed25519PublicKey],
    **transfer: Any,
) -> Update:
    """The ``update`` object of a ``/updates`` answer, its manifest verified
    with the pinned keys and agreeing with it (product, version, SHA-256,
    size); CertificateInvalid otherwise."""
    try:
        claims = verify(answer.get("manifest"), UPDATE_MANIFEST_PREFIX, keys)
    except InvalidToken as exc:
        raise _bad(f"manifest: {exc}") from exc
    try:
        version, sha256, size = str(answer["version"]), str(answer["sha256"]), answer["size"]
        url = answer["download_url"]
    except KeyError as exc:
        raise LicenseError(f"The server's update answer lacks {exc}.") from exc
    if claims.get("prod") != product:
        raise _bad("the manifest is for another product")
    if claims.get("ver") != version:
        raise _bad("the manifest names another version")
    if claims.get("sha256") != sha256 or claims.get("size") != size or type(size) is not int:
        raise _bad("the manifest names another file")
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise LicenseError("The server's update answer has no usable download_url.")
    rel = claims.get("rel")
    notes = answer.get("notes")
    return Update(
        version=version,
        channel=str(claims.get("ch") or answer.get("channel") or "stable"),
        released_at=datetime.fromtimestamp(rel, UTC) if type(rel) is int else None,
        notes=notes if isinstance(notes, str) else None,
        download_url=url,
        size=size,
        sha256=sha256,
        manifest=str(answer["manifest"]),
        platform=claims.get("plat"),
        arch=claims.get("arch"),
        **transfer,
    )
