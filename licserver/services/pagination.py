"""Keyset pagination over an increasing integer key: ``?limit=&cursor=``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute, Session

from licserver.crypto import b64u, b64u_decode
from licserver.domain.errors import ValidationFailed

T = TypeVar("T")


def decode_cursor(cursor: str | None) -> int | None:
    if cursor is None or cursor == "":
        return None
    try:
        text = b64u_decode(cursor).decode("ascii")
        if not text.startswith("k") or not text[1:].isdigit():
            raise ValueError
        return int(text[1:])
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed({"cursor": ["Not a cursor this server gave."]}) from None


def encode_cursor(key: int) -> str:
    return b64u(f"k{key}".encode())


def page(
    session: Session,
    query: Select[Any],
    key: InstrumentedAttribute[int],
    limit: int,
    cursor: str | None,
    descending: bool = False,
) -> tuple[Sequence[Any], str | None]:
    """One page of ``query`` ordered by ``key``; the cursor resumes after its last row."""
    after = decode_cursor(cursor)
    if after is not None:
        query = query.where(key < after if descending else key > after)
    query = query.order_by(key.desc() if descending else key.asc()).limit(limit + 1)
    rows = list(session.scalars(query).unique().all())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(getattr(rows[-1], key.key))
    return rows, next_cursor


@dataclass(frozen=True)
class PageRequest:
    """``?limit=&cursor=`` of a list."""

    limit: int
    cursor: str | None = None


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list and the cursor of the next (None: the last page)."""

    items: list[T]
    next_cursor: str | None


def fetch(
    session: Session,
    query: Select[Any],
    key: InstrumentedAttribute[int],
    req: PageRequest,
    descending: bool = False,
) -> Page[Any]:
    rows, cursor = page(session, query, key, req.limit, req.cursor, descending)
    return Page(list(rows), cursor)
