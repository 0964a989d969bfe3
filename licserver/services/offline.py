"""Offline (air-gapped) activation and deactivation (docs/api.md, "Offline
activation").

A machine without a network makes a request code (``LOR1.…``, SDK
``offline_request``); someone allowed to pastes it into the portal or the staff
console, and ``issue_certificate`` activates the installation exactly as the
client API would — the same service (``activation.activate``: seat limit,
licence status, history) — and answers with a certificate file (``LOC1.…``):
the AC1 certificate, the activation token and the request's nonce, signed with
the server's key. The machine imports it (``import_certificate``).

The machine deactivates itself offline and shows a code (``LOD1.…``); this
module reads it (``parse_deactivation``, ``deactivation_mac``) and
``services.offline_deactivation`` redeems it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidTag
from sqlalchemy import select

from licserver import signing
from licserver.crypto import b64u_decode
from licserver.domain.errors import NotFound, ValidationFailed
from licserver.models import License, Product, utcnow
from licserver.services import Origin
from licserver.services import activation as activation_service
from licserver.services.context import Context
from licserver.services.credentials import LICENSE_KEY, Credentials
from licserver.services.licenses import KEY_PURPOSE

REQUEST_PREFIX = "LOR1"
ENVELOPE_PREFIX = "LOC1"
DEACTIVATION_PREFIX = "LOD1"
DEACTIVATION_PURPOSE = "licserver-offline-deactivation"
MAX_CODE = 16 * 1024
LINE = 64
DEACTIVATION_REASON = "offline"

_INSTALLATION_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_NONCE_RE = re.compile(r"^[A-Za-z0-9_-]{8,128}$")
_CLIENT_FIELDS = {"app_version": 100, "os": 200, "hostname": 255}


# ---- the texts ---------------------------------------------------------------------


def unwrap(text: str | None) -> str:
    """Pasted text as one token: ``#`` comment lines and all whitespace removed."""
    kept = [ln for ln in (text or "").splitlines() if not ln.lstrip().startswith("#")]
    return "".join("".join(kept).split())


def wrap(token: str) -> str:
    return "\n".join(token[i : i + LINE] for i in range(0, len(token), LINE))


def _payload(text: str | None, prefix: str, what: str, field: str) -> tuple[str, dict[str, Any]]:
    """(the token, its JSON payload) of a ``PREFIX.PAYLOAD`` code; ValidationFailed else."""
    if text is not None and len(text) > MAX_CODE:
        raise ValidationFailed({field: [f"Too long for {what}."]})
    token = unwrap(text)
    if not token:
        raise ValidationFailed({field: [f"Paste {what}."]})
    parts = token.split(".")
    if parts[0] != prefix or len(parts) != 2:
        hint = {
            REQUEST_PREFIX: "a request code",
            ENVELOPE_PREFIX: "a certificate file",
            DEACTIVATION_PREFIX: "a deactivation code",
            signing.LICENSE_KEY_PREFIX: "a licence key",
            signing.CERTIFICATE_PREFIX: "a certificate",
        }.get(parts[0])
        also = f" (this is {hint})" if hint else ""
        raise ValidationFailed(
            {field: [f"This is not {what}{also}: it starts with {prefix}. and is copied whole."]}
        )
    try:
        payload = json.loads(b64u_decode(parts[1]).decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        payload = None
    if not isinstance(payload, dict) or payload.get("v") != 1 or type(payload.get("v")) is not int:
        raise ValidationFailed(
            {field: [f"This is not {what}: it is damaged or incomplete; copy it again."]}
        )
    return token, payload


def _plain(value: Any, max_len: int) -> str | None:
    """A string of 1..max_len characters without control characters, else None."""
    if not isinstance(value, str) or not 1 <= len(value) <= max_len:
        return None
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in value):
        return None
    return value


@dataclass(frozen=True)
class OfflineRequest:
    """A machine's request code, read (not authenticated: whoever pastes it is)."""

    license_id: str
    product: str
    installation_id: str
    machine_name: str
    nonce: str
    requested_at: datetime
    client: dict[str, str] | None


def parse_request(text: str | None, field: str = "request") -> OfflineRequest:
    """The request code ``text`` (``LOR1.…``, wrapped lines allowed)."""
    _, p = _payload(text, REQUEST_PREFIX, "a request code", field)
    lid, prod = _plain(p.get("lid"), 64), _plain(p.get("prod"), 64)
    iid, mn, nonce = p.get("iid"), _plain(p.get("mn"), 255), p.get("nonce")
    iat = p.get("iat")
    client = p.get("client")
    ok = (
        lid is not None
        and prod is not None
        and mn is not None
        and isinstance(iid, str)
        and _INSTALLATION_ID_RE.match(iid)
        and isinstance(nonce, str)
        and _NONCE_RE.match(nonce)
        and isinstance(iat, int)
        and not isinstance(iat, bool)
        and 0 <= iat <= 253402300799
        and (client is None or isinstance(client, dict))
    )
    info: dict[str, str] = {}
    for key, value in (client or {}).items() if isinstance(client, dict) else ():
        text_value = _plain(value, _CLIENT_FIELDS.get(key, 0))
        if text_value is None:
            ok = False
        else:
            info[key] = text_value
    if not ok:
        raise ValidationFailed(
            {field: ["This request code is damaged or was not made by the product; copy it again."]}
        )
    assert lid and prod and mn and isinstance(iid, str) and isinstance(nonce, str)
    assert isinstance(iat, int)
    return OfflineRequest(
        license_id=lid,
        product=prod,
        installation_id=iid,
        machine_name=mn,
        nonce=nonce,
        requested_at=datetime.fromtimestamp(iat, utcnow().tzinfo),
        client=info or None,
    )


@dataclass(frozen=True)
class DeactivationCode:
    token: str  # the canonical text (no whitespace)
    activation_id: str
    installation_id: str
    made_at: int
    nonce: str
    mac: str


def parse_deactivation(text: str | None, field: str = "code") -> DeactivationCode:
    """The deactivation code ``text`` (``LOD1.…``, wrapped lines allowed)."""
    token, p = _payload(text, DEACTIVATION_PREFIX, "a deactivation code", field)
    aid, iid, nonce, mac, iat = (
        p.get("aid"),
        p.get("iid"),
        p.get("nonce"),
        p.get("mac"),
        p.get("iat"),
    )
    if not (
        isinstance(aid, str)
        and _ID_RE.match(aid)
        and isinstance(iid, str)
        and _INSTALLATION_ID_RE.match(iid)
        and isinstance(nonce, str)
        and _NONCE_RE.match(nonce)
        and isinstance(mac, str)
        and len(mac) == 43
        and isinstance(iat, int)
        and not isinstance(iat, bool)
    ):
        raise ValidationFailed(
            {field: ["This deactivation code is damaged or incomplete; copy it again."]}
        )
    return DeactivationCode(token, aid, iid, iat, nonce, mac)


def deactivation_mac(token_hash: str, aid: str, iid: str, iat: int, nonce: str) -> bytes:
    message = f"{DEACTIVATION_PURPOSE}|{aid}|{iid}|{iat}|{nonce}".encode()
    return hmac.new(token_hash.encode("ascii"), message, hashlib.sha256).digest()


# ---- activation ------------------------------------------------------------------------


@dataclass(frozen=True)
class OfflineCertificate:
    text: str  # the certificate file's content (wrapped, with comment lines)
    token: str  # LOC1.… on one line
    activation_id: str
    license_id: str
    product: str
    installation_id: str
    machine_name: str
    created: bool  # False: the installation was active already (a renewal)

    @property
    def filename(self) -> str:
        safe = re.sub(r"[^A-Za-z0-9._-]+", "-", self.machine_name).strip("-.")[:60] or "machine"
        return f"{self.license_id}-{safe}.lic"


def issue_certificate(
    ctx: Context,
    origin: Origin,
    request_text: str | None,
    *,
    license_id: str | None = None,
    field: str = "request",
) -> OfflineCertificate:
    """Activate the installation a request code names and make its certificate file.

    ``license_id``: the licence the caller is entitled to act on (the portal page's);
    a request for another licence is refused. The caller has checked that whoever
    pastes the code may activate on that licence: the code itself proves nothing.
    Seat limit, licence status and history are the client API's
    (``activation.activate``); the history event says ``{"offline": true}``.
    """
    req = parse_request(request_text, field)
    if license_id is not None and req.license_id != license_id:
        raise ValidationFailed(
            {
                field: [
                    f"This request code is for licence {req.license_id}, not {license_id}: "
                    "paste it on that licence's page."
                ]
            }
        )
    key, product = _licence_key(ctx, req, field)
    # The licence's own current key: the seat rule, status checks and history of
    # an online activation, authenticated by the server's own record.
    result = activation_service.activate(
        ctx,
        Credentials(kind=LICENSE_KEY, license_key=key),
        req.installation_id,
        req.machine_name,
        req.client,
        origin,
        event_data={"offline": True},
    )
    now = utcnow()
    token = _envelope(ctx, req, result, now)
    return OfflineCertificate(
        text=_file_text(token, result.license_id, product, result.machine_name, now),
        token=token,
        activation_id=result.activation_id,
        license_id=result.license_id,
        product=product,
        installation_id=result.installation_id,
        machine_name=result.machine_name,
        created=result.created,
    )


def _licence_key(ctx: Context, req: OfflineRequest, field: str) -> tuple[str, str]:
    """The licence key and product code of the licence ``req`` names (a read,
    ended before the activation's own transaction); 404, or 422 when the
    request names another product."""
    session = ctx.session
    try:
        row = session.execute(
            select(License.key_enc, Product.code)
            .join(Product, Product.id == License.product_id)
            .where(License.public_id == req.license_id)
        ).first()
    finally:
        session.rollback()
    if row is None:
        raise NotFound(f"No licence '{req.license_id}'.")
    key_enc, product = row
    if product != req.product:
        raise ValidationFailed(
            {
                field: [
                    f"This request code is for the product '{req.product}'; licence "
                    f"{req.license_id} is for '{product}'."
                ]
            }
        )
    try:
        key = ctx.box.open(key_enc, KEY_PURPOSE)
    except (InvalidTag, ValueError) as exc:  # pragma: no cover - a damaged database
        raise RuntimeError(f"the licence key of {req.license_id} cannot be opened") from exc
    return key, product


def _envelope(
    ctx: Context, req: OfflineRequest, result: activation_service.ActivationResult, now: datetime
) -> str:
    """The signed LOC1 token: the activation's certificate and token, bound to
    the request's nonce."""
    kid, signer = ctx.keyring.signer(ctx.session)
    return signing.encode(
        ENVELOPE_PREFIX,
        {
            "v": 1,
            "cert": result.certificate,
            "tok": result.activation_token,
            "aid": result.activation_id,
            "lid": result.license_id,
            "iid": result.installation_id,
            "nonce": req.nonce,
            "iat": int(now.timestamp()),
        },
        kid,
        signer,
    )


def _file_text(token: str, license_id: str, product: str, machine: str, made: datetime) -> str:
    """The certificate file: ``#`` comment lines for people, then the token in lines."""
    machine = " ".join(machine.split())[:80]
    return "\n".join(
        [
            f"# Offline activation certificate: licence {license_id} ({product}),",
            f"# machine {machine}. Made {made:%Y-%m-%d %H:%M} UTC.",
            "# Import it on that machine only; it holds a secret of this activation:",
            "# keep it like a password.",
            wrap(token),
            "",
        ]
    )


def read_certificate_file(ctx: Context, text: str | None) -> OfflineCertificate:
    """A certificate file this server signed, read back (the portal's download
    button posts the file it showed: nothing secret is kept on the server);
    ValidationFailed for anything else."""
    token = unwrap(text)
    try:
        keys = ctx.keyring.public_keys(ctx.session)
        env = signing.decode(token, ENVELOPE_PREFIX, keys)
        cert = signing.decode(env.get("cert"), signing.CERTIFICATE_PREFIX, keys)
    except signing.TokenError:
        raise ValidationFailed(
            {"certificate": ["Not a certificate file of this server."]}
        ) from None
    finally:
        ctx.session.rollback()
    made = datetime.fromtimestamp(int(env.get("iat") or 0), utcnow().tzinfo)
    lid, prod, mn = str(cert.get("lid")), str(cert.get("prod")), str(cert.get("mn"))
    return OfflineCertificate(
        text=_file_text(token, lid, prod, mn, made),
        token=token,
        activation_id=str(cert.get("aid")),
        license_id=lid,
        product=prod,
        installation_id=str(cert.get("iid")),
        machine_name=mn,
        created=False,
    )
