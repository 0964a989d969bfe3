"""Offline (air-gapped) activation: the three texts a person carries between an
offline machine and the licence server, and the small file that remembers a
pending request (client_sdk/python/README.md, "Offline activation").

- Request code ``LOR1.<payload>``: made here, pasted into the portal. Not
  signed (the machine holds no secret yet); the server decides who may use it.
- Certificate file ``LOC1.<payload>.<sig>``: made by the server, signed with
  its Ed25519 key like AC1 (the prefix names the purpose); the payload holds
  the AC1 certificate, the activation token and the request's nonce.
- Deactivation code ``LOD1.<payload>``: made here after the local activation
  is deleted; its ``mac`` is HMAC-SHA256 keyed with the activation token (as
  the server stores it: the SHA-256 hex of the token).

Every payload is base64url (no padding) of compact JSON with sorted keys.
Pasted text may be wrapped across lines and carry ``#`` comment lines: both are
ignored when it is read.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from licclient._state import write_atomically
from licclient._verify import InvalidToken, b64u_decode

REQUEST_PREFIX = "LOR1"
ENVELOPE_PREFIX = "LOC1"
DEACTIVATION_PREFIX = "LOD1"
DEACTIVATION_PURPOSE = "licserver-offline-deactivation"
MAX_TEXT = 16 * 1024
LINE = 64
FORMAT = "licclient-offline/1"
KEEP_DEACTIVATED = 50  # activation ids remembered as deactivated offline


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def canonical(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def wrap(code: str) -> str:
    """A code in lines of 64 characters, for a screen or a printout."""
    return "\n".join(textwrap.wrap(code, LINE, break_on_hyphens=False)) or code


def unwrap(text: object) -> str:
    """Pasted text as one token: ``#`` comment lines and all whitespace removed."""
    if not isinstance(text, str) or len(text) > MAX_TEXT:
        raise InvalidToken("not a code (empty, not text or too long)")
    kept = [ln for ln in text.splitlines() if not ln.lstrip().startswith("#")]
    return "".join("".join(kept).split())


def new_nonce() -> str:
    return secrets.token_urlsafe(16)


def request_code(payload: Mapping[str, Any]) -> str:
    return f"{REQUEST_PREFIX}.{b64u(canonical({'v': 1, **payload}))}"


def deactivation_mac(token_hash: str, aid: str, iid: str, iat: int, nonce: str) -> str:
    message = f"{DEACTIVATION_PURPOSE}|{aid}|{iid}|{iat}|{nonce}".encode()
    return b64u(hmac.new(token_hash.encode("ascii"), message, hashlib.sha256).digest())


def deactivation_code(activation_token: str, aid: str, iid: str, iat: int) -> str:
    nonce = new_nonce()
    token_hash = hashlib.sha256(activation_token.encode()).hexdigest()
    mac = deactivation_mac(token_hash, aid, iid, iat, nonce)
    payload = {"v": 1, "aid": aid, "iid": iid, "iat": iat, "nonce": nonce, "mac": mac}
    return f"{DEACTIVATION_PREFIX}.{b64u(canonical(payload))}"


@dataclass(frozen=True, slots=True)
class Envelope:
    """The verified content of a LOC1 certificate file."""

    certificate: str
    activation_token: str
    activation_id: str
    installation_id: str
    nonce: str
    iat: int


def envelope(text: object, keys: Mapping[str, Ed25519PublicKey]) -> Envelope:
    """The content of a LOC1 file signed by one of ``keys``; InvalidToken otherwise."""
    token = unwrap(text)
    if not token.isascii():
        raise InvalidToken("not a certificate file")
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != ENVELOPE_PREFIX:
        if parts[0] == REQUEST_PREFIX:
            raise InvalidToken("this is a request code, not the certificate the server made")
        raise InvalidToken(f"not an offline certificate ({ENVELOPE_PREFIX}.…)")
    try:
        payload = json.loads(b64u_decode(parts[1]).decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidToken("undecodable certificate file") from exc
    if not isinstance(payload, dict):
        raise InvalidToken("certificate file payload is not an object")
    kid = payload.get("kid")
    key = keys.get(kid) if isinstance(kid, str) else None
    if key is None:
        raise InvalidToken(f"signed with an unknown key {kid!r}")
    try:
        key.verify(b64u_decode(parts[2]), f"{parts[0]}.{parts[1]}".encode("ascii"))
    except InvalidSignature as exc:
        raise InvalidToken("bad signature: the file was altered or not made by the server") from exc
    if type(payload.get("v")) is not int or payload.get("v") != 1:
        raise InvalidToken("unknown version")
    values = {}
    for name in ("cert", "tok", "aid", "iid", "nonce"):
        value = payload.get(name)
        if not isinstance(value, str) or not value:
            raise InvalidToken(f"certificate file without {name!r}")
        values[name] = value
    iat = payload.get("iat")
    if not isinstance(iat, int) or isinstance(iat, bool):
        raise InvalidToken("certificate file without 'iat'")
    return Envelope(
        certificate=values["cert"],
        activation_token=values["tok"],
        activation_id=values["aid"],
        installation_id=values["iid"],
        nonce=values["nonce"],
        iat=iat,
    )


# ---- the offline file: a pending request, and activations deactivated offline ----


@dataclass(frozen=True, slots=True)
class Pending:
    license_id: str
    nonce: str
    iat: int


@dataclass(frozen=True, slots=True)
class OfflineState:
    installation_id: str
    pending: Pending | None = None
    deactivated: tuple[str, ...] = ()
    last_code: str | None = None


class OfflineStore:
    """``<product>.offline.json`` beside the product's state file (0600)."""

    def __init__(self, state_dir: Path, product: str) -> None:
        self.dir = state_dir
        self.path = state_dir / f"{product}.offline.json"

    def read(self, installation_id: str) -> OfflineState:
        """What is remembered for this installation (nothing, for a missing,
        unreadable or other installation's file)."""
        try:
            data = json.loads(self.path.read_bytes()[: MAX_TEXT * 4].decode("utf-8"))
        except (OSError, ValueError, UnicodeDecodeError):
            return OfflineState(installation_id)
        if (
            not isinstance(data, dict)
            or data.get("format") != FORMAT
            or data.get("installation_id") != installation_id
        ):
            return OfflineState(installation_id)
        pending = None
        p = data.get("pending")
        if (
            isinstance(p, dict)
            and isinstance(p.get("license_id"), str)
            and isinstance(p.get("nonce"), str)
            and isinstance(p.get("iat"), int)
        ):
            pending = Pending(p["license_id"], p["nonce"], p["iat"])
        gone = data.get("deactivated")
        deactivated = tuple(a for a in gone if isinstance(a, str)) if isinstance(gone, list) else ()
        last = data.get("last_code")
        return OfflineState(
            installation_id, pending, deactivated, last if isinstance(last, str) else None
        )

    def write(self, state: OfflineState) -> None:
        body = {
            "format": FORMAT,
            "installation_id": state.installation_id,
            "pending": None
            if state.pending is None
            else {
                "license_id": state.pending.license_id,
                "nonce": state.pending.nonce,
                "iat": state.pending.iat,
            },
            "deactivated": list(state.deactivated[-KEEP_DEACTIVATED:]),
            "last_code": state.last_code,
        }
        data = json.dumps(body, sort_keys=True, indent=1).encode() + b"\n"
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_atomically(self.path, data)
