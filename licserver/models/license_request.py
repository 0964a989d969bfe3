from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from licserver.models.base import Base, BigId, utcnow
from licserver.models.license import License


class LicenseRequest(Base):
    """A portal user's request for more seats or a renewal of a licence
    (domain.requests); staff approve or decline it in the console."""

    __tablename__ = "license_requests"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    license_id: Mapped[int] = mapped_column(
        ForeignKey("licenses.id", ondelete="CASCADE"), index=True
    )
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # seats | renewal
    seats: Mapped[int | None]  # more seats asked for (kind seats)
    note: Mapped[str | None] = mapped_column(Text)
    # Who asked: kept as written then (the user may leave the account later).
    requested_by_email: Mapped[str] = mapped_column(String(320))
    requested_by_name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(320))  # staff:<email>
    reason: Mapped[str | None] = mapped_column(Text)  # of a decline

    license: Mapped[License] = relationship(lazy="joined", innerjoin=True)
