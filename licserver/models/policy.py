"""Licence policies and the record of trials used (licserver.domain.policy)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from licserver.models.base import Base, BigId, utcnow
from licserver.models.product import Product


class Policy(Base):
    """A product's named set of licence rules. ``settings`` holds the values that
    differ from ``licserver.domain.policy.DEFAULTS``, as ``check``-ed JSON."""

    __tablename__ = "policies"
    __table_args__ = (UniqueConstraint("product_id", "name", name="uq_policies_product_name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(16), unique=True)  # "P-XXXX-XXXX"
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Settings.plain of these settings, kept with them: the PostgreSQL one-statement
    # activation reads it instead of the settings.
    plain: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    product: Mapped[Product] = relationship(lazy="joined", innerjoin=True)


class TrialUse(Base):
    """The one trial of a product an installation may have: the first trial
    licence it activated on. A second trial licence of the product refuses it."""

    __tablename__ = "trial_uses"
    __table_args__ = (
        UniqueConstraint("product_id", "installation_id", name="uq_trial_uses_product_iid"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    installation_id: Mapped[str] = mapped_column(String(128))
    license_id: Mapped[int] = mapped_column(ForeignKey("licenses.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
