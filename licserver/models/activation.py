from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from licserver.models.base import Base, BigId, utcnow
from licserver.models.license import License


class Activation(Base):
    __tablename__ = "activations"
    __table_args__ = (
        # The last line of defence behind the seat rules: one live activation
        # per installation and licence.
        Index(
            "uq_activations_live_installation",
            "license_id",
            "installation_id",
            unique=True,
            sqlite_where=text("deactivated_at IS NULL"),
            postgresql_where=text("deactivated_at IS NULL"),
        ),
        Index("ix_activations_installation_id", "installation_id"),
        Index("ix_activations_machine_name_lower", text("lower(machine_name)")),
        # The sweeper's two questions: which leases ran out, which heartbeats are late.
        Index(
            "ix_activations_live_lease",
            "lease_expires_at",
            sqlite_where=text("deactivated_at IS NULL AND lease_expires_at IS NOT NULL"),
            postgresql_where=text("deactivated_at IS NULL AND lease_expires_at IS NOT NULL"),
        ),
        Index(
            "ix_activations_live_heartbeat",
            "heartbeat_deadline",
            sqlite_where=text("deactivated_at IS NULL AND heartbeat_deadline IS NOT NULL"),
            postgresql_where=text("deactivated_at IS NULL AND heartbeat_deadline IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    license_id: Mapped[int] = mapped_column(ForeignKey("licenses.id"), index=True)
    installation_id: Mapped[str] = mapped_column(String(128))
    machine_name: Mapped[str] = mapped_column(String(255))
    client: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # SHA-256 of the current activation token (high-entropy, so a fast hash suffices).
    token_hash: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(64))
    activated_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_checkin_at: Mapped[datetime | None]
    deactivated_at: Mapped[datetime | None]
    deactivated_by_type: Mapped[str | None] = mapped_column(String(16))
    deactivated_by_id: Mapped[str | None] = mapped_column(String(64))
    deactivation_reason: Mapped[str | None] = mapped_column(String(500))
    # Licence models (licserver.domain.policy). Floating: the lease lasts until
    # lease_expires_at (renewed by check-in). Heartbeat: past heartbeat_deadline
    # the machine is marked inactive (inactive_since) or its seat freed. A licensed
    # site's normalised URL (its installation_id is derived from it). Secondary
    # identifiers for fingerprint continuity.
    lease_expires_at: Mapped[datetime | None]
    heartbeat_deadline: Mapped[datetime | None]
    inactive_since: Mapped[datetime | None]
    site_url: Mapped[str | None] = mapped_column(String(2048))
    fingerprints: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    license: Mapped[License] = relationship(lazy="joined", innerjoin=True)
