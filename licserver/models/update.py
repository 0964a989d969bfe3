"""Updates: a release's artifacts per platform and the update-check counters.
(Feed tokens are derived, not stored: ``services.feeds``.)"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from licserver.models.base import Base, BigId, utcnow
from licserver.models.release import Release


class ReleaseArtifact(Base):
    """One file of a release for a platform and arch (None: every one), kept
    under the instance (``local``), in an S3-compatible bucket (``s3``), or at
    an external ``url``. The signatures the feeds need are made when the file
    is received (an external URL has none: Sparkle and Tauri feeds skip it)."""

    __tablename__ = "release_artifacts"
    __table_args__ = (
        CheckConstraint("storage IN ('local', 's3', 'url')", name="storage_known"),
        CheckConstraint("(storage = 'url') = (url IS NOT NULL)", name="url_iff_external"),
        CheckConstraint("(storage = 'url') = (object_key IS NULL)", name="key_iff_stored"),
        CheckConstraint("size >= 0", name="size_nonnegative"),
        Index(
            "uq_release_artifacts_target",
            "release_id",
            "platform_key",
            "arch_key",
            unique=True,
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id", ondelete="CASCADE"))
    platform: Mapped[str | None] = mapped_column(String(16))
    arch: Mapped[str | None] = mapped_column(String(16))
    # platform/arch or "" : one artifact per target (NULLs are never equal).
    platform_key: Mapped[str] = mapped_column(String(16), default="")
    arch_key: Mapped[str] = mapped_column(String(16), default="")
    storage: Mapped[str] = mapped_column(String(8))
    object_key: Mapped[str | None] = mapped_column(String(500))
    url: Mapped[str | None] = mapped_column(String(2000))
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    sha512_b64: Mapped[str | None] = mapped_column(String(88))
    size: Mapped[int] = mapped_column(BigInteger)
    # Sparkle's edSignature and Tauri's minisign text, by signing key ``kid``.
    ed_signature: Mapped[str | None] = mapped_column(String(100))
    minisign: Mapped[str | None] = mapped_column(Text)
    signed_kid: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    release: Mapped[Release] = relationship(back_populates="artifacts")


class UpdateCheckCount(Base):
    """How many update checks a release answered, per platform ("" for none):
    counted, not logged, as checks are far too many for the history."""

    __tablename__ = "update_check_counts"

    release_id: Mapped[int] = mapped_column(
        ForeignKey("releases.id", ondelete="CASCADE"), primary_key=True
    )
    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)
    last_at: Mapped[datetime] = mapped_column(default=utcnow)
