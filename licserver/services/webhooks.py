"""Webhooks: endpoints staff register, and the worker that sends them events.

Nothing here runs on the request path of the client API: an activation writes
its event row and nothing else. ``deliver`` (``licserver webhooks deliver``)
does the rest, out of band, in three steps:

1. **Fan-out.** For each enabled endpoint it reads the events after the
   endpoint's cursor and adds a delivery row for each one the endpoint
   subscribes to. Event ids come from a sequence, and on PostgreSQL a
   transaction holding id 100 may commit after one holding 101, so the cursor
   only moves past events older than the safety window (60 s); newer ones are
   read again on the next pass, and the unique (endpoint, event) constraint
   makes each a delivery once. An event whose transaction stays open longer
   than the window may be missed: no service holds one that long.
2. **Claim.** In a short transaction, due deliveries are taken with FOR UPDATE
   SKIP LOCKED (PostgreSQL) or under SQLite's write lock, and marked with a
   claim and a lease (their next attempt moved ahead), then committed. Two
   workers never take the same row; a worker that dies only delays its rows
   until the lease runs out.
3. **Send.** Each claimed delivery is POSTed with no transaction open (the
   database is never locked while waiting for a receiver), and the result
   written back in another short transaction: delivered, or the next attempt
   per :data:`licserver.domain.webhooks.RETRY_SCHEDULE`, or failed.
"""

from __future__ import annotations

import http.client
import json
import secrets
import socket
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from licserver.crypto import Box
from licserver.database import begin_write, is_postgres
from licserver.domain import webhooks as rules
from licserver.domain.errors import Conflict, NotFound, ValidationFailed
from licserver.models.customer import Customer
from licserver.models.event import Event
from licserver.models.license import License
from licserver.models.product import Product
from licserver.models.webhook import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from licserver.services import pagination
from licserver.services.context import Context
from licserver.services.settings import CLAIM_BATCH
from licserver.services.settings import WebhookSettings as Settings

SECRET_PURPOSE = "webhook_secret"
USER_AGENT = "licserver-webhooks/1"
FAN_OUT_BATCH = 500
MAX_RESPONSE_BYTES = 4096
EXCERPT_CHARS = 500
STATUSES = ("pending", "delivered", "failed")

Clock = Callable[[], datetime]


# ---- endpoints --------------------------------------------------------------------


def _check(url: str | None, events: Sequence[str] | None, allow_private: bool) -> None:
    errors: dict[str, list[str]] = {}
    if url is not None:
        problem = rules.url_error(url, allow_private)
        if problem:
            errors["url"] = [problem]
    if events is not None:
        if not events:
            errors["events"] = [
                "Subscribe to at least one kind, a prefix such as 'activation.*', or '*'."
            ]
        else:
            found = [p for p in (rules.pattern_error(e) for e in events) if p]
            if found:
                errors["events"] = found
    if errors:
        raise ValidationFailed(errors)


def _max_event_id(session: Session) -> int:
    return int(session.scalar(select(func.coalesce(func.max(Event.id), 0))) or 0)


def create(
    ctx: Context,
    *,
    url: str,
    events: Sequence[str],
    description: str | None = None,
    enabled: bool = True,
    include_ip: bool = False,
) -> tuple[WebhookEndpoint, str]:
    """The new endpoint and its signing secret (shown this once; kept encrypted).
    It is sent the events recorded from now on."""
    session = ctx.session
    box = ctx.box
    _check(url, events, ctx.settings.webhooks.allow_private)
    secret = rules.new_secret()
    begin_write(session)
    endpoint = WebhookEndpoint(
        public_id=rules.new_webhook_id(),
        url=url,
        description=description or None,
        events=rules.normalise_patterns(events),
        secret_enc=box.seal(secret, SECRET_PURPOSE),
        enabled=enabled,
        include_ip=include_ip,
        event_cursor=_max_event_id(session),
    )
    session.add(endpoint)
    session.commit()
    return endpoint, secret


def get(ctx: Context, public_id: str) -> WebhookEndpoint:
    session = ctx.session
    endpoint = session.scalars(
        select(WebhookEndpoint).where(WebhookEndpoint.public_id == public_id)
    ).first()
    if endpoint is None:
        raise NotFound(f"No webhook endpoint with id '{public_id}'.")
    return endpoint


def page(
    ctx: Context, limit: int, cursor: str | None
) -> tuple[Sequence[WebhookEndpoint], str | None]:
    """Endpoints, oldest first."""
    session = ctx.session
    return pagination.page(session, select(WebhookEndpoint), WebhookEndpoint.id, limit, cursor)


def update_endpoint(ctx: Context, public_id: str, changes: Mapping[str, Any]) -> WebhookEndpoint:
    """Change ``url``, ``events``, ``description``, ``enabled``, ``include_ip``.
    An endpoint that is enabled again is sent the events from then on, not
    those recorded while it was disabled."""
    session = ctx.session
    _check(changes.get("url"), changes.get("events"), ctx.settings.webhooks.allow_private)
    begin_write(session)
    endpoint = get(ctx, public_id)
    if "url" in changes:
        endpoint.url = changes["url"]
    if "events" in changes:
        endpoint.events = rules.normalise_patterns(changes["events"])
    if "description" in changes:
        endpoint.description = changes["description"] or None
    if "include_ip" in changes:
        endpoint.include_ip = bool(changes["include_ip"])
    if "enabled" in changes:
        enable = bool(changes["enabled"])
        if enable and not endpoint.enabled:
            endpoint.event_cursor = max(endpoint.event_cursor, _max_event_id(session))
        endpoint.enabled = enable
    session.commit()
    return endpoint


def delete_endpoint(ctx: Context, public_id: str) -> None:
    """Remove the endpoint with its deliveries and their log."""
    session = ctx.session
    begin_write(session)
    endpoint = get(ctx, public_id)
    deliveries = select(WebhookDelivery.id).where(WebhookDelivery.endpoint_id == endpoint.id)
    session.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(deliveries)))
    session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
    session.execute(delete(WebhookEndpoint).where(WebhookEndpoint.id == endpoint.id))
    session.commit()


def secret_of(box: Box, endpoint: WebhookEndpoint) -> str:
    return box.open(endpoint.secret_enc, SECRET_PURPOSE)


def rotate_secret(ctx: Context, public_id: str) -> tuple[WebhookEndpoint, str]:
    """A new signing secret (shown this once); the old one stops being used at once."""
    session = ctx.session
    box = ctx.box
    begin_write(session)
    endpoint = get(ctx, public_id)
    secret = rules.new_secret()
    endpoint.secret_enc = box.seal(secret, SECRET_PURPOSE)
    session.commit()
    return endpoint, secret


# ---- deliveries: reading ------------------------------------------------------------


def deliveries_page(
    ctx: Context,
    public_id: str,
    limit: int,
    cursor: str | None,
    status: str | None = None,
) -> tuple[Sequence[WebhookDelivery], str | None, dict[int, list[WebhookAttempt]]]:
    """An endpoint's deliveries, newest first, with the log of their attempts."""
    session = ctx.session
    endpoint = get(ctx, public_id)
    query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    rows, next_cursor = pagination.page(
        session, query, WebhookDelivery.id, limit, cursor, descending=True
    )
    return rows, next_cursor, attempts_of(ctx, [d.id for d in rows])


def attempts_of(ctx: Context, delivery_ids: Sequence[int]) -> dict[int, list[WebhookAttempt]]:
    session = ctx.session
    out: dict[int, list[WebhookAttempt]] = {i: [] for i in delivery_ids}
    if delivery_ids:
        for a in session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_(delivery_ids))
            .order_by(WebhookAttempt.id)
        ):
            out[a.delivery_id].append(a)
    return out


def status_counts(ctx: Context, endpoint_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Per endpoint, how many of its deliveries are pending, delivered, failed."""
    session = ctx.session
    out: dict[int, dict[str, int]] = {i: {} for i in endpoint_ids}
    if endpoint_ids:
        for endpoint_id, status, count in session.execute(
            select(WebhookDelivery.endpoint_id, WebhookDelivery.status, func.count())
            .where(WebhookDelivery.endpoint_id.in_(endpoint_ids))
            .group_by(WebhookDelivery.endpoint_id, WebhookDelivery.status)
        ):
            out[endpoint_id][status] = int(count)
    return out


def get_delivery(ctx: Context, public_id: str, delivery_id: int) -> WebhookDelivery:
    session = ctx.session
    endpoint = get(ctx, public_id)
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.endpoint_id != endpoint.id:
        raise NotFound(f"No delivery {delivery_id} for webhook endpoint '{public_id}'.")
    return delivery


# ---- payloads ---------------------------------------------------------------------------


def _rfc3339(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _dumps(body: Mapping[str, Any]) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def event_body(row: Any, include_ip: bool) -> str:
    """The JSON body of an event delivery (README, "Webhooks")."""
    data: dict[str, Any] = {
        "license_id": row.license_public_id,
        "product": row.product_code,
        "customer": row.customer_number,
        "activation_id": row.activation_id,
        "installation_id": row.installation_id,
        "machine_name": row.machine_name,
        "actor": {"type": row.actor_type, "id": row.actor_id},
        "reason": row.reason,
        "data": row.data or {},
    }
    if include_ip:
        data["ip"] = row.ip
    return _dumps({"id": row.id, "type": row.kind, "created_at": _rfc3339(row.at), "data": data})


def ping_body(endpoint: WebhookEndpoint, now: datetime) -> str:
    return _dumps(
        {
            "id": None,
            "type": rules.PING,
            "created_at": _rfc3339(now),
            "data": {"webhook_id": endpoint.public_id, "url": endpoint.url},
        }
    )


# ---- deliveries: the worker ------------------------------------------------------------


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


def _insert(session: Session) -> Any:
    return pg_insert if is_postgres(session) else sqlite_insert


def fan_out(ctx: Context, now: datetime) -> int:
    """Add a delivery for every new event each enabled endpoint subscribes to;
    the number added."""
    session = ctx.session
    settings = ctx.settings.webhooks
    endpoints = session.execute(
        select(
            WebhookEndpoint.id,
            WebhookEndpoint.events,
            WebhookEndpoint.event_cursor,
            WebhookEndpoint.include_ip,
        ).where(WebhookEndpoint.enabled.is_(True))
    ).all()
    session.commit()
    settled_before = now - timedelta(seconds=settings.safety_window)
    added = 0
    for endpoint_id, patterns, start, include_ip in endpoints:
        position = cursor = start
        settled = True
        while True:
            rows = session.execute(
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
                .where(Event.id > position)
                .order_by(Event.id)
                .limit(FAN_OUT_BATCH)
            ).all()
            if not rows:
                session.commit()
                break
            last = rows[-1].id
            known = set(
                session.scalars(
                    select(WebhookDelivery.event_id).where(
                        WebhookDelivery.endpoint_id == endpoint_id,
                        WebhookDelivery.event_id > position,
                        WebhookDelivery.event_id <= last,
                    )
                )
            )
            session.commit()
            new: list[dict[str, Any]] = []
            for row in rows:
                if settled and row.at < settled_before:
                    cursor = row.id
                else:
                    settled = False  # later ids may still be joined by earlier ones
                if row.id not in known and rules.matches(patterns, row.kind):
                    new.append(
                        {
                            "endpoint_id": endpoint_id,
                            "event_id": row.id,
                            "kind": row.kind,
                            "payload": event_body(row, include_ip),
                            "status": "pending",
                            "attempts": 0,
                            "max_attempts": rules.MAX_ATTEMPTS,
                            "next_attempt_at": now,
                            "created_at": now,
                        }
                    )
            if new or cursor > start:
                begin_write(session)
                # still there and enabled? (held until commit: no delete or
                # disable slips in between)
                still = select(WebhookEndpoint.id).where(
                    WebhookEndpoint.id == endpoint_id, WebhookEndpoint.enabled.is_(True)
                )
                if is_postgres(session):
                    still = still.with_for_update()
                if session.scalar(still) is None:
                    session.rollback()
                    break
                if new:
                    stmt = _insert(session)(WebhookDelivery).on_conflict_do_nothing(
                        index_elements=["endpoint_id", "event_id"]
                    )
                    session.execute(stmt, new)
                    added += len(new)
                session.execute(
                    update(WebhookEndpoint)
                    .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.event_cursor < cursor)
                    .values(event_cursor=cursor)
                )
                session.commit()
                start = cursor
            position = last
            if len(rows) < FAN_OUT_BATCH:
                break
    return added


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
    query = select(WebhookDelivery.id).join(
        WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id
    )
    if delivery_id is None:
        query = (
            query.where(
                WebhookDelivery.status == "pending",
                WebhookDelivery.next_attempt_at <= now,
                WebhookEndpoint.enabled.is_(True),
            )
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(CLAIM_BATCH)
        )
    else:
        # by hand (retry now, ping): whatever its schedule, unless a worker has it
        query = query.where(
            WebhookDelivery.id == delivery_id,
            (WebhookDelivery.claim.is_(None)) | (WebhookDelivery.next_attempt_at <= now),
        )
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


# ---- HTTP ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """How one attempt went: the receiver's status code, or what failed."""

    status_code: int | None
    error: str | None
    duration_ms: int
    excerpt: str | None = None
    ok: bool = field(default=False)


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to the address that was checked, sends the URL's host name."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(
        self, host: str, port: int, address: str, timeout: float, context: ssl.SSLContext
    ) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._address = address
        self._ctx = context

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._ctx.wrap_socket(sock, server_hostname=self.host)


def _excerpt(data: bytes) -> str | None:
    if not data:
        return None
    text = data.decode("utf-8", errors="replace")
    text = "".join(ch if ch in "\n\t" or ch.isprintable() else " " for ch in text)
    return text[:EXCERPT_CHARS]


def _short(message: str) -> str:
    return message[:500]


def post(
    url: str, body: bytes, headers: Mapping[str, str], timeout: float, allow_private: bool
) -> Outcome:
    """POST ``body`` to ``url``: a timeout on connecting and on every read, no
    redirects followed, at most 4 KiB of the answer read. Never raises."""
    started = time.monotonic()

    def took() -> int:
        return int((time.monotonic() - started) * 1000)

    parts = urlsplit(url)
    host = parts.hostname or ""
    https = parts.scheme == "https"
    try:
        port = parts.port or (443 if https else 80)
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError) as exc:
        return Outcome(None, _short(f"cannot resolve {host}: {exc}"), took())
    addresses = [str(info[4][0]) for info in infos]
    if not allow_private:
        blocked = [a for a in addresses if not rules.is_public_address(a)]
        if blocked:
            return Outcome(
                None,
                _short(f"{host} resolves to a non-public address ({blocked[0]}); not sent"),
                took(),
            )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    conn: http.client.HTTPConnection
    if https:
        conn = _PinnedHTTPS(host, port, addresses[0], timeout, ssl.create_default_context())
    else:
        conn = _PinnedHTTP(host, port, addresses[0], timeout)
    try:
        conn.request("POST", path, body=body, headers=dict(headers))
        response = conn.getresponse()
        data = response.read(MAX_RESPONSE_BYTES)
        code = response.status
    except TimeoutError:
        return Outcome(None, f"timed out after {timeout:g} s", took())
    except (OSError, http.client.HTTPException) as exc:
        return Outcome(None, _short(f"{type(exc).__name__}: {exc}"), took())
    finally:
        conn.close()
    if rules.is_success(code):
        return Outcome(code, None, took(), _excerpt(data), ok=True)
    if 300 <= code < 400:
        error = f"HTTP {code}: redirects are not followed"
    else:
        error = f"HTTP {code}"
    return Outcome(code, error, took(), _excerpt(data))
