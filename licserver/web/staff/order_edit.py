"""Record an order for a customer from the console: the orders service of
``POST /api/v1/orders`` (the items add up to the total; a number recorded
already is refused), as an event naming the staff user. Orders are not
changed afterwards, as through the API: an order is what the billing system
recorded."""

from __future__ import annotations

import re
from typing import Any

from flask import flash, redirect, render_template, url_for

from licserver.domain import staff as rules
from licserver.domain.errors import Conflict, LicenseServerError, ValidationFailed
from licserver.runtime import context
from licserver.services import customers as customer_service
from licserver.services import orders as order_service
from licserver.services import staff_console as console
from licserver.web.shared.forms import choices, field_errors
from licserver.web.staff.base import bp, staff_origin, staff_required
from licserver.web.staff.office_forms import OrderForm

_ITEM_KEY = re.compile(r"^items\.(\d+)\.(\w+)$")


def _page(form: OrderForm, number: str, status: int = 200) -> Any:
    return render_template("staff/order_form.html", form=form, number=number), status


def _items(form: OrderForm) -> list[order_service.ItemIn] | None:
    """The lines filled in (None, and the errors at the lines, when one is half filled)."""
    items: list[order_service.ItemIn] = []
    complete = True
    for entry in form.items:
        row = entry.form
        if not (row.description.data or "").strip() and row.amount.data is None:
            continue
        if not (row.description.data or "").strip():
            row.description.errors = [*row.description.errors, "A line needs a description."]
            complete = False
        if row.amount.data is None:
            row.amount.errors = [*row.amount.errors, "A line needs an amount."]
            complete = False
        if complete:
            items.append(
                order_service.ItemIn(
                    row.description.data.strip(), row.amount.data, row.license_id.data or None
                )
            )
    if complete and not items:
        form.amount.errors = [*form.amount.errors, "An order has at least one line."]
    return items if complete and items else None


def _line_errors(form: OrderForm, exc: LicenseServerError) -> LicenseServerError | None:
    """A line's refusal at its fields (``items.N.amount``); what is left for the form."""
    if not isinstance(exc, ValidationFailed):
        return exc
    # The service numbers the lines given; the page's rows may have gaps.
    filled = [e for e in form.items if e.form.description.data or e.form.amount.data is not None]
    rest: dict[str, list[str]] = {}
    for key, messages in exc.errors.items():
        m = _ITEM_KEY.match(key)
        if m and int(m.group(1)) < len(filled):
            field = getattr(filled[int(m.group(1))].form, m.group(2), None)
            if field is not None:
                field.errors = [*field.errors, *messages]
                continue
        rest[key] = list(messages)
    return ValidationFailed(rest, exc.detail) if rest else None


@bp.route("/customers/<number>/orders/new", methods=["GET", "POST"])
@staff_required(action=rules.ISSUE)
def new_order(number: str) -> Any:
    number = customer_service.get(context(), number).number
    form = OrderForm()
    licences = console.customer_page(context(), number).licenses
    for entry in form.items:
        entry.form.license_id.choices = choices(
            [("", "—"), *[(lic.public_id, lic.public_id) for lic in licences]]
        )
    if not form.is_submitted():
        return _page(form, number)
    valid = form.validate()
    items = _items(form)
    if not valid or items is None:
        return _page(form, number, 422)
    try:
        order = order_service.create(
            context(),
            customer=number,
            number=form.number.data.strip(),
            date=form.date.data,
            amount=form.amount.data,
            currency=form.currency.data.strip(),
            po_number=(form.po_number.data or "").strip() or None,
            items=items,
            origin=staff_origin(),
        )
    except LicenseServerError as exc:
        left = _line_errors(form, exc)
        status = 422
        if left is not None:
            default = "number" if isinstance(left, Conflict) else "amount"
            status = field_errors(form, left, default=default, fields={"items": "amount"})
        return _page(form, number, status)
    flash(
        f"Order {order.number} recorded: {order_service.money(order.amount_cents)} "
        f"{order.currency}.",
        "info",
    )
    return redirect(url_for("staff.customer", number=number))
