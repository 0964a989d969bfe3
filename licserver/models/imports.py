"""Imports from another licensing system: the external ids of imported rows,
the old system's licence keys (hashed), and the import jobs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, deferred, mapped_column

from licserver.models.base import Base, BigId, utcnow


class ImportRef(Base):
    """An imported row: its kind and external id (the old system's), the row it
    became here, and a digest of the values last imported (the same digest
    again: nothing to change)."""

    __tablename__ = "import_refs"
    __table_args__ = (UniqueConstraint("kind", "external_id", name="uq_import_refs_kind_external"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(128))
    target_id: Mapped[int] = mapped_column(BigId)
    digest: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class LegacyKey(Base):
    """A licence key of the old system that activates its licence: a keyed hash
    (HMAC-SHA-256 under the data key), never the key."""

    __tablename__ = "legacy_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    license_id: Mapped[int] = mapped_column(ForeignKey("licenses.id"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ImportJob(Base):
    """One uploaded file and its dry run, then its import. ``position`` is the
    resume point: the rows before it are done (committed with the batch that
    moved it)."""

    __tablename__ = "import_jobs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str] = mapped_column(String(255))
    # checking (dry run queued) → checked → queued → running → done | failed
    state: Mapped[str] = mapped_column(String(16), index=True)
    # The uploaded file, dropped once the job is done.
    data: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    total: Mapped[int] = mapped_column(default=0)
    position: Mapped[int] = mapped_column(default=0)
    created: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    # The dry run's problems (bad_rows: how many rows have one); then the import's.
    bad_rows: Mapped[int] = mapped_column(default=0)
    problems: Mapped[list[Any]] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(String(2000))
    created_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # A running job's worker moves this on with every batch; a job whose
    # heartbeat stopped is taken over by the next worker (from ``position``).
    heartbeat_at: Mapped[datetime | None]
