"""Offline verification of the server's signed tokens (API.md, "Signed tokens").

``PREFIX.PAYLOAD.SIG``: PAYLOAD is base64url (no padding) of JSON, SIG the
Ed25519 signature over the ASCII ``PREFIX.PAYLOAD``. Only the ``kid`` of an
unverified payload is read, to pick one of the pinned keys; nothing else is
trusted before the signature checks out.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

CERTIFICATE_PREFIX = "AC1"
LICENSE_KEY_PREFIX = "LK1"
MAX_TOKEN_LENGTH = 4096
MAX_TIMESTAMP = 253402300799  # 9999-12-31T23:59:59Z, the last datetime can hold
_B64U = re.compile(r"[A-Za-z0-9_-]*")
_B64U_VALUES = {
    c: i
    for i, c in enumerate(string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_")
}


class InvalidToken(ValueError):
    """Not a valid token of the expected kind; the message says why (for logs)."""


def b64u_decode(text: str) -> bytes:
    """Strict base64url without padding: a token has exactly one spelling."""
    tail = len(text) % 4
    if tail == 1 or not _B64U.fullmatch(text):
        raise InvalidToken("not base64url")
    # the bits of the last character that carry no data must be zero
    if tail and _B64U_VALUES[text[-1]] & (0x0F if tail == 2 else 0x03):
        raise InvalidToken("non-canonical base64url")
    try:
        standard = text.replace("-", "+").replace("_", "/")  # str.translate is slower
        return binascii.a2b_base64(standard + "=" * (-len(text) % 4), strict_mode=True)
    except binascii.Error as exc:
        raise InvalidToken("not base64url") from exc


def load_public_keys(keys: Mapping[str, str]) -> dict[str, Ed25519PublicKey]:
    """``{kid: base64url of the 32 raw bytes}`` (as ``GET /api/v1/keys`` lists them)."""
    if not keys:
        raise ValueError("public_keys is empty: pin at least one of the server's keys")
    loaded: dict[str, Ed25519PublicKey] = {}
    for kid, text in keys.items():
        if not isinstance(kid, str) or not kid:
            raise ValueError(f"public_keys: invalid kid {kid!r}")
        try:
            raw = b64u_decode(text) if isinstance(text, str) else b""
        except InvalidToken:
            raw = b""
        if len(raw) != 32:
            raise ValueError(f"public_keys[{kid!r}]: not the base64url of a 32-byte Ed25519 key")
        loaded[kid] = Ed25519PublicKey.from_public_bytes(raw)
    return loaded


def verify(token: object, prefix: str, keys: Mapping[str, Ed25519PublicKey]) -> dict[str, Any]:
    """The payload of ``token`` if it is a ``prefix`` token signed by one of ``keys``."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        raise InvalidToken("not a token")
    signed, _, signature = token.rpartition(".")
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != prefix:
        raise InvalidToken(f"not an {prefix} token")
    try:
        payload = json.loads(b64u_decode(parts[1]).decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidToken("undecodable payload") from exc
    if not isinstance(payload, dict):
        raise InvalidToken("payload is not an object")
    kid = payload.get("kid")
    key = keys.get(kid) if isinstance(kid, str) else None
    if key is None:
        raise InvalidToken(f"unknown kid {kid!r}")
    try:
        key.verify(b64u_decode(signature), signed.encode("ascii"))
    except InvalidSignature as exc:
        raise InvalidToken("bad signature") from exc
    version = payload.get("v")
    if type(version) is not int or version != 1:
        raise InvalidToken("unknown version")
    return payload


@dataclass(frozen=True, slots=True)
class Certificate:
    """The verified claims of an AC1 activation certificate."""

    aid: str
    lid: str
    prod: str
    cust: str
    iid: str
    mn: str
    seats: int
    features: tuple[str, ...]
    iat: int
    exp: int | None
    until: int
    kid: str
    # Licence models (extras the server adds only when they say something).
    model: str = "node_locked"
    lease: int | None = None  # floating: the lease's end
    hb: int | None = None  # heartbeat interval, seconds
    acc: str | None = None  # "maintain_access"
    warn: tuple[str, ...] = ()  # report-only: what enforcement would refuse
    site: str | None = None  # a licensed site's URL


def _opt_int(p: Mapping[str, Any], name: str) -> int | None:
    return None if p.get(name) is None else _time(p, name)


def _opt_str(p: Mapping[str, Any], name: str) -> str | None:
    return None if p.get(name) is None else _str(p, name)


def _str(p: Mapping[str, Any], name: str) -> str:
    value = p.get(name)
    if not isinstance(value, str):
        raise InvalidToken(f"claim {name!r} missing or not a string")
    return value


def _int(p: Mapping[str, Any], name: str) -> int:
    value = p.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidToken(f"claim {name!r} missing or not an integer")
    return value


def _time(p: Mapping[str, Any], name: str) -> int:
    value = _int(p, name)
    if not 0 <= value <= MAX_TIMESTAMP:
        raise InvalidToken(f"claim {name!r} out of range")
    return value


def certificate(token: object, keys: Mapping[str, Ed25519PublicKey]) -> Certificate:
    p = verify(token, CERTIFICATE_PREFIX, keys)
    features = p.get("features")
    if "exp" not in p:
        raise InvalidToken("claim 'exp' missing")
    if not isinstance(features, list) or not all(isinstance(f, str) for f in features):
        raise InvalidToken("claim 'features' is not a list of strings")
    return Certificate(
        aid=_str(p, "aid"),
        lid=_str(p, "lid"),
        prod=_str(p, "prod"),
        cust=_str(p, "cust"),
        iid=_str(p, "iid"),
        mn=_str(p, "mn"),
        seats=_int(p, "seats"),
        features=tuple(features),
        iat=_time(p, "iat"),
        exp=None if p.get("exp") is None else _time(p, "exp"),
        until=_time(p, "until"),
        kid=_str(p, "kid"),
        model=_opt_str(p, "model") or "node_locked",
        lease=_opt_int(p, "lease"),
        hb=_opt_int(p, "hb"),
        acc=_opt_str(p, "acc"),
        warn=_warn(p),
        site=_opt_str(p, "site"),
    )


def _warn(p: Mapping[str, Any]) -> tuple[str, ...]:
    value = p.get("warn")
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(w, str) for w in value):
        raise InvalidToken("claim 'warn' is not a list of strings")
    return tuple(value)


def license_key_product(token: str, keys: Mapping[str, Ed25519PublicKey]) -> str | None:
    """The product of a licence key that verifies against ``keys``; None when it
    does not (the server, which knows every key, has the last word then)."""
    try:
        return _str(verify(token, LICENSE_KEY_PREFIX, keys), "prod")
    except InvalidToken:
        return None


# ---- signed answers (API.md "Signed answers") --------------------------------

NONCE_HEADER = "Licserver-Nonce"
ANSWER_SIGNATURE_HEADER = "Licserver-Answer-Signature"
_ANSWER_SIGNATURE = re.compile(
    r'kid="([A-Za-z0-9._-]{1,32})", t="([0-9]{1,20})", sig="([A-Za-z0-9_-]{86})"'
)


def verify_answer(
    header: str | None,
    keys: Mapping[str, Ed25519PublicKey],
    *,
    method: str,
    target: str,
    status: int,
    body: bytes,
    nonce: str,
) -> None:
    """Check an answer's ``Licserver-Answer-Signature``: by a pinned key, over
    ``METHOD PATH\\nSTATUS\\nT\\nDIGEST\\nNONCE`` of this request and answer;
    InvalidToken (saying why) otherwise."""
    match = _ANSWER_SIGNATURE.fullmatch(header.strip()) if header else None
    if match is None:
        raise InvalidToken("the answer is not signed" if not header else "malformed signature")
    kid, t, sig = match.groups()
    key = keys.get(kid)
    if key is None:
        raise InvalidToken(f"the answer is signed by key {kid!r}, which is not pinned")
    digest = base64.urlsafe_b64encode(hashlib.sha256(body).digest()).rstrip(b"=").decode()
    text = f"{method} {target}\n{status}\n{t}\n{digest}\n{nonce}"
    try:
        key.verify(b64u_decode(sig), text.encode("ascii"))
    except (InvalidSignature, UnicodeEncodeError) as exc:
        raise InvalidToken("the answer's signature does not verify") from exc
