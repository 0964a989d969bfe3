"""Admin API: a product's policies (licence models, docs/licence-models.md)."""

from __future__ import annotations

from typing import Any

from licserver.api.auth import admin_actor, require
from licserver.api.blueprint import Blueprint
from licserver.api.docs import errors
from licserver.api.schemas.common import PageArgs
from licserver.api.schemas.policies import (
    PolicyChangeOut,
    PolicyIn,
    PolicyOut,
    PolicyPage,
    PolicyPatch,
    PolicyPatchArgs,
)
from licserver.domain.permissions import CATALOG, READ
from licserver.runtime import context, origin
from licserver.services import policies as svc
from licserver.services.pagination import PageRequest
from licserver.services.policies import PolicyChange

blp = Blueprint(
    "policies", __name__, url_prefix="/api/v1", description="Admin: policies (licence models)"
)


@blp.post("/products/<code>/policies")
@blp.arguments(PolicyIn)
@blp.response(201, PolicyOut)
@errors(blp, 400, 413, 422, 401, 403, 404, 409, 503)
@require(CATALOG)
def create(data: dict[str, Any], code: str) -> dict[str, Any]:
    """Create a policy of this product."""
    d = context()
    pol = svc.create(
        d, origin(admin_actor()), product=code, name=data["name"], settings=data["settings"]
    )
    return svc.view(d, pol)


@blp.get("/products/<code>/policies")
@blp.arguments(PageArgs, location="query")
@blp.response(200, PolicyPage)
@errors(blp, 422, 401, 403, 404, 503)
@require(READ)
def index(args: dict[str, Any], code: str) -> dict[str, Any]:
    """The product's policies, oldest first."""
    session = context()
    found = svc.policies_page(session, code, PageRequest(args["limit"], args["cursor"]))
    return {"items": [svc.view(session, p) for p in found.items], "next_cursor": found.next_cursor}


@blp.get("/policies/<policy_id>")
@blp.response(200, PolicyOut)
@errors(blp, 401, 403, 404, 503)
@require(READ)
def show(policy_id: str) -> dict[str, Any]:
    """One policy, with every setting's effective value."""
    return svc.view(context(), svc.get(context(), policy_id))


@blp.patch("/policies/<policy_id>")
@blp.arguments(PolicyPatchArgs, location="query")
@blp.arguments(PolicyPatch)
@blp.response(200, PolicyChangeOut)
@errors(blp, 400, 413, 422, 401, 403, 404, 409, 503)
@require(CATALOG)
def patch(args: dict[str, Any], data: dict[str, Any], policy_id: str) -> dict[str, Any]:
    """Change a policy. With ``?dry_run=true`` nothing is saved: the answer shows
    the policy as it would be and the live activations the new rules would act
    on now (release a lease, mark inactive, free a seat)."""
    d = context()
    change = svc.update(
        d,
        origin(admin_actor()),
        policy_id,
        name=data.get("name"),
        settings=data.get("settings"),
        dry_run=args["dry_run"],
    )
    return change_view(change, dry_run=args["dry_run"])


def change_view(change: PolicyChange, *, dry_run: bool) -> dict[str, Any]:
    return {
        "policy": svc.view(context(), change.policy, change.settings),
        "changed": change.changed,
        "affected": {
            "count": len(change.affected),
            "items": [a.__dict__ for a in change.affected],
        },
        "saved": change.saved,
        "dry_run": dry_run,
    }
