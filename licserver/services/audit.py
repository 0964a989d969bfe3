"""The audit log: every change made by staff in the console and by admin API
tokens, across the server (events with actor type ``admin``, with or without
a licence: ``license.*``, ``admin_token.*``, ``staff.*``, ``release.*``...).
Read-only; pages and the CSV export share ``services.listing``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, func, select

from licserver.domain.errors import ValidationFailed
from licserver.models import Customer, Event, License
from licserver.services import listing
from licserver.services.context import Context
from licserver.services.listing import Column, ListPage, ListRequest, Sort

ACTOR_TYPE = "admin"
COLUMNS = {"at": Column(Event.at, "datetime")}
NEWEST_FIRST = Sort("at", descending=True)
HEADERS = ("at", "kind", "actor", "ip", "license_id", "customer_number", "reason", "data")


@dataclass(frozen=True)
class AuditFilters:
    actor: str = ""  # a part of the actor id: staff:ann@…, a token's id
    kind: str = ""  # an event kind, or a family ending in "." (``license.``)
    since: date | None = None  # from the start of this day (UTC)
    until: date | None = None  # through the end of this day (UTC)


@dataclass(frozen=True)
class AuditRow:
    event: Event
    license_id: str | None
    customer_number: str | None


def _query(f: AuditFilters) -> Select[Any]:
    base: Any = select(Event, License.public_id, Customer.number)
    q: Select[Any] = (
        base.outerjoin(License, License.id == Event.license_id)
        .outerjoin(Customer, Customer.id == Event.customer_id)
        .where(Event.actor_type == ACTOR_TYPE)
    )
    if f.actor:
        q = q.where(func.lower(Event.actor_id).like(listing.like(f.actor.strip()), escape="\\"))
    if f.kind:
        kind = f.kind.strip()
        if kind.endswith("."):
            q = q.where(Event.kind.startswith(kind, autoescape=True))
        else:
            q = q.where(Event.kind == kind)
    if f.since and f.until and f.since > f.until:
        raise ValidationFailed({"until": ["The end date is before the start date."]})
    if f.since:
        q = q.where(Event.at >= datetime.combine(f.since, time(0), tzinfo=UTC))
    if f.until:
        q = q.where(Event.at < datetime.combine(f.until + timedelta(days=1), time(0), tzinfo=UTC))
    return q


def _row(item: tuple[Event, str | None, str | None]) -> AuditRow:
    return AuditRow(*item)


def page(ctx: Context, filters: AuditFilters, cursor: str | None, limit: int) -> ListPage[AuditRow]:
    found = listing.fetch_page(
        ctx.session, _query(filters), COLUMNS, Event.id, ListRequest(NEWEST_FIRST, limit, cursor)
    )
    return ListPage(
        [_row(i) for i in found.items], found.total, found.next_cursor, found.sort, found.more
    )


def kinds(ctx: Context) -> list[str]:
    """The kinds of event staff and tokens have made (for the filter's choices)."""
    rows = ctx.session.scalars(
        select(Event.kind).where(Event.actor_type == ACTOR_TYPE).distinct().order_by(Event.kind)
    )
    return list(rows)


def export(ctx: Context, filters: AuditFilters) -> Iterator[list[Any]]:
    """Every matching event, newest first, as CSV cells (the header first).
    The filters are checked now, not once the download has started
    (console_lists.export says why)."""
    return _export_rows(ctx, _query(filters))


def _export_rows(ctx: Context, query: Select[Any]) -> Iterator[list[Any]]:
    yield list(HEADERS)
    rows = listing.stream(ctx.session, query, COLUMNS, Event.id, NEWEST_FIRST)
    for item in rows:
        r = _row(item)
        e = r.event
        yield [
            e.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            e.kind,
            e.actor_id or "",
            e.ip or "",
            r.license_id or "",
            r.customer_number or "",
            e.reason or "",
            listing.json_text(e.data),
        ]
