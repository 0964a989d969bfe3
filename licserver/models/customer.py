from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, true
from sqlalchemy.orm import Mapped, mapped_column

from licserver.models.base import Base, BigId, utcnow


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # The main contact.
    email: Mapped[str] = mapped_column(String(254))
    # argon2id hash; None means the company password is not set (or turned off).
    company_password_hash: Mapped[str | None] = mapped_column(String(255))
    # The portal login "customer number + company password": on or off, and its role.
    company_login_enabled: Mapped[bool] = mapped_column(default=True, server_default=true())
    company_login_role: Mapped[str] = mapped_column(
        String(16), default="technical", server_default="technical"
    )
    # Like users.session_generation, for the company login's sessions.
    company_session_generation: Mapped[int] = mapped_column(default=0, server_default="0")
    # Company details and the billing contact, kept by the account's owners.
    address: Mapped[str | None] = mapped_column(String(1000))
    phone: Mapped[str | None] = mapped_column(String(50))
    vat_id: Mapped[str | None] = mapped_column(String(50))
    billing_name: Mapped[str | None] = mapped_column(String(200))
    billing_email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
