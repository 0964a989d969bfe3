"""Payment history and printable invoices (orders the billing system posted)."""

from __future__ import annotations

from typing import Any

from flask import render_template

from licserver.domain import portal as rules
from licserver.runtime import context
from licserver.services import orders as svc
from licserver.services import portal_account as account_svc
from licserver.web.portal.base import bp, principal, requires


@bp.get("/payments")
@requires(rules.PAYMENTS)
def payments() -> Any:
    rows = svc.for_account(context(), principal())
    return render_template("portal/payments.html", orders=rows, money=svc.money)


@bp.get("/payments/<int:order_id>")
@requires(rules.PAYMENTS)
def invoice(order_id: int) -> Any:
    order = svc.get_for_account(context(), principal(), order_id)
    customer = account_svc.get(context(), principal())
    return render_template("portal/invoice.html", order=order, customer=customer, money=svc.money)
