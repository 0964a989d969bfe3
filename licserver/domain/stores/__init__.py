"""Store integrations, plain Python: a store's webhook is verified
(``signatures``) and turned into our own small set of commands (one mapping
module per provider); everything after that is shared (``services.stores``).

A command says what the store reports, in our words:

- ``purchase``: an order paid for the first time (issue licences);
- ``renewal``: a subscription paid for another period (extend them);
- ``payment_failed``: a payment failed; ``gave_up`` when the store stops trying;
- ``refund``: money returned, ``full`` or not;
- ``chargeback``: a dispute ``opened``, ``lost`` or ``won``;
- ``cancel``: a subscription ends at ``period_end`` (or now when none);
- ``quantity_change``: a subscription's quantities changed;
- ``ignored``: an event we do not act on, with the reason.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from licserver.domain.errors import LicenseServerError, MalformedRequest
from licserver.domain.ids import ALPHABET

PROVIDERS = ("stripe", "paddle", "fastspring", "generic")
ON_REFUND = ("revoke", "suspend")
KINDS = (
    "purchase",
    "renewal",
    "payment_failed",
    "refund",
    "chargeback",
    "cancel",
    "quantity_change",
    "ignored",
)
CHARGEBACK_STAGES = ("opened", "lost", "won")
MAX_EVENT_ID = 200


class SignatureInvalid(LicenseServerError):
    """Missing, wrong or stale signature, or no secret set: nothing is recorded."""

    code, status, title = "SIGNATURE_INVALID", 400, "Signature invalid"


class Malformed(MalformedRequest):
    """The body is not JSON, or not the shape the store documents."""


def new_integration_id() -> str:
    """``I-XXXXXXXX``: 40 bits, like webhook endpoint ids (not a secret: the
    signature is what protects the URL)."""
    return "I-" + "".join(secrets.choice(ALPHABET) for _ in range(8))


@dataclass(frozen=True)
class Line:
    """One thing sold: the store's name for it and how many."""

    item: str
    quantity: int = 1


@dataclass(frozen=True)
class Command:
    kind: str
    event_id: str
    event_type: str
    email: str | None = None
    name: str | None = None
    # The store's order (invoice, transaction) reference; ``refs`` are other
    # references the store uses for the same payment (a Stripe charge or
    # payment intent), so a refund naming either finds it.
    order: str | None = None
    refs: tuple[str, ...] = ()
    subscription: str | None = None
    lines: tuple[Line, ...] = ()
    period_end: datetime | None = None
    amount_cents: int | None = None
    currency: str | None = None
    full: bool | None = None  # refund: the whole order (None: compare amounts)
    stage: str | None = None  # chargeback
    gave_up: bool = False  # payment_failed
    reason: str | None = None  # ignored
    # A store's own customer id (Paddle sends the email in customer.* events).
    store_customer: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def ignored(event_id: str, event_type: str, reason: str | None = None) -> Command:
    return Command(
        "ignored",
        event_id,
        event_type,
        reason=reason or f"Events of type '{event_type}' are not acted on.",
    )


# ---- helpers the mapping modules share ------------------------------------------


def load_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise Malformed("The body is not JSON.") from None


def obj(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Malformed(f"'{where}' must be an object.")
    return value


def text(value: Any, where: str, *, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value or len(value) > MAX_EVENT_ID:
        raise Malformed(f"'{where}' must be a non-empty string of at most {MAX_EVENT_ID}.")
    return value


def quantity(value: Any, where: str) -> int:
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100_000:
        raise Malformed(f"'{where}' must be a whole number from 0 to 100000.")
    return value


def from_unix(value: Any, where: str) -> datetime | None:
    """Unix seconds (Stripe) → an aware datetime."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Malformed(f"'{where}' must be unix seconds.")
    return datetime.fromtimestamp(value, UTC)


def from_rfc3339(value: Any, where: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise Malformed(f"'{where}' must be an RFC 3339 date and time.")
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Malformed(f"'{where}' must be an RFC 3339 date and time.") from None
    if at.tzinfo is None:
        raise Malformed(f"'{where}' must carry a time zone (Z or +hh:mm).")
    return at.astimezone(UTC)


def decimal_cents(value: Any, where: str) -> int | None:
    """A decimal amount in the currency's unit (FastSpring ``19.99``) → cents."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise Malformed(f"'{where}' must be an amount.")
    try:
        return round(float(value) * 100)
    except ValueError:
        raise Malformed(f"'{where}' must be an amount.") from None


def whole_cents(value: Any, where: str) -> int | None:
    """An amount already in the smallest unit (Stripe ``1999``, Paddle ``"1999"``)."""
    if value is None:
        return None
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise Malformed(f"'{where}' must be a whole amount in the currency's smallest unit.")


def part(value: Any) -> dict[str, Any]:
    """An optional nested object: itself, or empty when absent or not an object."""
    return value if isinstance(value, dict) else {}
