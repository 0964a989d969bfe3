from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
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
        # The deactivation budget counts a licence's recent deactivations.
        Index("ix_events_license_kind_at", "license_id", "kind", "at"),
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
    # The licence's hash chain (licserver.domain.history): this event's number in
    # the licence's history, the previous event's hash and this one's. NULL for
    # events without a licence, which are not chained.
    chain_seq: Mapped[int | None]
    chain_prev: Mapped[str | None] = mapped_column(String(64))
    chain_hash: Mapped[str | None] = mapped_column(String(64))


class SignedHead(Base):
    """A licence's chain head as signed by the server (``licserver history
    sign-heads``): a later history must still pass through it."""

    __tablename__ = "history_heads"
    __table_args__ = (Index("ix_history_heads_license_id_id", "license_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    license_id: Mapped[int] = mapped_column(ForeignKey("licenses.id"))
    seq: Mapped[int]
    head: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(default=utcnow)
    kid: Mapped[str] = mapped_column(String(32))
    # LHH1.PAYLOAD.SIG over {lid, seq, head, at, kid} (licserver.signing's format)
    token: Mapped[str] = mapped_column(Text)
