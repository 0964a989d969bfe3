"""Delivery: due deliveries claimed, POSTed and their results written back.

``deliver`` (``licserver webhooks deliver``) is one pass of the worker: fan-out
(``fanout``), then claim and send. Nothing here runs on the request path of the
client API: an activation writes its event row and nothing else.

- **Claim.** In a short transaction, due deliveries are taken with FOR UPDATE
  SKIP LOCKED (PostgreSQL) or under SQLite's write lock, and marked with a
  claim and a lease (their next attempt moved ahead), then committed. Two
  workers never take the same row; a worker that dies only delays its rows
  until the lease runs out.
- **Send.** Each claimed delivery is POSTed with no transaction open (the
  database is never locked while waiting for a receiver) through
  ``licserver.outbound``, and the result written back in another short
  transaction: delivered, or the next attempt per
  :data:`licserver.domain.webhooks.RETRY_SCHEDULE`, or failed.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from licserver.crypto import Box
from licserver.database import begin_write, is_postgres
from licserver.domain import webhooks as rules
from licserver.domain.errors import Conflict, NotFound
from licserver.models.webhook import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from licserver.outbound import Outcome, post
from licserver.services.context import Context
from licserver.services.settings import CLAIM_BATCH
from licserver.services.settings import WebhookSettings as Settings
from licserver.services.webhooks.endpoints import SECRET_PURPOSE, get, get_delivery
from licserver.services.webhooks.fanout import fan_out
from licserver.services.webhooks.payloads import ping_body

USER_AGENT = "licserver-webhooks/1"


@dataclass
class PassResult:
    """What one ``deliver`` pass did."""

    queued: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0

    @property
    def attempted(self) -> int:
        return self.delivered + self.retrying + self.failed


@dataclass
class _Job:
    id: int
    url: str
    secret: str
    kind: str
    event_id: int | None
    payload: str
    attempts: int
    max_attempts: int
    status: str
    token: str


def _due(now: datetime, delivery_id: int | None) -> Select[int]:
    """The ids of the deliveries due now (or of the one given, by hand)."""
    query = select(WebhookDelivery.id).join(
        WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id
    )
    if delivery_id is None:
        return (
            query.where(
                WebhookDelivery.status == "pending",
                WebhookDelivery.next_attempt_at <= now,
                WebhookEndpoint.enabled.is_(True),
            )
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(CLAIM_BATCH)
        )
    # by hand (retry now, ping): whatever its schedule, unless a worker has it
    return query.where(
        WebhookDelivery.id == delivery_id,
        (WebhookDelivery.claim.is_(None)) | (WebhookDelivery.next_attempt_at <= now),
    )


def _claim(
    session: Session,
    box: Box,
    settings: Settings,
    now: datetime,
    *,
    delivery_id: int | None = None,
) -> list[_Job]:
    """Take due deliveries (or the one given) for this worker, under a lease."""
    begin_write(session)
    query = _due(now, delivery_id)
    if is_postgres(session):
        query = query.with_for_update(skip_locked=True, of=WebhookDelivery)
    ids = list(session.scalars(query))
    if not ids:
        session.commit()
        return []
    token = secrets.token_hex(8)
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id.in_(ids))
        .values(claim=token, next_attempt_at=now + settings.lease)
    )
    rows = session.execute(
        select(WebhookDelivery, WebhookEndpoint.url, WebhookEndpoint.secret_enc)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookDelivery.id.in_(ids))
        .order_by(WebhookDelivery.id)
    ).all()
    jobs = [
        _Job(
            id=d.id,
            url=url,
            secret=box.open(secret_enc, SECRET_PURPOSE),
            kind=d.kind,
            event_id=d.event_id,
            payload=d.payload,
            attempts=d.attempts,
            max_attempts=d.max_attempts,
            status=d.status,
            token=token,
        )
        for d, url, secret_enc in rows
    ]
    session.commit()
    return jobs


def _record(
    session: Session, job: _Job, outcome: Outcome, at: datetime, *, by_hand: bool = False
) -> str:
    """Write an attempt's result; the delivery's status after it."""
    number = job.attempts + 1
    next_at: datetime | None = None
    if outcome.ok:
        status = "delivered"
    elif job.status == "failed" and by_hand:
        status = "failed"  # a retry by hand of a given-up delivery does not restart the schedule
    else:
        delay = rules.retry_delay(number) if number < job.max_attempts else None
        status = "pending" if delay is not None else "failed"
        if delay is not None:
            next_at = at + timedelta(seconds=delay)
    begin_write(session)
    changed = session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == job.id, WebhookDelivery.claim == job.token)
        .values(
            status=status,
            attempts=number,
            claim=None,
            next_attempt_at=next_at,
            last_attempt_at=at,
            last_status_code=outcome.status_code,
            last_error=outcome.error,
            last_duration_ms=outcome.duration_ms,
            delivered_at=at if outcome.ok else None,
        )
    )
    exists = (
        changed.rowcount > 0  # type: ignore[attr-defined]
        or session.get(WebhookDelivery, job.id) is not None
    )
    if exists:
        session.add(
            WebhookAttempt(
                delivery_id=job.id,
                number=number,
                at=at,
                status_code=outcome.status_code,
                error=outcome.error,
                duration_ms=outcome.duration_ms,
                response_excerpt=outcome.excerpt,
            )
        )
    try:
        session.commit()
    except IntegrityError:  # the endpoint was deleted meanwhile
        session.rollback()
    return status


def _send(job: _Job, settings: Settings, now: datetime) -> Outcome:
    body = job.payload.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        rules.SIGNATURE_HEADER: rules.signature_header(job.secret, int(now.timestamp()), body),
        "Licserver-Event": job.kind,
        "Licserver-Delivery": str(job.id),
    }
    if job.event_id is not None:
        headers["Licserver-Event-Id"] = str(job.event_id)
    return post(job.url, body, headers, settings.timeout, settings.allow_private)


def deliver(
    ctx: Context,
    *,
    limit: int = 1000,
    stop: Callable[[], bool] = lambda: False,
) -> PassResult:
    """One pass: queue new events, then send what is due (at most ``limit``).
    ``stop`` is asked between batches: a worker asked to end finishes its batch."""
    session = ctx.session
    box = ctx.box
    settings, clock = ctx.settings.webhooks, ctx.clock
    result = PassResult(queued=fan_out(ctx, clock()))
    while result.attempted < limit and not stop():
        jobs = _claim(session, box, settings, clock())
        if not jobs:
            break
        for job in jobs:
            outcome = _send(job, settings, clock())
            status = _record(session, job, outcome, clock())
            if status == "delivered":
                result.delivered += 1
            elif status == "pending":
                result.retrying += 1
            else:
                result.failed += 1
    return result


def _attempt_now(
    session: Session, box: Box, settings: Settings, delivery_id: int, now: datetime
) -> WebhookDelivery:
    jobs = _claim(session, box, settings, now, delivery_id=delivery_id)
    if not jobs:
        raise Conflict("A worker is sending this delivery right now; look again in a moment.")
    job = jobs[0]
    outcome = _send(job, settings, now)
    _record(session, job, outcome, now, by_hand=True)
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None:
        raise NotFound(f"No delivery {delivery_id}.")
    return delivery


def send_ping(ctx: Context, public_id: str) -> WebhookDelivery:
    """Send a ``ping`` to the endpoint now, once (no retries), and log it like
    any delivery. Works on a disabled endpoint too: check it before enabling."""
    session = ctx.session
    box = ctx.box
    settings = ctx.settings.webhooks
    now = ctx.clock()
    begin_write(session)
    endpoint = get(ctx, public_id)
    delivery = WebhookDelivery(
        endpoint_id=endpoint.id,
        event_id=None,
        kind=rules.PING,
        payload=ping_body(endpoint, now),
        status="pending",
        attempts=0,
        max_attempts=1,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(delivery)
    session.commit()
    return _attempt_now(session, box, settings, delivery.id, now)


def retry_now(ctx: Context, public_id: str, delivery_id: int) -> WebhookDelivery:
    """Attempt a pending or failed delivery at once. A failed one stays failed
    if this attempt fails too; a pending one keeps its schedule."""
    session = ctx.session
    box = ctx.box
    settings = ctx.settings.webhooks
    delivery = get_delivery(ctx, public_id, delivery_id)
    if delivery.status == "delivered":
        session.commit()
        raise Conflict("This delivery has already been delivered.")
    session.commit()
    return _attempt_now(session, box, settings, delivery_id, ctx.clock())
