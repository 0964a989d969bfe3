"""Admin: orders the billing system reports; the portal's payment history."""

from __future__ import annotations

from typing import Any

from licserver.api.auth import require
from licserver.api.blueprint import Blueprint
from licserver.api.docs import errors
from licserver.api.schemas.orders import OrderIn, OrderListArgs, OrderOut, OrderPage
from licserver.domain.permissions import LICENSES, READ
from licserver.models import Order
from licserver.runtime import context
from licserver.services import orders as svc
from licserver.services.pagination import PageRequest

blp = Blueprint(
    "orders",
    __name__,
    url_prefix="/api/v1/orders",
    description="Admin: orders and invoices (the customer portal's payment history)",
)


def view(order: Order) -> dict[str, Any]:
    return {
        "customer": order.customer.number,
        "number": order.number,
        "date": order.order_date,
        "amount": svc.money(order.amount_cents),
        "currency": order.currency,
        "po_number": order.po_number,
        "items": [
            {
                "description": item.description,
                "amount": svc.money(item.amount_cents),
                "license_id": item.license.public_id if item.license else None,
            }
            for item in order.items
        ],
        "created_at": order.created_at,
    }


@blp.post("")
@blp.arguments(OrderIn)
@blp.response(201, OrderOut)
@errors(blp, 400, 413, 422, 401, 403, 404, 409, 503)
@require(LICENSES)
def create(data: dict[str, Any]) -> dict[str, Any]:
    """Record an order (a purchase, with its lines); the customer's billing
    users see it with a printable invoice in the portal. The items must add up
    to ``amount``; a ``number`` already recorded is 409 CONFLICT."""
    order = svc.create(
        context(),
        customer=data["customer"],
        number=data["number"],
        date=data["date"],
        amount=data["amount"],
        currency=data["currency"],
        po_number=data.get("po_number"),
        items=[
            svc.ItemIn(i["description"], i["amount"], i.get("license_id")) for i in data["items"]
        ],
    )
    return view(order)


@blp.get("")
@blp.arguments(OrderListArgs, location="query")
@blp.response(200, OrderPage)
@errors(blp, 422, 401, 403, 404, 503)
@require(READ)
def index(args: dict[str, Any]) -> dict[str, Any]:
    """Orders, oldest first; ``?customer=`` for one customer's."""
    found = svc.list_orders(
        context(), PageRequest(args["limit"], args["cursor"]), args.get("customer")
    )
    return {"items": [view(o) for o in found.items], "next_cursor": found.next_cursor}


@blp.get("/<number>")
@blp.response(200, OrderOut)
@errors(blp, 401, 403, 404, 503)
@require(READ)
def show(number: str) -> dict[str, Any]:
    """One order, by its number."""
    return view(svc.get_by_number(context(), number))
