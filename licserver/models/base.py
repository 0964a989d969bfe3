"""Declarative base and the column types every table uses."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer, MetaData
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, registry
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT on PostgreSQL; INTEGER on SQLite so that it is the rowid and autoincrements.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every database (SQLite keeps naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        result: datetime = value
        if result.tzinfo is None:
            return result.replace(tzinfo=UTC)
        return result.astimezone(UTC)


def _utcnow() -> datetime:
    return datetime.now(UTC)


# ---- TEST-ONLY clock (tests that move time forward through a real server) ------
# With LICSERVER_TESTING_CLOCK_FILE=path set when this module is imported, the
# server's clock runs that file's number of seconds ahead (0 while it is absent
# or unreadable; re-read when it changes). Without it, utcnow is datetime.now(UTC).
_clock_file = os.environ.get("LICSERVER_TESTING_CLOCK_FILE", "")
_clock_cache: list[Any] = [None, 0.0]  # (mtime_ns, size), offset


def _shifted_utcnow() -> datetime:
    try:
        st = os.stat(_clock_file)
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp != _clock_cache[0]:
            with open(_clock_file, encoding="ascii") as f:
                _clock_cache[1] = float(f.read().strip() or 0)
            _clock_cache[0] = stamp
        offset = _clock_cache[1]
    except (OSError, ValueError):
        offset = 0.0
    return datetime.now(UTC) + timedelta(seconds=offset)


utcnow = _shifted_utcnow if _clock_file else _utcnow
# ---- end of the test-only clock ----------------------------------------------


class Base(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING),
        type_annotation_map={datetime: UTCDateTime()},
    )
