"""Store integrations (README, "Selling through a store"). The admin routes
need a ``full`` token; ``POST /{id}/events`` is the URL pasted into the store,
checked by the store's signature instead of a token."""

from __future__ import annotations

from typing import Any

from flask import request

from licserver.api.admin import views as admin_views
from licserver.api.auth import admin_actor, require
from licserver.api.blueprint import Blueprint
from licserver.api.docs import errors
from licserver.api.schemas.common import PageArgs
from licserver.api.schemas.stores import (
    IntegrationIn,
    IntegrationOut,
    IntegrationPage,
    IntegrationPatch,
    ReceiveOut,
    StoreEventOut,
    StoreEventPage,
)
from licserver.domain.permissions import STORES
from licserver.models.store import StoreEvent, StoreIntegration
from licserver.runtime import context, origin
from licserver.services.stores import integrations as svc
from licserver.services.stores import receive as receiver

blp = Blueprint(
    "integrations",
    __name__,
    url_prefix="/api/v1/integrations",
    description="Store integrations: a store's webhooks issue, renew and revoke licences",
)


def webhook_url(integ: StoreIntegration) -> str:
    return svc.webhook_url(context(), integ)


def view(integ: StoreIntegration) -> dict[str, Any]:
    return {
        "id": integ.public_id,
        "provider": integ.provider,
        "name": integ.name,
        "webhook_url": webhook_url(integ),
        "on_refund": integ.on_refund,
        "items": integ.items,
        "signing_secret_set": integ.secret_enc is not None,
        "created_at": integ.created_at,
        "updated_at": integ.updated_at,
    }


def event_view(ev: StoreEvent) -> dict[str, Any]:
    return {
        "event_id": ev.event_id,
        "type": ev.type,
        "received_at": ev.received_at,
        "outcome": ev.outcome,
        "detail": ev.detail,
        "licenses": list(ev.licenses or []),
    }


@blp.post("")
@blp.arguments(IntegrationIn)
@blp.response(201, IntegrationOut)
@errors(blp, 400, 413, 422, 401, 403, 503)
@require(STORES)
def create(data: dict[str, Any]) -> dict[str, Any]:
    """Add an integration; paste its ``webhook_url`` into the store, then set
    ``signing_secret`` (by PATCH) to the secret the store shows."""
    return view(svc.create(context(), data, origin(admin_actor())))


@blp.get("")
@blp.arguments(PageArgs, location="query")
@blp.response(200, IntegrationPage)
@errors(blp, 422, 401, 403, 503)
@require(STORES)
def index(args: dict[str, Any]) -> dict[str, Any]:
    """Integrations, oldest first (never their secrets)."""
    return admin_views.page(svc.list_integrations(context(), admin_views.page_request(args)), view)


@blp.get("/<integration_id>")
@blp.response(200, IntegrationOut)
@errors(blp, 401, 403, 404, 503)
@require(STORES)
def show(integration_id: str) -> dict[str, Any]:
    return view(svc.get(context(), integration_id))


@blp.patch("/<integration_id>")
@blp.arguments(IntegrationPatch)
@blp.response(200, IntegrationOut)
@errors(blp, 400, 413, 422, 401, 403, 404, 503)
@require(STORES)
def patch(data: dict[str, Any], integration_id: str) -> dict[str, Any]:
    """Change it; ``items`` replaces the whole mapping; a new ``signing_secret``
    takes effect at once (signatures made with the old one are refused)."""
    return view(svc.update(context(), integration_id, data, origin(admin_actor())))


@blp.delete("/<integration_id>")
@blp.response(204)
@errors(blp, 401, 403, 404, 503)
@require(STORES)
def remove(integration_id: str) -> None:
    """Remove it with its event log; the licences it issued stay."""
    svc.delete(context(), integration_id, origin(admin_actor()))


@blp.get("/<integration_id>/events")
@blp.arguments(PageArgs, location="query")
@blp.response(200, StoreEventPage)
@errors(blp, 422, 401, 403, 404, 503)
@require(STORES)
def events(args: dict[str, Any], integration_id: str) -> dict[str, Any]:
    """The events received, newest first, with what each did."""
    found = svc.events_page(context(), integration_id, admin_views.page_request(args))
    return admin_views.page(found, event_view)


@blp.post("/<integration_id>/events/<event_id>/reapply")
@blp.response(200, StoreEventOut)
@errors(blp, 401, 403, 404, 409, 503)
@require(STORES)
def reapply(integration_id: str, event_id: str) -> dict[str, Any]:
    """Apply an ``ignored`` or ``failed`` event again (after mapping its item,
    say); the answer is the event with its new outcome. An applied one: 409."""
    ctx = context()
    return event_view(
        receiver.reapply_by_id(ctx, ctx.mailer, integration_id, event_id, origin(admin_actor()))
    )


_STORE_BODY = {
    "required": True,
    "description": "The store's event exactly as it sends it (signed; see README).",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"id": {"type": "string"}, "type": {"type": "string"}},
                "additionalProperties": True,
            }
        }
    },
}


@blp.post("/<integration_id>/events")
@blp.doc(requestBody=_STORE_BODY, security=[])
@blp.response(200, ReceiveOut)
@errors(blp, 400, 404, 413, 503)
def receive(integration_id: str) -> dict[str, Any]:
    """The store's webhook (no token: the store's signature). Answers 200 once
    the event is recorded and applied (or recorded as ignored/failed)."""
    got = receiver.receive(
        context(), context().mailer, integration_id, dict(request.headers), request.get_data()
    )
    return {"received": [vars(r) for r in got]}
