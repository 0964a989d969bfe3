from __future__ import annotations

from typing import Any

from licserver.api.admin import views
from licserver.api.auth import admin_actor, require
from licserver.api.blueprint import Blueprint
from licserver.api.docs import errors
from licserver.api.schemas.admin import (
    ActivationAdminOut,
    ActivationPage,
    ActivationSearchArgs,
    DeactivateIn,
)
from licserver.domain.permissions import LICENSES, READ
from licserver.runtime import context, origin
from licserver.services import activation as activation_service
from licserver.services import activation_search

blp = Blueprint(
    "activations",
    __name__,
    url_prefix="/api/v1/activations",
    description="Admin: finding and deactivating activations",
)


@blp.get("")
@blp.arguments(ActivationSearchArgs, location="query")
@blp.response(200, ActivationPage)
@errors(blp, 422, 401, 403, 503)
@require(READ)
def search(args: dict[str, Any]) -> dict[str, Any]:
    """Find activations across licences by installation ID (exact) and/or machine
    name (exact, case-insensitive), newest first: the lost-machine search."""
    found = activation_search.search(
        context(),
        views.page_request(args),
        installation_id=args.get("installation_id"),
        machine_name=args.get("machine_name"),
    )
    return views.page(found, views.activation)


@blp.post("/<activation_id>/deactivate")
@blp.arguments(DeactivateIn)
@blp.response(200, ActivationAdminOut)
@errors(blp, 400, 413, 422, 401, 403, 404, 503)
@require(LICENSES)
def deactivate(data: dict[str, Any], activation_id: str) -> dict[str, Any]:
    """Deactivate an installation (dead, lost, stolen machine): the seat is free at
    once and the machine's next check-in gets 410. Repeating it changes nothing."""
    act = activation_service.deactivate(
        context(), activation_id, origin(admin_actor()), reason=data["reason"]
    )
    return views.activation(act)
