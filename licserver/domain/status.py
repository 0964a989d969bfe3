"""Licence status: what is stored, what is derived, and what each allows."""

from __future__ import annotations

from datetime import datetime

from licserver.domain.errors import (
    Conflict,
    LicenseExpired,
    LicenseRevoked,
    LicenseServerError,
    LicenseSuspended,
)

STORED = ("active", "suspended", "revoked")
ALL = ("active", "suspended", "revoked", "expired")


def effective_status(stored: str, expires_at: datetime | None, now: datetime) -> str:
    """Suspended and revoked win over expiry; expired is past ``expires_at``."""
    if stored in ("suspended", "revoked"):
        return stored
    if expires_at is not None and expires_at <= now:
        return "expired"
    return "active"


def expiry_text(expires_at: datetime | None, now: datetime) -> str:
    """How a customer reads when a licence ends: "never", "expired",
    "expires today" or "expires in N days"."""
    if expires_at is None:
        return "never"
    if expires_at <= now:
        return "expired"
    days = (expires_at - now).days
    if days == 0:
        return "expires today"
    return f"expires in {days} day{'s' if days != 1 else ''}"


# How a query finds the licences of each effective status: the stored status,
# and whether ``expires_at`` has passed (True), has not (False: none, or later),
# or does not matter (None). The same rule as ``effective_status``.
def stored_terms(status: str) -> tuple[str, bool | None]:
    if status == "expired":
        return "active", True
    if status == "active":
        return "active", False
    return status, None


_REFUSAL: dict[str, type[LicenseServerError]] = {
    "suspended": LicenseSuspended,
    "revoked": LicenseRevoked,
    "expired": LicenseExpired,
}


def usability_error(status: str) -> LicenseServerError | None:
    """The 403 a client gets for a licence in ``status``, or None when usable."""
    cls = _REFUSAL.get(status)
    if cls is None:
        return None
    return cls(f"The licence is {status}.")


# action -> (states it may start from, resulting state)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "suspend": (("active",), "suspended"),
    "reinstate": (("suspended",), "active"),
    "revoke": (("active", "suspended"), "revoked"),
}


def transition(stored: str, action: str) -> str | None:
    """The new stored status, or None when the licence is already there.

    Revocation is final: nothing moves a licence out of ``revoked``.
    """
    allowed, target = TRANSITIONS[action]
    if stored == target:
        return None
    if stored not in allowed:
        raise Conflict(f"A {stored} licence cannot be {target}.")
    return target
