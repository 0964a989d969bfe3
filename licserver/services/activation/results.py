"""What the client API's use cases take besides credentials, and what they answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from licserver.domain import policy as rules


@dataclass(frozen=True)
class PolicyWarning:
    """A would-be refusal of a report-only licence: recorded and reported, not enforced."""

    code: str
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "detail": self.detail}


@dataclass(frozen=True)
class Request:
    """What a client sends besides its credentials and installation (licence models)."""

    site_url: str | None = None  # normalised; the installation ID is derived from it
    fingerprints: dict[str, str] | None = None
    release_date: date | None = None
    features: tuple[str, ...] | None = None  # validation: the features asked for


NO_REQUEST = Request()


@dataclass
class ActivationResult:
    activation_id: str
    license_id: str
    installation_id: str
    machine_name: str
    activated_at: datetime
    certificate: str
    activation_token: str
    created: bool
    model: str = rules.NODE_LOCKED
    lease_expires_at: datetime | None = None
    features: list[str] = field(default_factory=list)
    warnings: list[PolicyWarning] = field(default_factory=list)
    moved_from: str | None = None


@dataclass
class CheckinResult:
    certificate: str
    lease_expires_at: datetime | None = None
    warnings: list[PolicyWarning] = field(default_factory=list)


@dataclass(frozen=True)
class LicenseSummary:
    id: str
    product: str
    seats: int
    seats_used: int
    expires_at: datetime | None
    features: list[str] = field(default_factory=list)
    model: str = rules.NODE_LOCKED
    has_policy: bool = False  # follows a policy, or has overrides of the defaults


@dataclass
class ValidationResult:
    valid: bool
    code: str
    license: LicenseSummary
    status: str
    warnings: list[PolicyWarning] = field(default_factory=list)
    missing_features: list[str] | None = None  # only when features were asked for
