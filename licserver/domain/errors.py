"""The one error tree. Each error carries its stable API code and HTTP status;
``api.errors`` turns them into problem+json, the CLI into a message."""

from __future__ import annotations

from typing import Any


class LicenseServerError(Exception):
    code = "INTERNAL_ERROR"
    status = 500
    title = "Internal error"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra


class MalformedRequest(LicenseServerError):
    code, status, title = "MALFORMED_REQUEST", 400, "Malformed request"


class ValidationFailed(LicenseServerError):
    code, status, title = "VALIDATION_FAILED", 422, "Validation failed"

    def __init__(self, errors: dict[str, list[str]], detail: str | None = None) -> None:
        super().__init__(detail or "One or more fields are invalid.")
        self.errors = errors


class InvalidCredentials(LicenseServerError):
    code, status, title = "INVALID_CREDENTIALS", 401, "Invalid credentials"


class Unauthorized(LicenseServerError):
    code, status, title = "UNAUTHORIZED", 401, "Unauthorized"


class Forbidden(LicenseServerError):
    code, status, title = "FORBIDDEN", 403, "Forbidden"


class LicenseSuspended(LicenseServerError):
    code, status, title = "LICENSE_SUSPENDED", 403, "Licence suspended"


class LicenseRevoked(LicenseServerError):
    code, status, title = "LICENSE_REVOKED", 403, "Licence revoked"


class LicenseExpired(LicenseServerError):
    code, status, title = "LICENSE_EXPIRED", 403, "Licence expired"


class TrialAlreadyUsed(LicenseServerError):
    """This installation already had the one trial of this product it may have
    (on another trial licence): docs/licence-models.md, Trials."""

    code, status, title = "TRIAL_ALREADY_USED", 403, "Trial already used"


class NotFound(LicenseServerError):
    code, status, title = "NOT_FOUND", 404, "Not found"


class MethodNotAllowed(LicenseServerError):
    code, status, title = "METHOD_NOT_ALLOWED", 405, "Method not allowed"


class SeatLimitReached(LicenseServerError):
    code, status, title = "SEAT_LIMIT_REACHED", 409, "Seat limit reached"


class Conflict(LicenseServerError):
    code, status, title = "CONFLICT", 409, "Conflict"


class Deactivated(LicenseServerError):
    code, status, title = "DEACTIVATED", 410, "Activation deactivated"


class DeactivationLimitReached(LicenseServerError):
    """The licence's deactivation budget (DEACTIVATION_BUDGET) is spent. 409, not
    429: retrying soon cannot help (the window is days long), and clients must not
    treat it as "slow down"; ``retry_after``: seconds until one is allowed again."""

    code, status, title = "DEACTIVATION_LIMIT_REACHED", 409, "Deactivation limit reached"

    def __init__(self, detail: str | None = None, retry_after: int = 60) -> None:
        super().__init__(detail)
        self.retry_after = max(1, int(retry_after))


class PayloadTooLarge(LicenseServerError):
    code, status, title = "PAYLOAD_TOO_LARGE", 413, "Payload too large"


class RateLimited(LicenseServerError):
    code, status, title = "RATE_LIMITED", 429, "Too many requests"

    def __init__(self, detail: str | None = None, retry_after: int = 60) -> None:
        super().__init__(detail)
        self.retry_after = max(1, int(retry_after))


class ServiceUnavailable(LicenseServerError):
    code, status, title = "SERVICE_UNAVAILABLE", 503, "Service unavailable"


ALL_ERRORS: tuple[type[LicenseServerError], ...] = (
    MalformedRequest,
    ValidationFailed,
    InvalidCredentials,
    Unauthorized,
    Forbidden,
    LicenseSuspended,
    LicenseRevoked,
    LicenseExpired,
    TrialAlreadyUsed,
    NotFound,
    MethodNotAllowed,
    SeatLimitReached,
    Conflict,
    Deactivated,
    DeactivationLimitReached,
    PayloadTooLarge,
    RateLimited,
    ServiceUnavailable,
)
