"""Activation history in the portal: every event of the account's licences
(and the account's company-password refusals), filtered, newest first, a
page at a time or all of it as CSV."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from licserver.domain import portal as rules
from licserver.domain.portal import Principal
from licserver.models import Event, License
from licserver.services import pagination
from licserver.services.context import Context

# The kinds a filter offers (others may exist; "all" shows them too).
KINDS = (
    "activation.created",
    "activation.reused",
    "activation.refused",
    "activation.checked_in",
    "activation.checkin_refused",
    "activation.deactivated",
    "validation.refused",
    "license.created",
    "license.updated",
    "license.suspended",
    "license.reinstated",
    "license.revoked",
    "license.key_reissued",
    "license.password_regenerated",
    "license.secrets_revealed",
)


@dataclass(frozen=True)
class Filters:
    license: str | None = None  # public id
    machine_name: str | None = None  # part of it, any case
    installation_id: str | None = None  # exact
    kind: str | None = None
    since: date | None = None  # from this day (UTC), inclusive
    until: date | None = None  # to this day (UTC), inclusive


@dataclass(frozen=True)
class Row:
    event: Event
    license_id: str | None  # public id


def _query(session: Session, principal: Principal, f: Filters) -> Select[Any]:
    rules.check(principal, rules.VIEW)
    q = select(Event).where(Event.customer_id == principal.customer_id)
    if principal.licenses is not None:
        q = q.where(Event.license_id.in_(principal.licenses))
    if f.license:
        lic_id = session.scalar(
            select(License.id).where(
                License.public_id == f.license, License.customer_id == principal.customer_id
            )
        )
        q = q.where(Event.license_id == (lic_id if lic_id is not None else -1))
    if f.machine_name:
        q = q.where(
            func.lower(Event.machine_name).contains(f.machine_name.lower(), autoescape=True)
        )
    if f.installation_id:
        q = q.where(Event.installation_id == f.installation_id)
    if f.kind:
        q = q.where(Event.kind == f.kind)
    if f.since:
        q = q.where(Event.at >= datetime.combine(f.since, time.min).replace(tzinfo=UTC))
    if f.until:
        end = datetime.combine(f.until + timedelta(days=1), time.min).replace(tzinfo=UTC)
        q = q.where(Event.at < end)
    return q


def _with_ids(session: Session, events: Sequence[Event]) -> list[Row]:
    ids = {e.license_id for e in events if e.license_id is not None}
    names: dict[int, str] = {}
    if ids:
        rows = session.execute(select(License.id, License.public_id).where(License.id.in_(ids)))
        names = {int(r[0]): str(r[1]) for r in rows}
    return [Row(e, names.get(e.license_id) if e.license_id else None) for e in events]


def page(
    ctx: Context, principal: Principal, f: Filters, *, limit: int, cursor: str | None
) -> tuple[list[Row], str | None]:
    session = ctx.session
    rows, next_cursor = pagination.page(
        session, _query(session, principal, f), Event.id, limit, cursor, descending=True
    )
    return _with_ids(session, rows), next_cursor


def all_rows(ctx: Context, principal: Principal, f: Filters, chunk: int = 500) -> Iterator[Row]:
    """Every matching event, newest first, read a chunk at a time."""
    session = ctx.session
    q = _query(session, principal, f)
    cursor: str | None = None
    while True:
        rows, cursor = pagination.page(session, q, Event.id, chunk, cursor, descending=True)
        yield from _with_ids(session, rows)
        if cursor is None:
            return
