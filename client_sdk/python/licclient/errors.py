"""The SDK's errors: one root, ``LicenseError``, and one class per server code
a product handles differently. Server codes without a class of their own
(``VALIDATION_FAILED``, ``NOT_FOUND``, ``PAYLOAD_TOO_LARGE``, ...) raise a
plain ``LicenseError`` carrying that code."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "LicenseError",
    "InvalidCredentials",
    "SeatLimitReached",
    "LicenseExpired",
    "LicenseSuspended",
    "LicenseRevoked",
    "Deactivated",
    "DeactivationLimitReached",
    "RateLimited",
    "CertificateInvalid",
    "ServerUnavailable",
]


class LicenseError(Exception):
    """Root of every error the SDK raises.

    ``code``: the server's stable error code (API.md) when the server answered
    with one, or the SDK's own code for a local refusal (``NOT_ACTIVATED``,
    ``CERTIFICATE_INVALID``); None for network failures. ``detail``: the
    server's explanation, else ours. ``status``: the HTTP status, None when
    there was no answer. ``errors``: per-field messages of ``VALIDATION_FAILED``.
    """

    default_message = "The licence server refused the request."

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        status: int | None = None,
        errors: Mapping[str, list[str]] | None = None,
    ) -> None:
        self.detail = detail or self.default_message
        self.code = code
        self.status = status
        self.errors: dict[str, list[str]] = dict(errors or {})
        super().__init__(self.detail)

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}(code={self.code!r}, status={self.status!r}, detail={self.detail!r})"


class InvalidCredentials(LicenseError):
    """Unknown or superseded key, wrong password, or a wrong activation token."""

    default_message = "The licence credentials were not accepted."


class SeatLimitReached(LicenseError):
    """Every seat of the licence is used by other installations."""

    default_message = "All seats of the licence are in use."


class LicenseExpired(LicenseError):
    default_message = "The licence has expired."


class LicenseSuspended(LicenseError):
    default_message = "The licence is suspended."


class LicenseRevoked(LicenseError):
    default_message = "The licence was revoked."


class TrialAlreadyUsed(LicenseError):
    """This machine has already had a trial of the product (one trial per machine)."""

    default_message = "This machine has already used its trial of the product."


class Deactivated(LicenseError):
    """This installation was deactivated; the local activation has been removed."""

    default_message = "This installation was deactivated."


class DeactivationLimitReached(LicenseError):
    """The licence's installations were deactivated as often as the vendor allows
    in a period; the local activation is kept (this installation is still active).
    ``retry_after``: seconds until the server allows the next one, if it said."""

    default_message = "This licence may not be deactivated again yet."

    def __init__(self, detail: str | None = None, *, retry_after: float | None = None, **kw: Any):
        super().__init__(detail, **kw)
        self.retry_after = retry_after


class RateLimited(LicenseError):
    """Too many requests. ``retry_after``: seconds the server asked us to wait, if it said."""

    default_message = "Too many requests; try again later."

    def __init__(self, detail: str | None = None, *, retry_after: float | None = None, **kw: Any):
        super().__init__(detail, **kw)
        self.retry_after = retry_after


class CertificateInvalid(LicenseError):
    """A certificate did not verify: the server's answer (nothing was stored),
    or the stored activation (unreadable, altered, or not this installation's)."""

    default_message = "The activation certificate did not verify."


class ServerUnavailable(LicenseError):
    """The server could not be reached, or answered that it is unavailable."""

    default_message = "The licence server is unavailable."


_BY_CODE: dict[str, type[LicenseError]] = {
    "INVALID_CREDENTIALS": InvalidCredentials,
    "SEAT_LIMIT_REACHED": SeatLimitReached,
    "LICENSE_EXPIRED": LicenseExpired,
    "LICENSE_SUSPENDED": LicenseSuspended,
    "LICENSE_REVOKED": LicenseRevoked,
    "DEACTIVATED": Deactivated,
    "TRIAL_ALREADY_USED": TrialAlreadyUsed,
    "DEACTIVATION_LIMIT_REACHED": DeactivationLimitReached,
    "RATE_LIMITED": RateLimited,
    "SERVICE_UNAVAILABLE": ServerUnavailable,
}


def error_for(
    status: int, problem: Mapping[str, Any] | None, retry_after: float | None = None
) -> LicenseError:
    """The exception for an HTTP error answer (``problem``: its problem+json body, if any)."""
    body = problem or {}
    code = body.get("code") if isinstance(body.get("code"), str) else None
    detail = body.get("detail") if isinstance(body.get("detail"), str) else None
    raw_errors = body.get("errors")
    errors = (
        {str(k): [str(m) for m in v] for k, v in raw_errors.items() if isinstance(v, list)}
        if isinstance(raw_errors, dict)
        else None
    )
    cls = _BY_CODE.get(code or "")
    if cls is None and code is None:
        # Not our server's problem+json (a proxy, a load balancer): judge by status.
        if status == 429:
            cls = RateLimited
        elif status >= 500:
            cls = ServerUnavailable
        detail = detail or f"The server answered HTTP {status} without an explanation."
    cls = cls or LicenseError
    if cls is RateLimited:
        return RateLimited(detail, code=code, status=status, retry_after=retry_after)
    if cls is DeactivationLimitReached:
        return DeactivationLimitReached(detail, code=code, status=status, retry_after=retry_after)
    return cls(detail, code=code, status=status, errors=errors)
