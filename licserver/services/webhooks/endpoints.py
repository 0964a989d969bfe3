"""Webhook endpoints staff register (create, change, delete, rotate the secret),
and the log of their deliveries, for the API and the console."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from licserver.crypto import Box
from licserver.database import begin_write
from licserver.domain import webhooks as rules
from licserver.domain.errors import NotFound, ValidationFailed
from licserver.models.event import Event
from licserver.models.webhook import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from licserver.services import pagination
from licserver.services.context import Context

SECRET_PURPOSE = "webhook_secret"
STATUSES = ("pending", "delivered", "failed")


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


# ---- their deliveries, for reading --------------------------------------------------


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
