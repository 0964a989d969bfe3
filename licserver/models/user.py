from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from licserver.models.base import Base, BigId, utcnow

# A user limited to chosen licences sees and acts on those only; no rows: all licences.
user_licenses = Table(
    "user_licenses",
    Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("license_id", ForeignKey("licenses.id", ondelete="CASCADE"), primary_key=True),
)


class User(Base):
    """A named person of a customer account who logs in to the portal."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    # Stored lower-case; unique across all customers (one login, one person).
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    invite_token_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    invite_expires_at: Mapped[datetime | None]
    # Password reset: SHA-256 of the single-use emailed token, and until when it works.
    reset_token_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    reset_expires_at: Mapped[datetime | None]
    # Notices by email; None means the role's default (domain.portal.NOTICE_DEFAULTS).
    notify_expiry: Mapped[bool | None]
    notify_deactivations: Mapped[bool | None]
    notify_updates: Mapped[bool | None]
    last_login_at: Mapped[datetime | None]
    # Portal sessions name the generation they were made in; log-out and a new
    # password move it on, so every older session cookie stops working.
    session_generation: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    licenses: Mapped[list[License]] = relationship(secondary=user_licenses, lazy="selectin")


from licserver.models.license import License  # noqa: E402
