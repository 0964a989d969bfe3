"""Store integrations: the stores that sell licences, the events they sent,
and which licences each store order or subscription issued."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from licserver.models.base import Base, BigId, utcnow


class StoreIntegration(Base):
    __tablename__ = "store_integrations"
    __table_args__ = (
        CheckConstraint(
            "provider IN ('stripe', 'paddle', 'fastspring', 'generic')", name="provider_known"
        ),
        CheckConstraint("on_refund IN ('revoke', 'suspend')", name="on_refund_known"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(16), unique=True)
    provider: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    # The store's signing secret, AES-GCM encrypted like activation passwords;
    # None until the vendor pastes it (stores show it once the URL is set).
    secret_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    on_refund: Mapped[str] = mapped_column(String(16), default="revoke")
    # [{store_item, product, policy, seats_per_unit, duration_days}]
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class StoreEvent(Base):
    """One event a store sent, stored raw before anything is applied. The
    unique (integration, event id) makes a repeat, or the same event reaching
    two servers at once, a no-op."""

    __tablename__ = "store_events"
    __table_args__ = (
        UniqueConstraint("integration_id", "event_id", name="uq_store_events_integration_event"),
        CheckConstraint("outcome IN ('applied', 'ignored', 'failed')", name="outcome_known"),
        Index("ix_store_events_integration_id_id", "integration_id", "id"),
        Index("ix_store_events_held", "integration_id", "held"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    integration_id: Mapped[int] = mapped_column(
        ForeignKey("store_integrations.id", ondelete="CASCADE")
    )
    event_id: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(100))
    # The body exactly as received (for FastSpring, the one event of the post).
    body: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    applied_at: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(String(1000))
    # Waiting for an event it depends on (a refund before its purchase): tried
    # again after each event of the integration that applies.
    held: Mapped[bool] = mapped_column(default=False)
    # The licences it changed (public ids).
    licenses: Mapped[list[str]] = mapped_column(JSON, default=list)


class StoreLink(Base):
    """A licence issued for a store's order, and the subscription that renews
    it. ``refs``: the other names the store gives the payment (a charge)."""

    __tablename__ = "store_links"
    __table_args__ = (
        UniqueConstraint("license_id", name="uq_store_links_license"),
        Index("ix_store_links_integration_order", "integration_id", "order_ref"),
        Index("ix_store_links_integration_subscription", "integration_id", "subscription_ref"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    integration_id: Mapped[int] = mapped_column(
        ForeignKey("store_integrations.id", ondelete="CASCADE")
    )
    license_id: Mapped[int] = mapped_column(ForeignKey("licenses.id", ondelete="CASCADE"))
    store_item: Mapped[str] = mapped_column(String(200))
    order_ref: Mapped[str] = mapped_column(String(200))
    refs: Mapped[list[str]] = mapped_column(JSON, default=list)
    subscription_ref: Mapped[str | None] = mapped_column(String(200))
    amount_cents: Mapped[int | None] = mapped_column(BigInteger)
    seats_per_unit: Mapped[int] = mapped_column(default=1)
    # Set by a cancellation: the licence ends here and is never extended past it.
    ends_at: Mapped[datetime | None]


class StoreCustomer(Base):
    """A store's own customer id and email (Paddle names buyers by id only)."""

    __tablename__ = "store_customers"
    __table_args__ = (
        UniqueConstraint("integration_id", "store_ref", name="uq_store_customers_ref"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    integration_id: Mapped[int] = mapped_column(
        ForeignKey("store_integrations.id", ondelete="CASCADE")
    )
    store_ref: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str | None] = mapped_column(String(200))
