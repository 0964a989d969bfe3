from __future__ import annotations

from typing import Any

from licserver.api.admin import views
from licserver.api.auth import require
from licserver.api.blueprint import Blueprint
from licserver.api.docs import errors
from licserver.api.schemas.admin import ProductIn, ProductOut, ProductPage
from licserver.api.schemas.common import PageArgs
from licserver.domain.permissions import CATALOG, READ
from licserver.runtime import context
from licserver.services import products as svc

blp = Blueprint("products", __name__, url_prefix="/api/v1/products", description="Admin: products")


@blp.post("")
@blp.arguments(ProductIn)
@blp.response(201, ProductOut)
@errors(blp, 400, 413, 422, 401, 403, 409, 503)
@require(CATALOG)
def create(data: dict[str, Any]) -> dict[str, Any]:
    """Create a product."""
    return views.product(svc.create(context(), **data))


@blp.get("")
@blp.arguments(PageArgs, location="query")
@blp.response(200, ProductPage)
@errors(blp, 422, 401, 403, 503)
@require(READ)
def index(args: dict[str, Any]) -> dict[str, Any]:
    """List products, oldest first."""
    return views.page(svc.list_products(context(), views.page_request(args)), views.product)


@blp.get("/<code>")
@blp.response(200, ProductOut)
@errors(blp, 401, 403, 404, 503)
@require(READ)
def show(code: str) -> dict[str, Any]:
    """One product."""
    return views.product(svc.get(context(), code))
