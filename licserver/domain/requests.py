"""A portal user asks for more: more seats on a licence, or its renewal. The
rules over plain values; services.license_requests stores and decides them."""

from __future__ import annotations

from urllib.parse import urlsplit

from licserver.domain.errors import Conflict, ValidationFailed

SEATS, RENEWAL = "seats", "renewal"
KINDS: dict[str, str] = {SEATS: "More seats", RENEWAL: "Renewal"}

PENDING, APPROVED, DECLINED = "pending", "approved", "declined"
STATUSES = (PENDING, APPROVED, DECLINED)

MAX_EXTRA_SEATS = 10_000
MAX_NOTE = 1000
MAX_REASON = 500


def check_request(kind: str, seats: int | None, note: str | None) -> tuple[int | None, str | None]:
    """The request as stored: seats only for ``SEATS`` (1..MAX_EXTRA_SEATS),
    a note of at most MAX_NOTE characters (empty: none)."""
    errors: dict[str, list[str]] = {}
    if kind not in KINDS:
        errors["kind"] = [f"Must be one of: {', '.join(KINDS)}."]
    if kind == SEATS:
        if seats is None or not 1 <= seats <= MAX_EXTRA_SEATS:
            errors["seats"] = [f"Ask for 1 to {MAX_EXTRA_SEATS} more seats."]
    else:
        seats = None
    note = (note or "").strip() or None
    if note is not None and len(note) > MAX_NOTE:
        errors["note"] = [f"At most {MAX_NOTE} characters."]
    if errors:
        raise ValidationFailed(errors, "; ".join(f"{k}: {v[0]}" for k, v in errors.items()))
    return seats, note


def check_open(status: str) -> None:
    """Only a pending request is approved or declined (once)."""
    if status != PENDING:
        raise Conflict(f"This request is already {status}.")


def check_reason(reason: str | None) -> str:
    """A decline says why (the requester reads it)."""
    text = (reason or "").strip()
    if not text or len(text) > MAX_REASON:
        raise ValidationFailed(
            {"reason": [f"Say why, in 1 to {MAX_REASON} characters."]},
            f"A decline needs a reason of 1 to {MAX_REASON} characters.",
        )
    return text


def check_checkout_url(url: str | None) -> str | None:
    """A product's store checkout page: an absolute http(s) URL, or none."""
    text = (url or "").strip()
    if not text:
        return None
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(text) > 500:
        raise ValidationFailed(
            {"checkout_url": ["An http:// or https:// address of at most 500 characters."]}
        )
    return text


RENEWAL_FALLBACK_DAYS = 365


def renewal_days(policy_days: int | None, product_days: int | None) -> int:
    """How long an approved renewal extends: the policy's duration, else the
    product's default duration, else a year."""
    return policy_days or product_days or RENEWAL_FALLBACK_DAYS


def describe(kind: str, seats: int | None) -> str:
    """What was asked, in a sentence's words."""
    if kind == SEATS:
        return f"{seats} more seat{'s' if seats != 1 else ''}"
    return "a renewal"
