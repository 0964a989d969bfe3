"""Ed25519 signing keys, the signed token formats (LK1, AC1, UP1) and signed answers.

A token is ``PREFIX.PAYLOAD.SIG``: PAYLOAD is base64url (no padding) of compact
JSON with sorted keys, SIG the Ed25519 signature over the ASCII ``PREFIX.PAYLOAD``.
The prefix names the purpose and is signed, so one kind can't pass as the other.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from licserver.crypto import KeyMissing, b64u, b64u_decode

LICENSE_KEY_PREFIX = "LK1"
CERTIFICATE_PREFIX = "AC1"
UPDATE_MANIFEST_PREFIX = "UP1"
MAX_TOKEN_LENGTH = 4096
KID_RE = re.compile(r"^[A-Za-z0-9._-]{1,32}$")


class TokenError(ValueError):
    """The text is not a valid token of the expected kind (the reason is for logs and tests)."""


def new_kid(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return f"k-{now:%Y%m%d}-{secrets.token_hex(3)}"


def public_key_b64(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return b64u(raw)


def public_key_from_b64(text: str) -> Ed25519PublicKey:
    raw = b64u_decode(text)
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def canonical_json(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def encode(prefix: str, payload: Mapping[str, Any], kid: str, key: Ed25519PrivateKey) -> str:
    body = dict(payload)
    body["kid"] = kid
    signed = f"{prefix}.{b64u(canonical_json(body))}"
    return f"{signed}.{b64u(key.sign(signed.encode('ascii')))}"


def decode(
    token: object, prefix: str, public_keys: Mapping[str, Ed25519PublicKey]
) -> dict[str, Any]:
    """Verify ``token`` and return its payload; TokenError for anything else.

    Only the ``kid`` is read before the signature is checked, and only to pick
    the key; nothing else of an unverified payload is trusted or returned.
    """
    if not isinstance(token, str) or not token.isascii() or len(token) > MAX_TOKEN_LENGTH:
        raise TokenError("not a token")
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != prefix:
        raise TokenError("wrong shape or prefix")
    try:
        raw = b64u_decode(parts[1])
        sig = b64u_decode(parts[2])
        payload = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise TokenError("undecodable") from exc
    if not isinstance(payload, dict):
        raise TokenError("payload is not an object")
    kid = payload.get("kid")
    if not isinstance(kid, str) or kid not in public_keys:
        raise TokenError("unknown kid")
    try:
        public_keys[kid].verify(sig, f"{parts[0]}.{parts[1]}".encode("ascii"))
    except InvalidSignature as exc:
        raise TokenError("bad signature") from exc
    version = payload.get("v")
    # exactly the integer 1: JSON true and 1.0 compare equal to 1 in Python
    if type(version) is not int or version != 1:
        raise TokenError("unknown version")
    return payload


# ---- the two payloads -------------------------------------------------------


@dataclass(frozen=True)
class LicenseKeyClaims:
    lid: str
    prod: str
    cust: str
    ser: int
    iat: int
    kid: str


def license_key_payload(lid: str, prod: str, cust: str, ser: int, iat: int) -> dict[str, Any]:
    return {"v": 1, "lid": lid, "prod": prod, "cust": cust, "ser": ser, "iat": iat}


def parse_license_key(
    token: object, public_keys: Mapping[str, Ed25519PublicKey]
) -> LicenseKeyClaims:
    p = decode(token, LICENSE_KEY_PREFIX, public_keys)
    try:
        claims = LicenseKeyClaims(
            lid=_str(p, "lid"),
            prod=_str(p, "prod"),
            cust=_str(p, "cust"),
            ser=_int(p, "ser"),
            iat=_int(p, "iat"),
            kid=_str(p, "kid"),
        )
    except (KeyError, TypeError) as exc:
        raise TokenError("missing or mistyped claim") from exc
    return claims


def certificate_payload(
    *,
    aid: str,
    lid: str,
    prod: str,
    cust: str,
    iid: str,
    mn: str,
    seats: int,
    features: list[Any],
    iat: int,
    exp: int | None,
    until: int,
    model: str | None = None,
    lease: int | None = None,
    hb: int | None = None,
    acc: str | None = None,
    warn: list[str] | None = None,
    site: str | None = None,
) -> dict[str, Any]:
    """The AC1 payload. The extras of licence models (docs/licence-models.md) are
    present only when they say something: ``model`` ("floating"), ``lease`` (unix,
    the floating lease's end), ``hb`` (heartbeat interval, seconds), ``acc``
    ("maintain_access"), ``warn`` (report-only codes), ``site`` (normalised URL).
    Verifiers ignore fields they do not know."""
    extras = {"model": model, "lease": lease, "hb": hb, "acc": acc, "warn": warn, "site": site}
    payload: dict[str, Any] = {
        "v": 1,
        "aid": aid,
        "lid": lid,
        "prod": prod,
        "cust": cust,
        "iid": iid,
        "mn": mn,
        "seats": seats,
        "features": list(features),
        "iat": iat,
        "exp": exp,
        "until": until,
    }
    payload.update({k: v for k, v in extras.items() if v is not None and v != []})
    return payload


def parse_certificate(token: object, public_keys: Mapping[str, Ed25519PublicKey]) -> dict[str, Any]:
    p = decode(token, CERTIFICATE_PREFIX, public_keys)
    try:
        for name in ("aid", "lid", "prod", "cust", "iid", "mn", "kid"):
            _str(p, name)
        for name in ("seats", "iat", "until"):
            _int(p, name)
        if p["exp"] is not None:
            _int(p, "exp")
        if not isinstance(p["features"], list):
            raise TypeError("features")
    except (KeyError, TypeError) as exc:
        raise TokenError("missing or mistyped claim") from exc
    return p


def update_manifest_payload(
    *,
    prod: str,
    ver: str,
    ch: str,
    plat: str | None,
    arch: str | None,
    sha256: str,
    size: int,
    rel: int,
) -> dict[str, Any]:
    """The UP1 payload: what a client checks a downloaded update against."""
    return {
        "v": 1,
        "prod": prod,
        "ver": ver,
        "ch": ch,
        "plat": plat,
        "arch": arch,
        "sha256": sha256,
        "size": size,
        "rel": rel,
    }


def parse_update_manifest(
    token: object, public_keys: Mapping[str, Ed25519PublicKey]
) -> dict[str, Any]:
    p = decode(token, UPDATE_MANIFEST_PREFIX, public_keys)
    try:
        for name in ("prod", "ver", "ch", "sha256", "kid"):
            _str(p, name)
        for name in ("size", "rel"):
            _int(p, name)
        for name in ("plat", "arch"):
            if p[name] is not None:
                _str(p, name)
    except (KeyError, TypeError) as exc:
        raise TokenError("missing or mistyped claim") from exc
    return p


def _str(p: Mapping[str, Any], name: str) -> str:
    value = p[name]
    if not isinstance(value, str):
        raise TypeError(name)
    return value


def _int(p: Mapping[str, Any], name: str) -> int:
    value = p[name]
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(name)
    return value


# ---- signed answers (API.md "Signed answers") -------------------------------

ANSWER_SIGNATURE_HEADER = "Licserver-Answer-Signature"
NONCE_HEADER = "Licserver-Nonce"
_NONCE_RE = re.compile(r"[A-Za-z0-9._~-]{1,128}")
_SIGNATURE_RE = re.compile(
    r'kid="([A-Za-z0-9._-]{1,32})", t="([0-9]{1,20})", sig="([A-Za-z0-9_-]+)"'
)


def is_valid_nonce(value: str) -> bool:
    """1..128 of ``A-Za-z0-9._~-``: a ``Licserver-Nonce`` the server accepts."""
    return _NONCE_RE.fullmatch(value) is not None


def answer_text(method: str, target: str, status: int, t: int, body: bytes, nonce: str) -> bytes:
    """The ASCII text an answer's signature covers: ``METHOD PATH\\nSTATUS\\nT\\nDIGEST\\nNONCE``.

    ``target`` is the path as the client sent it, percent-encoded as sent, with
    ``?query`` when there is one; DIGEST the base64url SHA-256 of the body bytes;
    ``nonce`` empty when the request had none (or an invalid one).
    """
    digest = b64u(hashlib.sha256(body).digest())
    return f"{method} {target}\n{status}\n{t}\n{digest}\n{nonce}".encode("ascii")


def answer_signature(
    kid: str,
    key: Ed25519PrivateKey,
    *,
    method: str,
    target: str,
    status: int,
    t: int,
    body: bytes,
    nonce: str,
) -> str:
    """The value of ``Licserver-Answer-Signature`` for this answer."""
    sig = b64u(key.sign(answer_text(method, target, status, t, body, nonce)))
    return f'kid="{kid}", t="{t}", sig="{sig}"'


def verify_answer(
    header: str | None,
    public_keys: Mapping[str, Ed25519PublicKey],
    *,
    method: str,
    target: str,
    status: int,
    body: bytes,
    nonce: str,
) -> tuple[str, int]:
    """Check an answer's signature header; (kid, t) when it holds, TokenError else."""
    match = _SIGNATURE_RE.fullmatch(header.strip()) if header else None
    if match is None:
        raise TokenError("no or malformed answer signature")
    kid, t = match.group(1), int(match.group(2))
    if kid not in public_keys:
        raise TokenError("unknown kid")
    try:
        sig = b64u_decode(match.group(3))
        text = answer_text(method, target, status, t, body, nonce)
        public_keys[kid].verify(sig, text)
    except (ValueError, UnicodeEncodeError, InvalidSignature) as exc:
        raise TokenError("bad answer signature") from exc
    return kid, t


# ---- keys on disk -----------------------------------------------------------


def write_private_key(keys_dir: Path, kid: str, key: Ed25519PrivateKey, passphrase: str) -> Path:
    """``KEYS_DIR/<kid>.pem``, PKCS#8, encrypted when a passphrase is set, mode 0600."""
    if not KID_RE.match(kid):
        raise ValueError(f"invalid kid {kid!r}")
    keys_dir.mkdir(parents=True, exist_ok=True)
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase.encode())
        if passphrase
        else serialization.NoEncryption()
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    path = keys_dir / f"{kid}.pem"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
        fh.flush()
        os.fsync(fh.fileno())
    return path


def read_private_key(keys_dir: Path, kid: str, passphrase: str) -> Ed25519PrivateKey:
    path = keys_dir / f"{kid}.pem"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise KeyMissing(
            f"the private key of signing key {kid} is not in {keys_dir.absolute()}; "
            "copy it there from the server that made it"
        ) from None
    try:
        key = serialization.load_pem_private_key(data, passphrase.encode() if passphrase else None)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"cannot load {path}: wrong or missing LICSERVER_KEY_PASSPHRASE, or not a key"
        ) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 key")
    return key


def private_key_files(keys_dir: Path) -> list[tuple[str, float]]:
    """(kid, mtime) of every private key file, oldest first."""
    if not keys_dir.is_dir():
        return []
    found = [(p.stem, p.stat().st_mtime) for p in keys_dir.glob("*.pem") if KID_RE.match(p.stem)]
    return sorted(found, key=lambda item: item[1])
