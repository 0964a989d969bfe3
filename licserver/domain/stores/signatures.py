"""Each store's signature, checked the way the store documents it.

- Stripe: ``Stripe-Signature: t=…,v1=…``, checked by the official ``stripe``
  library (``WebhookSignature.verify_header``), which also refuses old
  timestamps; we refuse ones from the future ourselves.
- Paddle Billing: ``Paddle-Signature: ts=…;h1=…`` (several ``h1`` during a
  secret's rotation), HMAC-SHA256 over ``ts:body``.
- FastSpring: ``X-FS-Signature``, base64 of HMAC-SHA256 over the body. It
  signs no timestamp, so there is no age to check: a replay is caught by the
  event id instead.
- generic: ``Licserver-Signature: t=…,v1=…``, HMAC-SHA256 over ``t.body``,
  the scheme of our outgoing webhooks (``licserver.domain.webhooks``).

Every comparison is constant-time; timestamps more than ``TOLERANCE`` seconds
from the server's clock either way are refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping

from licserver.domain.stores import SignatureInvalid

TOLERANCE = 300

HEADERS = {
    "stripe": "Stripe-Signature",
    "paddle": "Paddle-Signature",
    "fastspring": "X-FS-Signature",
    "generic": "Licserver-Signature",
}


def _hex_hmac(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _fields(header: str, sep: str) -> list[tuple[str, str]]:
    out = []
    for part in header.split(sep):
        name, eq, value = part.strip().partition("=")
        if eq:
            out.append((name.strip(), value.strip()))
    return out


def _timestamp(value: str | None, now: float) -> int:
    if value is None or not value.isdigit():
        raise SignatureInvalid("The signature carries no timestamp.")
    t = int(value)
    if abs(now - t) > TOLERANCE:
        raise SignatureInvalid(f"The signature's timestamp is more than {TOLERANCE} s away.")
    return t


def _any_equal(expected: str, given: list[str]) -> bool:
    ok = False
    for candidate in given:  # every candidate compared: no early exit
        ok |= hmac.compare_digest(expected.encode(), candidate.encode())
    return ok


def _stripe(secret: str, header: str, body: bytes, now: float) -> None:
    import stripe

    t = dict(_fields(header, ",")).get("t")
    _timestamp(t, now)  # both directions; the library checks the past only
    try:
        stripe.WebhookSignature.verify_header(
            body.decode("utf-8", "replace"), header, secret, tolerance=TOLERANCE
        )
    except stripe.SignatureVerificationError:
        raise SignatureInvalid("The Stripe signature does not match.") from None


def _paddle(secret: str, header: str, body: bytes, now: float) -> None:
    fields = _fields(header, ";")
    ts = dict(fields).get("ts")
    _timestamp(ts, now)
    given = [v for k, v in fields if k == "h1"]
    if not _any_equal(_hex_hmac(secret, f"{ts}:".encode() + body), given):
        raise SignatureInvalid("The Paddle signature does not match.")


def _fastspring(secret: str, header: str, body: bytes, now: float) -> None:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    if not _any_equal(base64.b64encode(digest).decode(), [header.strip()]):
        raise SignatureInvalid("The FastSpring signature does not match.")


def _generic(secret: str, header: str, body: bytes, now: float) -> None:
    fields = _fields(header, ",")
    t = dict(fields).get("t")
    _timestamp(t, now)
    given = [v for k, v in fields if k == "v1"]
    if not _any_equal(_hex_hmac(secret, f"{t}.".encode() + body), given):
        raise SignatureInvalid("The signature does not match.")


_CHECKS = {"stripe": _stripe, "paddle": _paddle, "fastspring": _fastspring, "generic": _generic}


def verify(
    provider: str, secret: str | None, headers: Mapping[str, str], body: bytes, now: float
) -> None:
    """Raise ``SignatureInvalid`` unless ``body`` is signed with ``secret`` the
    provider's way. ``headers``: the request's headers (any case)."""
    if not secret:
        raise SignatureInvalid("No signing secret is set for this integration yet.")
    wanted = HEADERS[provider].lower()
    header = next((v for k, v in headers.items() if k.lower() == wanted), None)
    if not header:
        raise SignatureInvalid(f"The {HEADERS[provider]} header is missing.")
    _CHECKS[provider](secret, header, body, now)


# ---- signing, for the tests and for vendors' own senders of the generic format --


def sign(provider: str, secret: str, body: bytes, now: int) -> str:
    """The header value the provider would send for ``body`` at ``now``."""
    if provider == "stripe":
        return f"t={now},v1={_hex_hmac(secret, f'{now}.'.encode() + body)}"
    if provider == "paddle":
        return f"ts={now};h1={_hex_hmac(secret, f'{now}:'.encode() + body)}"
    if provider == "fastspring":
        digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
        return base64.b64encode(digest).decode()
    return f"t={now},v1={_hex_hmac(secret, f'{now}.'.encode() + body)}"
