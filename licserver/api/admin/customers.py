from __future__ import annotations

from typing import Any

from flask import current_app

from licserver.api.admin import views
from licserver.api.auth import require
from licserver.api.blueprint import Blueprint
from licserver.api.docs import errors
from licserver.api.schemas.admin import (
    CustomerIn,
    CustomerListArgs,
    CustomerOut,
    CustomerPage,
    CustomerPatch,
    UserIn,
    UserList,
    UserOut,
)
from licserver.api.schemas.common import PageArgs
from licserver.domain.permissions import LICENSES, READ
from licserver.runtime import context
from licserver.services import customers as svc
from licserver.services import mail
from licserver.services.customers import Invitation

blp = Blueprint(
    "customers",
    __name__,
    url_prefix="/api/v1/customers",
    description="Admin: customers and their portal users",
)


def _send_invitation(inv: Invitation, customer_name: str) -> bool:
    base = current_app.config["PUBLIC_URL"].rstrip("/")
    link = f"{base}/portal/invitation/{inv.token}"
    hours = current_app.config["INVITATION_TTL_HOURS"]
    body = (
        f"Hello {inv.user.name},\n\n"
        f"You have been invited to the licence portal of {customer_name} "
        f"as {inv.user.role}.\n\nSet your password here (the link works for {hours} hours, once):\n"
        f"{link}\n\nIf you did not expect this email, you can ignore it.\n"
    )
    return mail.send(views.mail_settings(), inv.user.email, "Your licence portal invitation", body)


@blp.post("")
@blp.arguments(CustomerIn)
@blp.response(201, CustomerOut)
@errors(blp, 400, 413, 422, 401, 403, 409, 503)
@require(LICENSES)
def create(data: dict[str, Any]) -> dict[str, Any]:
    """Create a customer; its email becomes the first portal owner, invited by email."""
    cust, inv = svc.create(
        context(),
        name=data["name"],
        email=data["email"],
        company_password=data.get("company_password"),
        invitation_ttl_hours=current_app.config["INVITATION_TTL_HOURS"],
    )
    out = views.customer(cust)
    out["invitation_sent"] = _send_invitation(inv, cust.name)
    return out


@blp.get("")
@blp.arguments(CustomerListArgs, location="query")
@blp.response(200, CustomerPage)
@errors(blp, 422, 401, 403, 503)
@require(READ)
def index(args: dict[str, Any]) -> dict[str, Any]:
    """List customers, oldest first; ``?email=`` finds one by contact email."""
    found = svc.list_customers(context(), views.page_request(args), args.get("email"))
    return views.page(found, views.customer)


@blp.get("/<number>")
@blp.response(200, CustomerOut)
@errors(blp, 401, 403, 404, 503)
@require(READ)
def show(number: str) -> dict[str, Any]:
    """One customer."""
    return views.customer(svc.get(context(), number))


@blp.patch("/<number>")
@blp.arguments(CustomerPatch)
@blp.response(200, CustomerOut)
@errors(blp, 400, 413, 422, 401, 403, 404, 503)
@require(LICENSES)
def patch(data: dict[str, Any], number: str) -> dict[str, Any]:
    """Change name, contact email, or set (null: turn off) the company password."""
    return views.customer(svc.update(context(), number, data))


@blp.post("/<number>/users")
@blp.arguments(UserIn)
@blp.response(201, UserOut)
@errors(blp, 400, 413, 422, 401, 403, 404, 409, 503)
@require(LICENSES)
def add_user(data: dict[str, Any], number: str) -> dict[str, Any]:
    """Add a portal user (invited by email). ``licenses`` limits them to those licences."""
    inv = svc.add_user(
        context(),
        number,
        email=data["email"],
        name=data["name"],
        role=data["role"],
        licenses=data.get("licenses"),
        invitation_ttl_hours=current_app.config["INVITATION_TTL_HOURS"],
    )
    cust = svc.get(context(), number)
    return views.user(inv.user, invitation_sent=_send_invitation(inv, cust.name))


@blp.get("/<number>/users")
@blp.arguments(PageArgs, location="query")
@blp.response(200, UserList)
@errors(blp, 422, 401, 403, 404, 503)
@require(READ)
def users(args: dict[str, Any], number: str) -> dict[str, Any]:
    """The customer's portal users, oldest first."""
    found = svc.users_page(context(), number, views.page_request(args))
    return views.page(found, views.user)
