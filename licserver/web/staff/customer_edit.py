"""Customers and their portal users in the console: create a customer (its
first owner invited by email), change it; invite a user, change a role and
licence limits, send a fresh invitation, remove a user. The services the admin
API and the portal use; each change an event naming the staff user."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for

from licserver.domain import staff as rules
from licserver.domain.errors import LicenseServerError, ValidationFailed
from licserver.runtime import context
from licserver.services import customer_users as user_service
from licserver.services import customers as customer_service
from licserver.services import staff_console as console
from licserver.web.shared.forms import choices, field_errors
from licserver.web.staff.base import bp, staff_origin, staff_required
from licserver.web.staff.forms import ConfirmForm
from licserver.web.staff.office_forms import (
    CustomerEditForm,
    CustomerForm,
    UserForm,
    UserRoleForm,
)


def _sent_note(sent: bool, email: str) -> str:
    if sent:
        return f"An invitation went to {email}."
    return f"The invitation email to {email} could not be sent; send it again from the user's page."


def _customer_page(form: Any, number: str | None, status: int = 200) -> Any:
    return render_template("staff/customer_form.html", form=form, number=number), status


@bp.route("/customers/new", methods=["GET", "POST"])
@staff_required(action=rules.ISSUE)
def new_customer() -> Any:
    form = CustomerForm()
    if not form.is_submitted():
        return _customer_page(form, None)
    if not form.validate():
        return _customer_page(form, None, 422)
    try:
        cust, sent = customer_service.create_invited(
            context(),
            name=form.name.data.strip(),
            email=form.email.data,
            company_password=form.company_password.data or None,
            origin=staff_origin(),
        )
    except LicenseServerError as exc:
        return _customer_page(form, None, field_errors(form, exc, default="email"))
    flash(f"Customer {cust.number} created. {_sent_note(sent, cust.email)}", "info")
    return redirect(url_for("staff.customer", number=cust.number))


@bp.route("/customers/<number>/edit", methods=["GET", "POST"])
@staff_required(action=rules.ISSUE)
def edit_customer(number: str) -> Any:
    cust = customer_service.get(context(), number)
    number = cust.number
    shown = {"name": cust.name, "email": cust.email}
    form = CustomerEditForm(data=shown if request.method == "GET" else None)
    if not form.is_submitted():
        return _customer_page(form, number)
    if not form.validate():
        return _customer_page(form, number, 422)
    changes: dict[str, Any] = {"name": form.name.data.strip(), "email": form.email.data}
    if form.company_password_off.data:
        changes["company_password"] = None
    elif form.company_password.data:
        changes["company_password"] = form.company_password.data
    try:
        customer_service.update(context(), number, changes, origin=staff_origin())
    except LicenseServerError as exc:
        return _customer_page(form, number, field_errors(form, exc, default="name"))
    flash(f"Customer {number} saved.", "info")
    return redirect(url_for("staff.customer", number=number))


# ---- portal users ---------------------------------------------------------------------


def _licence_choices(number: str) -> list[Any]:
    data = console.customer_page(context(), number)
    return choices(
        [(lic.public_id, f"{lic.public_id} ({lic.product.name})") for lic in data.licenses]
    )


def _user_page(form: Any, number: str, user: Any = None, status: int = 200) -> Any:
    return render_template(
        "staff/user_form.html",
        form=form,
        number=number,
        company=customer_service.get(context(), number).name,
        user=user,
        confirm=ConfirmForm(),
    ), status


@bp.route("/customers/<number>/users/new", methods=["GET", "POST"])
@staff_required(action=rules.ISSUE)
def new_user(number: str) -> Any:
    number = customer_service.get(context(), number).number
    form = UserForm()
    form.licenses.choices = _licence_choices(number)
    if not form.is_submitted():
        return _user_page(form, number)
    if not form.validate():
        return _user_page(form, number, status=422)
    try:
        user, sent = customer_service.add_invited_user(
            context(),
            number,
            email=form.email.data,
            name=form.name.data.strip(),
            role=form.role.data,
            licenses=list(form.licenses.data or []) or None,
            origin=staff_origin(),
        )
    except LicenseServerError as exc:
        return _user_page(form, number, status=field_errors(form, exc, default="email"))
    flash(f"{user.email} is a {user.role} of {number}. {_sent_note(sent, user.email)}", "info")
    return redirect(url_for("staff.customer", number=number))


@bp.route("/customers/<number>/users/<int:user_id>", methods=["GET", "POST"])
@staff_required(action=rules.ISSUE)
def edit_user(number: str, user_id: int) -> Any:
    cust, user = user_service.get_user(context(), number, user_id)
    number = cust.number
    shown = {"role": user.role, "licenses": [lic.public_id for lic in user.licenses]}
    form = UserRoleForm(data=shown if request.method == "GET" else None)
    form.licenses.choices = _licence_choices(number)
    if not form.is_submitted():
        return _user_page(form, number, user)
    if not form.validate():
        return _user_page(form, number, user, 422)
    try:
        change = user_service.update_user(
            context(),
            staff_origin(),
            number,
            user_id,
            role=form.role.data,
            licenses=list(form.licenses.data or []),
        )
    except LicenseServerError as exc:
        return _user_page(form, number, user, field_errors(form, exc, default="role"))
    flash(f"{change.user.email} is now {change.user.role}.", "info")
    return redirect(url_for("staff.customer", number=number))


@bp.post("/customers/<number>/users/<int:user_id>/remove")
@staff_required(action=rules.ISSUE)
def remove_user(number: str, user_id: int) -> Any:
    if not ConfirmForm().validate_on_submit():
        raise ValidationFailed({}, "The form was not valid.")
    user = user_service.remove_user(context(), staff_origin(), number, user_id)
    flash(f"{user.email} can no longer log in to the portal.", "info")
    return redirect(url_for("staff.customer", number=number))


@bp.post("/customers/<number>/users/<int:user_id>/invite")
@staff_required(action=rules.ISSUE)
def reinvite_user(number: str, user_id: int) -> Any:
    if not ConfirmForm().validate_on_submit():
        raise ValidationFailed({}, "The form was not valid.")
    user, sent = user_service.reinvite(context(), staff_origin(), number, user_id)
    flash(_sent_note(sent, user.email), "info")
    return redirect(url_for("staff.customer", number=number))
