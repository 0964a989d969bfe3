"""A customer's page: licences, portal users, orders, history; issue a licence."""

from __future__ import annotations

from typing import Any

from flask import render_template

from licserver.domain import staff as rules
from licserver.runtime import context
from licserver.services import orders as order_service
from licserver.services import staff_console as console
from licserver.web.staff.base import bp, current_staff, staff_required
from licserver.web.staff.licenses import issue_form


@bp.get("/customers/<number>")
@staff_required(action=rules.VIEW)
def customer(number: str) -> Any:
    data = console.customer_page(context(), number)
    return render_template(
        "staff/customer.html",
        data=data,
        c=data.customer,
        money=order_service.money,
        issue=issue_form() if rules.allowed(current_staff().role, rules.ISSUE) else None,
    )
