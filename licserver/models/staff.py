"""Vendor staff accounts (the /admin console)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, LargeBinary, String, false
from sqlalchemy.orm import Mapped, mapped_column

from licserver.models.base import Base, BigId, utcnow


class StaffUser(Base):
    """A person of the vendor who logs in to ``/admin``; apart from the
    customers' portal users (``users``). Roles: ``licserver.domain.staff``."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(16), unique=True)
    # Stored lower-case.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # Set by another admin (a new account, a reset): the console asks for a
    # new one of the user's own before anything else.
    password_temporary: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The TOTP secret (base32), sealed with the data key; None: no second factor.
    totp_secret_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    # The last time step a code was accepted for: a code works once.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    # Sessions name the generation they were made in; log-out, a new password,
    # a new second factor and disabling move it on: older cookies stop working.
    session_generation: Mapped[int] = mapped_column(default=0, server_default="0")
    disabled_at: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
