"""Signed, short-lived download links: a purpose, what they open, whom they
are for and an expiry, MACed with the app's secret (a key of its own per
purpose, so a link of one kind never opens another)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime

from licserver.domain.errors import LicenseServerError, NotFound
from licserver.domain.portal import Principal

PORTAL = "licserver.download.v1"
UPDATE = "licserver.update.v1"


class LinkExpired(LicenseServerError):
    code, status, title = "LINK_EXPIRED", 410, "Link expired"


def holder_of(principal: Principal) -> str:
    """Whom a link is for: the user, or the account's company login."""
    if principal.user_id is not None:
        return f"u{principal.user_id}"
    return f"c{principal.customer_id}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, purpose: str, payload: str) -> str:
    # A key of its own for this purpose: a link's MAC is no other signature.
    key = hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).digest()
    return _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())


def sign_link(
    secret: str, release_id: int, holder: str, now: datetime, seconds: int, purpose: str = PORTAL
) -> str:
    """A link token: release, holder and expiry, MACed with the app's secret."""
    body = {"p": purpose, "r": release_id, "h": holder, "e": int(now.timestamp()) + seconds}
    payload = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
    return f"{payload}.{_mac(secret, purpose, payload)}"


def read_link(
    secret: str,
    token: str,
    holder: str,
    now: datetime,
    purpose: str = PORTAL,
    again: str = "Open Downloads again for a fresh one.",
) -> int:
    """The release id of a valid token for ``holder``; NotFound for a forged,
    altered or someone else's token, LinkExpired once it is past its time."""
    invalid = NotFound(f"This download link is not valid. {again}")
    payload, _, mac = token.partition(".")
    if (
        not payload
        or len(token) > 1000
        or not hmac.compare_digest(mac, _mac(secret, purpose, payload))
    ):
        raise invalid
    try:
        body = json.loads(_unb64(payload))
        release_id, owner, expires = int(body["r"]), str(body["h"]), int(body["e"])
        signed_for = body["p"]
    except (ValueError, KeyError, TypeError):
        raise invalid from None
    if signed_for != purpose or not hmac.compare_digest(owner, holder):
        raise invalid
    if now.timestamp() >= expires:
        raise LinkExpired(f"This download link has expired. {again}")
    return release_id
