from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from licserver.models.base import Base, BigId, utcnow


class Product(Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    default_seats: Mapped[int] = mapped_column(default=1)
    default_duration_days: Mapped[int | None]
    offline_grace_days: Mapped[int] = mapped_column(default=14)
    # The store's checkout page for more seats or a renewal: the portal links
    # there instead of its request form (domain.requests).
    checkout_url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A new random value whenever one of its releases or their artifacts
    # changes (services.release_tags): the update check's cached release pages
    # are keyed by it, read with the machine in one query.
    releases_tag: Mapped[str] = mapped_column(
        String(16), default=lambda: secrets.token_hex(8), server_default=""
    )
