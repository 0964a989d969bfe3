"""Products in the console: create one with its defaults, change them. The
same service as the admin API; each change an event naming the staff user."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for

from licserver.domain import staff as rules
from licserver.domain.errors import LicenseServerError
from licserver.runtime import context
from licserver.services import products as product_service
from licserver.web.shared.forms import field_errors
from licserver.web.staff.base import bp, staff_origin, staff_required
from licserver.web.staff.forms import ProductForm


def _form_page(form: ProductForm, *, product: str | None, status: int = 200) -> Any:
    return render_template("staff/product_form.html", form=form, product=product), status


@bp.route("/products/new", methods=["GET", "POST"])
@staff_required(action=rules.ISSUE)
def new_product() -> Any:
    form = ProductForm()
    if not form.is_submitted():
        return _form_page(form, product=None)
    if not form.validate():
        return _form_page(form, product=None, status=422)
    try:
        prod = product_service.create(
            context(),
            code=form.code.data.strip(),
            name=form.name.data.strip(),
            default_seats=form.default_seats.data,
            default_duration_days=form.default_duration_days.data,
            offline_grace_days=form.offline_grace_days.data,
            origin=staff_origin(),
        )
    except LicenseServerError as exc:
        return _form_page(form, product=None, status=field_errors(form, exc, default="code"))
    flash(f"Product {prod.code} created.", "info")
    return redirect(url_for("staff.products", q=prod.code))


@bp.route("/products/<code>/edit", methods=["GET", "POST"])
@staff_required(action=rules.ISSUE)
def edit_product(code: str) -> Any:
    prod = product_service.get(context(), code)
    form = ProductForm(obj=None if request.method == "POST" else prod)
    form.code.data = prod.code  # the code names the product in keys: it stays
    if not form.is_submitted():
        return _form_page(form, product=prod.code)
    if not form.validate():
        return _form_page(form, product=prod.code, status=422)
    changes = {
        "name": form.name.data.strip(),
        "default_seats": form.default_seats.data,
        "default_duration_days": form.default_duration_days.data,
        "offline_grace_days": form.offline_grace_days.data,
    }
    try:
        product_service.update(context(), prod.code, changes, origin=staff_origin())
    except LicenseServerError as exc:
        return _form_page(form, product=prod.code, status=field_errors(form, exc, default="name"))
    flash(f"Product {prod.code} saved.", "info")
    return redirect(url_for("staff.products", q=prod.code))
