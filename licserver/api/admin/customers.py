from __future__ import annotations

from typing import Any

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

blp = Blueprint(
    "customers",
    __name__,
    url_prefix="/api/v1/customers",
    description="Admin: customers and their portal users",
)


@blp.post("")
@blp.arguments(CustomerIn)
@blp.response(201, CustomerOut)
@errors(blp, 400, 413, 422, 401, 403, 409, 503)
@require(LICENSES)
def create(data: dict[str, Any]) -> dict[str, Any]:
    """Create a customer; its email becomes the first portal owner, invited by email."""
    cust, sent = svc.create_invited(
        context(),
        name=data["name"],
        email=data["email"],
        company_password=data.get("company_password"),
    )
    return {**views.customer(cust), "invitation_sent": sent}


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
    user, sent = svc.add_invited_user(
        context(),
        number,
        email=data["email"],
        name=data["name"],
        role=data["role"],
        licenses=data.get("licenses"),
    )
    return views.user(user, invitation_sent=sent)


@blp.get("/<number>/users")
@blp.arguments(PageArgs, location="query")
@blp.response(200, UserList)
@errors(blp, 422, 401, 403, 404, 503)
@require(READ)
def users(args: dict[str, Any], number: str) -> dict[str, Any]:
    """The customer's portal users, oldest first."""
    found = svc.users_page(context(), number, views.page_request(args))
    return views.page(found, views.user)
