"""The settings the services read, typed and frozen, built once per app from
its config (:func:`Settings.from_config`). Services never read the Flask
config themselves."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from licserver.domain.budget import Budget, parse_budget
from licserver.services.mail import MailSettings

# A delivery worker claims this many deliveries at a time (services.webhooks).
CLAIM_BATCH = 10
SAFETY_WINDOW_SECONDS = 60


@dataclass(frozen=True)
class WebhookSettings:
    timeout: float = 10.0
    allow_private: bool = False
    safety_window: int = SAFETY_WINDOW_SECONDS

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> WebhookSettings:
        return cls(
            timeout=float(cfg["WEBHOOK_TIMEOUT_SECONDS"]),
            allow_private=bool(cfg["WEBHOOK_ALLOW_PRIVATE"]),
        )

    @property
    def lease(self) -> timedelta:
        """How long a claimed batch is a worker's: connect, send and read of each."""
        return timedelta(seconds=CLAIM_BATCH * (3 * self.timeout + 5) + 60)


@dataclass(frozen=True)
class Seller:
    """The vendor as its invoices name it (empty fields are left off)."""

    name: str = ""
    address: str = ""
    tax_id: str = ""

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> Seller:
        return cls(
            name=str(cfg["SELLER_NAME"]).strip(),
            address=str(cfg["SELLER_ADDRESS"]).strip(),
            tax_id=str(cfg["SELLER_TAX_ID"]).strip(),
        )


@dataclass(frozen=True)
class Settings:
    public_url: str  # no trailing slash
    releases_dir: Path
    release_max_upload_bytes: int
    download_link_seconds: int
    invitation_ttl_hours: int
    password_reset_ttl_minutes: int
    # None: no failed-attempt budget (RATE_LIMITS=off turns every limit off).
    failed_attempts_limit: int | None
    failed_attempts_window: int
    # None: client and portal deactivations are not limited (DEACTIVATION_BUDGET = 0).
    deactivation_budget: Budget | None
    webhooks: WebhookSettings
    mail: MailSettings
    # How long SQLite waits for a writer's lock (the online backup too).
    sqlite_busy_timeout_seconds: float = 10.0
    seller: Seller = Seller()
    # Update checks are written at most once per this many seconds (check_counts).
    update_count_flush_seconds: float = 1.0

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any], instance_path: str) -> Settings:
        limit: int | None = int(cfg["FAILED_ATTEMPTS_LIMIT"])
        if cfg["RATE_LIMITS"] == "off":
            limit = None
        return cls(
            public_url=str(cfg["PUBLIC_URL"]).rstrip("/"),
            releases_dir=Path(cfg["RELEASES_DIR"] or Path(instance_path) / "releases"),
            release_max_upload_bytes=int(cfg["RELEASE_MAX_UPLOAD_BYTES"]),
            download_link_seconds=int(cfg["DOWNLOAD_LINK_SECONDS"]),
            invitation_ttl_hours=int(cfg["INVITATION_TTL_HOURS"]),
            password_reset_ttl_minutes=int(cfg["PASSWORD_RESET_TTL_MINUTES"]),
            failed_attempts_limit=limit,
            failed_attempts_window=int(cfg["FAILED_ATTEMPTS_WINDOW_SECONDS"]),
            # Parsed and checked at start-up by licserver.security (a ConfigError there).
            deactivation_budget=parse_budget(cfg["DEACTIVATION_BUDGET"]),
            webhooks=WebhookSettings.from_config(cfg),
            mail=MailSettings.from_config(cfg, instance_path),
            sqlite_busy_timeout_seconds=int(cfg["SQLITE_BUSY_TIMEOUT_MS"]) / 1000,
            seller=Seller.from_config(cfg),
            update_count_flush_seconds=float(cfg["UPDATE_COUNT_FLUSH_SECONDS"]),
        )
