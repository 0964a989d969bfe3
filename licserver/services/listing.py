"""Sorted, filtered, counted lists with keyset pagination over any allowed
column: what the console's list pages and their CSV exports share.

A list names its sortable columns (a fixed allow-list: a key, the SQL
expression, the kind of its values); a page is read after a cursor holding
the sort key and the row id of the last row shown, so pages stay stable while
rows are added, and the export walks the same order in batches (no row limit,
no offset scans)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from licserver.crypto import b64u, b64u_decode
from licserver.domain.errors import ValidationFailed

T = TypeVar("T")

MAX_LIMIT = 200
EXPORT_BATCH = 500
# Counted up to this many rows: past it a page says "more than 10,000". A
# full count of a filter that matches most of a million licences reads them
# all on every page (seconds); a capped one stops early (docs/performance.md).
COUNT_CAP = 10_000


@dataclass(frozen=True)
class Column:
    """A sortable column: its SQL expression (never NULL: coalesce nullable
    ones) and the kind of its values (``str``, ``int``, ``datetime``, ``date``)."""

    expr: Any  # a column or an SQL expression
    kind: str


@dataclass(frozen=True)
class Sort:
    key: str
    descending: bool = False

    @property
    def param(self) -> str:
        """``-created`` for created, newest first; ``name`` for A to Z."""
        return ("-" if self.descending else "") + self.key


@dataclass(frozen=True)
class ListRequest:
    sort: Sort
    limit: int = 50
    cursor: str | None = None


@dataclass
class ListPage(Generic[T]):
    items: list[T]
    total: int  # rows matching the filters, on every page (at most COUNT_CAP)
    next_cursor: str | None
    sort: Sort
    more: bool = False  # more than ``total`` rows match (the count stopped at COUNT_CAP)


def parse_sort(text: str | None, columns: Mapping[str, Column], default: Sort) -> Sort:
    """``?sort=name`` or ``?sort=-created``: only the list's own columns."""
    if not text:
        return default
    key = text.removeprefix("-")
    if key not in columns:
        allowed = ", ".join(sorted(columns))
        raise ValidationFailed({"sort": [f"Sort by one of: {allowed}."]})
    return Sort(key, text.startswith("-"))


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _decode_value(value: Any, kind: str) -> Any:
    if kind == "datetime":
        return datetime.fromisoformat(value)
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError
        return value
    if not isinstance(value, str):
        raise ValueError
    return value


def encode_cursor(sort: Sort, value: Any, row_id: int) -> str:
    return b64u(json.dumps([sort.param, _encode_value(value), row_id]).encode())


def decode_cursor(cursor: str, sort: Sort, column: Column) -> tuple[Any, int]:
    try:
        param, value, row_id = json.loads(b64u_decode(cursor))
        if param != sort.param or not isinstance(row_id, int):
            raise ValueError
        return _decode_value(value, column.kind), row_id
    except (ValueError, TypeError, UnicodeDecodeError):
        raise ValidationFailed(
            {"cursor": ["Not a cursor of this list and order; start from the first page."]}
        ) from None


def _after(column: Column, id_col: Any, sort: Sort, value: Any, row_id: int) -> Any:
    if sort.descending:
        return or_(column.expr < value, and_(column.expr == value, id_col < row_id))
    return or_(column.expr > value, and_(column.expr == value, id_col > row_id))


def _ordered(query: Select[Any], column: Column, id_col: Any, sort: Sort) -> Select[Any]:
    if sort.descending:
        return query.order_by(column.expr.desc(), id_col.desc())
    return query.order_by(column.expr.asc(), id_col.asc())


def _keyed(query: Select[Any], column: Column, id_col: Any) -> Select[Any]:
    """The rows with their sort key beside them (for the next cursor)."""
    return query.add_columns(column.expr.label("_sort_key"), id_col.label("_sort_id"))


def count(session: Session, query: Select[Any], cap: int | None = None) -> int:
    """The rows of ``query``; with ``cap``, at most ``cap + 1`` (counting stops there)."""
    q = query.order_by(None)
    if cap is not None:
        q = q.limit(cap + 1)
    sub = q.subquery()
    return int(session.scalar(select(func.count()).select_from(sub)) or 0)


def fetch_page(
    session: Session,
    query: Select[Any],
    columns: Mapping[str, Column],
    id_col: Any,
    req: ListRequest,
) -> ListPage[Any]:
    """One page of ``query`` (which selects one entity) in ``req.sort``'s order."""
    limit = max(1, min(req.limit, MAX_LIMIT))
    items, next_cursor = fetch_rows(session, query, columns, id_col, req.sort, req.cursor, limit)
    total = count(session, query, COUNT_CAP)
    more = total > COUNT_CAP
    return ListPage(items, min(total, COUNT_CAP), next_cursor, req.sort, more)


def stream(
    session: Session,
    query: Select[Any],
    columns: Mapping[str, Column],
    id_col: Any,
    sort: Sort,
    batch: int = EXPORT_BATCH,
) -> Iterator[Any]:
    """Every row of ``query`` in ``sort``'s order, read ``batch`` at a time
    (the pages of the list, joined: the export is exactly what is listed)."""
    cursor: str | None = None
    while True:
        page = fetch_rows(session, query, columns, id_col, sort, cursor, batch)
        yield from page[0]
        cursor = page[1]
        if cursor is None:
            return


def fetch_rows(
    session: Session,
    query: Select[Any],
    columns: Mapping[str, Column],
    id_col: Any,
    sort: Sort,
    cursor: str | None,
    limit: int,
) -> tuple[list[Any], str | None]:
    """``fetch_page`` without the count."""
    column = columns[sort.key]
    q = query
    if cursor:
        value, row_id = decode_cursor(cursor, sort, column)
        q = q.where(_after(column, id_col, sort, value, row_id))
    width = len(query.column_descriptions)
    q = _ordered(_keyed(q, column, id_col), column, id_col, sort).limit(limit + 1)
    rows = list(session.execute(q).unique().all())
    cursor_out = None
    if len(rows) > limit:
        rows = rows[:limit]
        cursor_out = encode_cursor(sort, rows[-1]._sort_key, rows[-1]._sort_id)
    # One entity: the entities; more: the rows, less the sort key columns.
    items = [r[0] if width == 1 else tuple(r[:width]) for r in rows]
    return items, cursor_out


def like(text: str) -> str:
    """A case-insensitive part match for ``func.lower(col).like(..., escape="\\\\")``."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def json_text(value: Any) -> str:
    """A JSON value as one CSV cell: compact, keys in order."""
    if not value:
        return ""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
