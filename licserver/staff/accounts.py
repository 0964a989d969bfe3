"""Staff accounts: list, create, disable (admins only)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for

from licserver.domain import staff as rules
from licserver.domain.errors import Conflict, ValidationFailed
from licserver.extensions import db
from licserver.services import staff as staff_service
from licserver.services import staff_audit
from licserver.staff.base import add_nav, bp, current_staff, staff_origin, staff_required
from licserver.staff.forms import ConfirmForm, StaffForm


def _page(form: StaffForm, status: int = 200) -> Any:
    return render_template(
        "staff/accounts.html",
        accounts=staff_service.list_staff(db.session()),
        form=form,
        confirm=ConfirmForm(),
    ), status


@bp.get("/staff")
@staff_required(action=rules.STAFF)
def accounts() -> Any:
    return _page(StaffForm())


@bp.post("/staff")
@staff_required(action=rules.STAFF)
def create_account() -> Any:
    form = StaffForm()
    if not form.validate_on_submit():
        return _page(form, 422)
    try:
        row = staff_service.create(
            db.session(),
            email=form.email.data,
            name=form.name.data,
            role=form.role.data,
            password=form.password.data,
        )
    except Conflict as exc:
        form.email.errors = [exc.detail]
        return _page(form, 409)
    staff_audit.record(
        db.session(),
        "staff.created",
        staff_origin(),
        {"staff": row.public_id, "email": row.email, "role": row.role},
    )
    flash(f"{row.email} ({row.role}) can now log in to the console.", "info")
    return redirect(url_for("staff.accounts"))


@bp.post("/staff/<public_id>/disable")
@staff_required(action=rules.STAFF)
def disable_account(public_id: str) -> Any:
    if not ConfirmForm().validate_on_submit():
        raise ValidationFailed({}, "The form was not valid.")
    if public_id == current_staff().public_id:
        raise Conflict("You cannot disable your own account; ask another admin.")
    row = staff_service.disable(db.session(), public_id)
    staff_audit.record(
        db.session(), "staff.disabled", staff_origin(), {"staff": row.public_id, "email": row.email}
    )
    flash(f"{row.email} is disabled; their sessions have ended.", "info")
    return redirect(url_for("staff.accounts"))


add_nav("staff.accounts", "Staff", rules.ADMIN)
