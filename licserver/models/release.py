"""Product releases offered as downloads."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from licserver.models.base import Base, BigId, utcnow
from licserver.models.product import Product

VERSION_KEY = String(200).with_variant(String(200, collation="C"), "postgresql")

if TYPE_CHECKING:
    from licserver.models.update import ReleaseArtifact


class Release(Base):
    """One version of a product: a file kept under ``RELEASES_DIR`` or an
    external URL, with its SHA-256. Customers see it once it is published."""

    __tablename__ = "releases"
    __table_args__ = (
        UniqueConstraint("product_id", "version", name="uq_releases_product_version"),
        # exactly one of: a stored file, an external URL
        CheckConstraint("(storage_path IS NULL) <> (url IS NULL)", name="file_or_url"),
        CheckConstraint("size IS NULL OR size >= 0", name="size_nonnegative"),
        CheckConstraint("status IN ('draft', 'published', 'yanked')", name="status_known"),
        # The update check's candidate query (services.updates).
        Index("ix_releases_product_status", "product_id", "status", "channel"),
        # The update check's newest first (services.updates): migration 0016.
        Index("ix_releases_newest", "product_id", "channel", "status", "version_key"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    version: Mapped[str] = mapped_column(String(64))
    notes: Mapped[str | None] = mapped_column(Text)
    released_at: Mapped[datetime]
    # The name the download is saved as.
    filename: Mapped[str] = mapped_column(String(255))
    # Relative to RELEASES_DIR; never taken from a request as given.
    storage_path: Mapped[str | None] = mapped_column(String(500))
    url: Mapped[str | None] = mapped_column(String(2000))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(64))
    published_at: Mapped[datetime | None]
    published_by: Mapped[str | None] = mapped_column(String(64))
    # The update email: claimed (set) once, in one UPDATE, before anything is
    # sent, so no run or process sends it twice. notified_count None with
    # notified_at set: published without an email.
    notified_at: Mapped[datetime | None]
    notified_count: Mapped[int | None]
    # Updates (docs/updates.md): the channel it is offered on, draft until
    # published, yanked never offered again; the oldest version that may
    # update to it directly; the entitlements a licence needs to get it.
    channel: Mapped[str] = mapped_column(String(32), default="stable", server_default="stable")
    status: Mapped[str] = mapped_column(String(16), default="draft", server_default="draft")
    yanked_at: Mapped[datetime | None]
    min_version: Mapped[str | None] = mapped_column(String(64))
    requires_features: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # domain.updates.version_key of ``version``: sorts as semantic versions do
    # (byte order: PostgreSQL's "C" collation). None: a version from before
    # versions were checked, never offered.
    version_key: Mapped[str | None] = mapped_column(VERSION_KEY)

    product: Mapped[Product] = relationship(lazy="joined", innerjoin=True)
    artifacts: Mapped[list[ReleaseArtifact]] = relationship(
        lazy="selectin", order_by="ReleaseArtifact.id", back_populates="release"
    )
