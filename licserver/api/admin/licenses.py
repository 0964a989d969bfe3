from __future__ import annotations

from typing import Any

from licserver.api.admin import views
from licserver.api.auth import admin_actor, require
from licserver.api.blueprint import Blueprint
from licserver.api.docs import errors
from licserver.api.schemas.admin import (
    ActivationListArgs,
    ActivationPage,
    EventPage,
    LicenseIn,
    LicenseKeyOut,
    LicenseListArgs,
    LicensePage,
    LicensePatch,
    LicenseSecretOut,
    PasswordOut,
    StatusChangeIn,
)
from licserver.api.schemas.common import PageArgs
from licserver.api.schemas.policies import ConvertIn, RenewIn
from licserver.domain.permissions import LICENSES, READ
from licserver.runtime import context, origin
from licserver.services import license_changes, license_lists
from licserver.services import licenses as svc

blp = Blueprint(
    "licenses",
    __name__,
    url_prefix="/api/v1/licenses",
    description="Admin: licences, their activations and history",
)


@blp.post("")
@blp.arguments(LicenseIn)
@blp.response(201, LicenseSecretOut)
@errors(blp, 400, 413, 422, 401, 403, 404, 503)
@require(LICENSES)
def create(data: dict[str, Any]) -> dict[str, Any]:
    """Issue a licence: its key and activation password are in the answer."""
    kwargs = dict(data)
    lic, secrets = svc.create(context(), origin(admin_actor()), **kwargs)
    return views.license(lic, secrets)


@blp.get("")
@blp.arguments(LicenseListArgs, location="query")
@blp.response(200, LicensePage)
@errors(blp, 422, 401, 403, 503)
@require(READ)
def index(args: dict[str, Any]) -> dict[str, Any]:
    """List licences, oldest first; filter by customer number, product code, status."""
    filters = license_lists.LicenseFilters(
        args.get("customer"), args.get("product"), args.get("status")
    )
    found = license_lists.list_licenses(context(), filters, views.page_request(args))
    return views.page(found, views.license)


@blp.get("/<license_id>")
@blp.response(200, LicenseSecretOut)
@errors(blp, 401, 403, 404, 503)
@require(READ)
def show(license_id: str) -> dict[str, Any]:
    """One licence, with its key and activation password."""
    d = context()
    lic = svc.get(d, license_id)
    return views.license(lic, svc.reveal(d, lic))


@blp.patch("/<license_id>")
@blp.arguments(LicensePatch)
@blp.response(200, LicenseSecretOut)
@errors(blp, 400, 413, 422, 401, 403, 404, 503)
@require(LICENSES)
def patch(data: dict[str, Any], license_id: str) -> dict[str, Any]:
    """Change seats, expiry (null: perpetual), features, policy or policy overrides."""
    d = context()
    lic = license_changes.update(d, origin(admin_actor()), license_id, data)
    return views.license(lic, svc.reveal(d, lic))


@blp.post("/<license_id>/renew")
@blp.arguments(RenewIn, required=False)
@blp.response(200, LicenseSecretOut)
@errors(blp, 400, 413, 422, 401, 403, 404, 503)
@require(LICENSES)
def renew(data: dict[str, Any] | None, license_id: str) -> dict[str, Any]:
    """Extend the licence by ``days`` (default: its policy's duration_days), from
    the old expiry or from now, as the policy's renewal_basis says."""
    d = context()
    lic = license_changes.renew(d, origin(admin_actor()), license_id, (data or {}).get("days"))
    return views.license(lic, svc.reveal(d, lic))


@blp.post("/<license_id>/convert")
@blp.arguments(ConvertIn)
@blp.response(200, LicenseSecretOut)
@errors(blp, 400, 413, 422, 401, 403, 404, 409, 503)
@require(LICENSES)
def convert(data: dict[str, Any], license_id: str) -> dict[str, Any]:
    """Convert a trial licence to a paid policy, keeping its key, password and
    activations (409 when it is not a trial or the policy is one)."""
    d = context()
    lic = license_changes.convert(d, origin(admin_actor()), license_id, **data)
    return views.license(lic, svc.reveal(d, lic))


def _status_view(action: str, doc: str) -> None:
    @blp.post(f"/<license_id>/{action}", endpoint=action)
    @blp.arguments(StatusChangeIn, required=False)
    @blp.response(200, LicenseSecretOut)
    @errors(blp, 400, 413, 422, 401, 403, 404, 409, 503)
    @require(LICENSES)
    def view(data: dict[str, Any] | None, license_id: str) -> dict[str, Any]:
        d = context()
        lic = license_changes.change_status(
            d, origin(admin_actor()), license_id, action, reason=(data or {}).get("reason")
        )
        return views.license(lic, svc.reveal(d, lic))

    view.__doc__ = doc


_status_view("suspend", "Suspend: activations and check-ins are refused until reinstated.")
_status_view("reinstate", "Reinstate a suspended licence.")
_status_view("revoke", "Revoke for good: nothing moves a licence out of revoked.")


@blp.post("/<license_id>/activation-password")
@blp.response(200, PasswordOut)
@errors(blp, 401, 403, 404, 503)
@require(LICENSES)
def regenerate_password(license_id: str) -> dict[str, Any]:
    """A new activation password; the old one stops working."""
    _, password = license_changes.regenerate_password(context(), origin(admin_actor()), license_id)
    return {"activation_password": password}


@blp.post("/<license_id>/key")
@blp.response(200, LicenseKeyOut)
@errors(blp, 401, 403, 404, 503)
@require(LICENSES)
def reissue_key(license_id: str) -> dict[str, Any]:
    """A new licence key; the old one stops working."""
    _, key = license_changes.reissue_key(context(), origin(admin_actor()), license_id)
    return {"key": key}


@blp.get("/<license_id>/activations")
@blp.arguments(ActivationListArgs, location="query")
@blp.response(200, ActivationPage)
@errors(blp, 422, 401, 403, 404, 503)
@require(READ)
def activations(args: dict[str, Any], license_id: str) -> dict[str, Any]:
    """The licence's activations (``state=active``, the default, or ``all``), oldest first."""
    found = license_lists.list_activations(
        context(), license_id, views.page_request(args), active_only=args["state"] == "active"
    )
    return views.page(found, views.activation)


@blp.get("/<license_id>/events")
@blp.arguments(PageArgs, location="query")
@blp.response(200, EventPage)
@errors(blp, 422, 401, 403, 404, 503)
@require(READ)
def history(args: dict[str, Any], license_id: str) -> dict[str, Any]:
    """The licence's history, oldest first."""
    found = license_lists.list_events(context(), license_id, views.page_request(args))
    return views.page(found, lambda e: views.event(e, license_id))
