"""Admin: webhook endpoints and their delivery log. Reads need ``read``; every
change, test and retry needs the ``full`` scope (ability ``webhooks``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from licserver.api.auth import require
from licserver.api.blueprint import Blueprint
from licserver.api.docs import errors
from licserver.api.schemas.common import PageArgs
from licserver.api.schemas.webhooks import (
    DeliveryListArgs,
    DeliveryOut,
    DeliveryPage,
    WebhookIn,
    WebhookOut,
    WebhookPage,
    WebhookPatch,
    WebhookSecretOut,
)
from licserver.domain.permissions import READ, WEBHOOKS
from licserver.models.webhook import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from licserver.runtime import context
from licserver.services import webhooks as svc

blp = Blueprint(
    "webhooks",
    __name__,
    url_prefix="/api/v1/webhooks",
    description="Admin: webhook endpoints, sent the events they subscribe to (README, Webhooks)",
)


def view(e: WebhookEndpoint, secret: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": e.public_id,
        "url": e.url,
        "description": e.description,
        "events": list(e.events),
        "enabled": e.enabled,
        "include_ip": e.include_ip,
        "created_at": e.created_at,
        "updated_at": e.updated_at,
    }
    if secret is not None:
        out["secret"] = secret
    return out


def delivery_view(d: WebhookDelivery, attempts: Sequence[WebhookAttempt]) -> dict[str, Any]:
    return {
        "id": d.id,
        "event_id": d.event_id,
        "type": d.kind,
        "status": d.status,
        "attempts": d.attempts,
        "max_attempts": d.max_attempts,
        "next_attempt_at": d.next_attempt_at,
        "last_attempt_at": d.last_attempt_at,
        "last_status_code": d.last_status_code,
        "last_error": d.last_error,
        "last_duration_ms": d.last_duration_ms,
        "delivered_at": d.delivered_at,
        "created_at": d.created_at,
        "attempt_log": [
            {
                "number": a.number,
                "at": a.at,
                "status_code": a.status_code,
                "error": a.error,
                "duration_ms": a.duration_ms,
                "response_excerpt": a.response_excerpt,
            }
            for a in attempts
        ],
    }


def _one_delivery(d: WebhookDelivery) -> dict[str, Any]:
    return delivery_view(d, svc.attempts_of(context(), [d.id])[d.id])


@blp.post("")
@blp.arguments(WebhookIn)
@blp.response(201, WebhookSecretOut)
@errors(blp, 400, 413, 422, 401, 403, 503)
@require(WEBHOOKS)
def create(data: dict[str, Any]) -> dict[str, Any]:
    """Register an endpoint. The answer holds its signing ``secret``, shown
    this once. It is sent the events recorded from now on."""
    endpoint, secret = svc.create(context(), **data)
    return view(endpoint, secret)


@blp.get("")
@blp.arguments(PageArgs, location="query")
@blp.response(200, WebhookPage)
@errors(blp, 422, 401, 403, 503)
@require(READ)
def index(args: dict[str, Any]) -> dict[str, Any]:
    """Endpoints, oldest first (never their secrets)."""
    rows, cursor = svc.page(context(), args["limit"], args["cursor"])
    return {"items": [view(e) for e in rows], "next_cursor": cursor}


@blp.get("/<webhook_id>")
@blp.response(200, WebhookOut)
@errors(blp, 401, 403, 404, 503)
@require(READ)
def show(webhook_id: str) -> dict[str, Any]:
    """One endpoint."""
    return view(svc.get(context(), webhook_id))


@blp.patch("/<webhook_id>")
@blp.arguments(WebhookPatch)
@blp.response(200, WebhookOut)
@errors(blp, 400, 413, 422, 401, 403, 404, 503)
@require(WEBHOOKS)
def patch(data: dict[str, Any], webhook_id: str) -> dict[str, Any]:
    """Change an endpoint. ``enabled: false`` stops sending to it (deliveries
    already queued wait); enabled again, it is sent the events from then on."""
    return view(svc.update_endpoint(context(), webhook_id, data))


@blp.delete("/<webhook_id>")
@blp.response(204)
@errors(blp, 401, 403, 404, 503)
@require(WEBHOOKS)
def remove(webhook_id: str) -> None:
    """Remove an endpoint with its delivery log."""
    svc.delete_endpoint(context(), webhook_id)


@blp.post("/<webhook_id>/secret")
@blp.response(200, WebhookSecretOut)
@errors(blp, 401, 403, 404, 503)
@require(WEBHOOKS)
def rotate_secret(webhook_id: str) -> dict[str, Any]:
    """A new signing secret, shown this once; deliveries are signed with it at once."""
    endpoint, secret = svc.rotate_secret(context(), webhook_id)
    return view(endpoint, secret)


@blp.get("/<webhook_id>/deliveries")
@blp.arguments(DeliveryListArgs, location="query")
@blp.response(200, DeliveryPage)
@errors(blp, 422, 401, 403, 404, 503)
@require(READ)
def deliveries(args: dict[str, Any], webhook_id: str) -> dict[str, Any]:
    """The endpoint's deliveries, newest first, each with the log of its
    attempts; ``?status=pending|delivered|failed``."""
    rows, cursor, attempts = svc.deliveries_page(
        context(), webhook_id, args["limit"], args["cursor"], args.get("status")
    )
    return {"items": [delivery_view(d, attempts[d.id]) for d in rows], "next_cursor": cursor}


@blp.post("/<webhook_id>/test")
@blp.response(200, DeliveryOut)
@errors(blp, 401, 403, 404, 503)
@require(WEBHOOKS)
def test(webhook_id: str) -> dict[str, Any]:
    """Send a ``ping`` now (once, no retries) and answer how it went; it is
    logged with the other deliveries. Works on a disabled endpoint too."""
    delivery = svc.send_ping(context(), webhook_id)
    return _one_delivery(delivery)


@blp.post("/<webhook_id>/deliveries/<int:delivery_id>/retry")
@blp.response(200, DeliveryOut)
@errors(blp, 401, 403, 404, 409, 503)
@require(WEBHOOKS)
def retry(webhook_id: str, delivery_id: int) -> dict[str, Any]:
    """Attempt a pending or failed delivery now and answer how it went (409
    when it was delivered already, or a worker is sending it right now)."""
    delivery = svc.retry_now(context(), webhook_id, delivery_id)
    return _one_delivery(delivery)
