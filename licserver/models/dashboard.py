"""The dashboard's pre-aggregated figures (licserver.services.dashboard)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from licserver.models.base import Base, BigId


class DashboardDay(Base):
    """How many events of one sort one product had on one (UTC) day: activations
    (``code`` empty) or refusals (``code`` the error code). ``product_id`` 0: the
    request named no licence the server knows. Folded in from the events by
    ``licserver dashboard refresh`` (and the page when its figures are stale)."""

    __tablename__ = "dashboard_days"
    __table_args__ = (
        UniqueConstraint("day", "product_id", "kind", "code", name="uq_dashboard_days_key"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    product_id: Mapped[int]  # no foreign key: 0 stands for "no licence"
    kind: Mapped[str] = mapped_column(String(16))  # "activation" | "refusal"
    code: Mapped[str] = mapped_column(String(64), default="")
    count: Mapped[int]


class DashboardState(Base):
    """One row: the events folded into ``dashboard_days`` so far (ids up to
    ``events_through``) and the figures of the licences and machines as they
    stood at ``refreshed_at``."""

    __tablename__ = "dashboard_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    refreshed_at: Mapped[datetime]
    events_through: Mapped[int] = mapped_column(BigInteger, default=0)
    figures: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
