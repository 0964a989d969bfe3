"""Offline (air-gapped) activation: used offline deactivation codes.

An offline deactivation code proves that an installation deleted its
activation; redeeming it frees the seat. Each code is redeemed once: its
SHA-256 is kept here, unique, so a second use is refused."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from licserver.models.base import Base, BigId, utcnow


class OfflineDeactivationCode(Base):
    __tablename__ = "offline_deactivation_codes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # SHA-256 (hex) of the code's canonical text (whitespace and line breaks removed).
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    activation_id: Mapped[int] = mapped_column(ForeignKey("activations.id"), index=True)
    license_id: Mapped[int] = mapped_column(ForeignKey("licenses.id"), index=True)
    used_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_by_type: Mapped[str] = mapped_column(String(16))
    used_by_id: Mapped[str | None] = mapped_column(String(64))
