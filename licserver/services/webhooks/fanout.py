"""Fan-out: a delivery row for every new event each enabled endpoint subscribes to.

Event ids come from a sequence, and on PostgreSQL a transaction holding id 100
may commit after one holding 101, so an endpoint's cursor only moves past events
older than the safety window (``WebhookSettings.safety_window``); newer ones are
read again on the next pass, and the unique (endpoint, event) constraint makes
each a delivery once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from licserver.database import begin_write, is_postgres
from licserver.domain import webhooks as rules
from licserver.models.customer import Customer
from licserver.models.event import Event
from licserver.models.license import License
from licserver.models.product import Product
from licserver.models.webhook import WebhookDelivery, WebhookEndpoint
from licserver.services.context import Context
from licserver.services.webhooks.payloads import event_body

FAN_OUT_BATCH = 500

# The events after an id, with what their bodies name (licence, product, customer).
_EVENTS_AFTER = (
    select(
        Event.id,
        Event.at,
        Event.kind,
        Event.activation_id,
        Event.installation_id,
        Event.machine_name,
        Event.actor_type,
        Event.actor_id,
        Event.ip,
        Event.reason,
        Event.data,
        License.public_id.label("license_public_id"),
        Product.code.label("product_code"),
        Customer.number.label("customer_number"),
    )
    .outerjoin(License, License.id == Event.license_id)
    .outerjoin(Product, Product.id == License.product_id)
    .outerjoin(Customer, Customer.id == Event.customer_id)
    .order_by(Event.id)
    .limit(FAN_OUT_BATCH)
)


@dataclass
class _Endpoint:
    """One enabled endpoint's pass: where it was, and how far it may move."""

    id: int
    patterns: list[str]
    include_ip: bool
    start: int  # its cursor as stored
    cursor: int  # past every settled event seen so far
    settled: bool = True  # no unsettled event seen yet


def fan_out(ctx: Context, now: datetime) -> int:
    """Add a delivery for every new event each enabled endpoint subscribes to;
    the number added."""
    session = ctx.session
    endpoints = session.execute(
        select(
            WebhookEndpoint.id,
            WebhookEndpoint.events,
            WebhookEndpoint.event_cursor,
            WebhookEndpoint.include_ip,
        ).where(WebhookEndpoint.enabled.is_(True))
    ).all()
    session.commit()
    settled_before = now - timedelta(seconds=ctx.settings.webhooks.safety_window)
    added = 0
    for endpoint_id, patterns, start, include_ip in endpoints:
        endpoint = _Endpoint(endpoint_id, patterns, include_ip, start, start)
        added += _fan_out_one(session, endpoint, now, settled_before)
    return added


def _fan_out_one(
    session: Session, endpoint: _Endpoint, now: datetime, settled_before: datetime
) -> int:
    """One endpoint's new deliveries, batch by batch; the number added."""
    added = 0
    position = endpoint.start
    while True:
        rows = session.execute(_EVENTS_AFTER.where(Event.id > position)).all()
        if not rows:
            session.commit()
            break
        last = rows[-1].id
        known = _known(session, endpoint.id, position, last)
        session.commit()
        new = _new_deliveries(endpoint, rows, known, now, settled_before)
        if new or endpoint.cursor > endpoint.start:
            if not _queue(session, endpoint, new):
                break
            added += len(new)
            endpoint.start = endpoint.cursor
        position = last
        if len(rows) < FAN_OUT_BATCH:
            break
    return added


def _known(session: Session, endpoint_id: int, after: int, last: int) -> set[int]:
    """The events in (after, last] the endpoint already has deliveries for."""
    return set(
        session.scalars(
            select(WebhookDelivery.event_id).where(
                WebhookDelivery.endpoint_id == endpoint_id,
                WebhookDelivery.event_id > after,
                WebhookDelivery.event_id <= last,
            )
        )
    )


def _new_deliveries(
    endpoint: _Endpoint,
    rows: Sequence[Any],
    known: set[int],
    now: datetime,
    settled_before: datetime,
) -> list[dict[str, Any]]:
    """The delivery rows for the subscribed events of ``rows`` not yet known;
    moves the endpoint's cursor past the settled ones."""
    new: list[dict[str, Any]] = []
    for row in rows:
        if endpoint.settled and row.at < settled_before:
            endpoint.cursor = row.id
        else:
            endpoint.settled = False  # later ids may still be joined by earlier ones
        if row.id not in known and rules.matches(endpoint.patterns, row.kind):
            new.append(
                {
                    "endpoint_id": endpoint.id,
                    "event_id": row.id,
                    "kind": row.kind,
                    "payload": event_body(row, endpoint.include_ip),
                    "status": "pending",
                    "attempts": 0,
                    "max_attempts": rules.MAX_ATTEMPTS,
                    "next_attempt_at": now,
                    "created_at": now,
                }
            )
    return new


def _queue(session: Session, endpoint: _Endpoint, new: list[dict[str, Any]]) -> bool:
    """Insert ``new`` and move the endpoint's cursor, in one write; False (nothing
    written) when the endpoint was deleted or disabled meanwhile."""
    begin_write(session)
    # still there and enabled? (held until commit: no delete or disable slips in between)
    still = select(WebhookEndpoint.id).where(
        WebhookEndpoint.id == endpoint.id, WebhookEndpoint.enabled.is_(True)
    )
    if is_postgres(session):
        still = still.with_for_update()
    if session.scalar(still) is None:
        session.rollback()
        return False
    if new:
        insert = pg_insert if is_postgres(session) else sqlite_insert
        stmt = insert(WebhookDelivery).on_conflict_do_nothing(
            index_elements=["endpoint_id", "event_id"]
        )
        session.execute(stmt, new)
    session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint.id, WebhookEndpoint.event_cursor < endpoint.cursor)
        .values(event_cursor=endpoint.cursor)
    )
    session.commit()
    return True
