from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from licserver.models.base import Base, BigId, utcnow
from licserver.models.customer import Customer
from licserver.models.policy import Policy
from licserver.models.product import Product


class License(Base):
    __tablename__ = "licenses"
    __table_args__ = (
        CheckConstraint("seats >= 1", name="seats_positive"),
        CheckConstraint("seats_used >= 0", name="seats_used_nonnegative"),
        CheckConstraint("status IN ('active', 'suspended', 'revoked')", name="status_known"),
        Index("ix_licenses_customer_product", "customer_id", "product_id"),
        # The console's licence list: newest first (its default order), overall and of one product.
        Index("ix_licenses_created", "created_at", "id"),
        Index("ix_licenses_product", "product_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(16), unique=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    seats: Mapped[int]
    # Active activations; kept in the same transaction as every change to them,
    # under the licence's lock (see services.activation).
    seats_used: Mapped[int] = mapped_column(default=0)
    # Stored status; "expired" is derived from expires_at (domain.status).
    status: Mapped[str] = mapped_column(String(16), default="active")
    expires_at: Mapped[datetime | None]
    features: Mapped[list[Any]] = mapped_column(JSON, default=list)
    key_serial: Mapped[int] = mapped_column(default=1)
    # The current LK1 key, AES-GCM encrypted like the activation password.
    key_enc: Mapped[bytes] = mapped_column(LargeBinary)
    # AES-GCM ciphertext (nonce + data); never the plain password.
    activation_password_enc: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # The head of the licence's event chain (licserver.domain.history): the number
    # and hash of its last event, moved under the licence's lock with every event.
    history_seq: Mapped[int] = mapped_column(default=0, server_default="0")
    history_head: Mapped[str | None] = mapped_column(String(64))
    # Licence models (licserver.domain.policy): the policy it follows (None: the
    # defaults), its own overrides of the policy's settings (check-ed JSON), the
    # first activation (from_first_activation expiry starts there) and, for a
    # trial converted to a paid licence, when that happened.
    policy_id: Mapped[int | None] = mapped_column(ForeignKey("policies.id"), index=True)
    policy_overrides: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    first_activated_at: Mapped[datetime | None]
    converted_at: Mapped[datetime | None]

    product: Mapped[Product] = relationship(lazy="joined", innerjoin=True)
    customer: Mapped[Customer] = relationship(lazy="joined", innerjoin=True)
    policy: Mapped[Policy | None] = relationship(lazy="joined")
