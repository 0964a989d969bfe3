"""Payment history and printable invoices (orders the billing system posted)."""

from __future__ import annotations

from typing import Any

from flask import render_template

from licserver.domain import portal as rules
from licserver.runtime import context
from licserver.services import orders as svc
from licserver.web.portal.base import bp, principal, requires


@bp.get("/payments")
@requires(rules.PAYMENTS)
def payments() -> Any:
    rows = svc.for_account(context(), principal())
    return render_template("portal/payments.html", orders=rows, money=svc.money)


@bp.get("/payments/<int:order_id>")
@requires(rules.PAYMENTS)
def invoice(order_id: int) -> Any:
    inv = svc.invoice_for_account(context(), principal(), order_id)
    return render_template(
        "portal/invoice.html",
        order=inv.order,
        customer=inv.customer,
        seller=inv.seller,
        money=svc.money,
    )
