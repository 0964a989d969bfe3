from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from licserver.models.base import Base, BigId, utcnow


class Event(Base):
    """One line of history. Rows are only ever added."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_license_id_id", "license_id", "id"),
        Index("ix_events_customer_id_id", "customer_id", "id"),
        # The failed-attempt budget counts recent refusals per licence / customer.
        Index("ix_events_license_reason_at", "license_id", "reason", "at"),
        Index("ix_events_customer_reason_at", "customer_id", "reason", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(64))
    license_id: Mapped[int | None] = mapped_column(ForeignKey("licenses.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    activation_id: Mapped[str | None] = mapped_column(String(32))
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str | None] = mapped_column(String(64))
    installation_id: Mapped[str | None] = mapped_column(String(128))
    machine_name: Mapped[str | None] = mapped_column(String(255))
    ip: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(500))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
