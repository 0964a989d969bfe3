"""Staff accounts: list, create, disable, enable, change a role, set a
temporary password (admins only); and one's own password (everyone)."""

from __future__ import annotations

from typing import Any

from flask import flash, make_response, redirect, render_template, url_for
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField
from wtforms.validators import DataRequired, EqualTo, Length

from licserver.domain import staff as rules
from licserver.domain.errors import Conflict, InvalidCredentials, ValidationFailed
from licserver.runtime import context
from licserver.services import staff as staff_service
from licserver.web.shared.forms import choices, field_errors
from licserver.web.shared.pages import limit_exceeded
from licserver.web.staff.base import (
    add_nav,
    bp,
    current_staff,
    staff_origin,
    staff_required,
    start_session,
)
from licserver.web.staff.forms import ConfirmForm, StaffForm

PASSWORD_MIN = staff_service.PASSWORD_MIN


class RoleForm(FlaskForm):  # type: ignore[misc]
    role = SelectField("Role", choices=choices([(r, r) for r in rules.ROLES]))


class PasswordForm(FlaskForm):  # type: ignore[misc]
    current = PasswordField("Current password", validators=[DataRequired(), Length(1, 256)])
    password = PasswordField(
        "New password",
        validators=[
            DataRequired(),
            Length(PASSWORD_MIN, 256, message=f"At least {PASSWORD_MIN} characters."),
        ],
    )
    confirm = PasswordField(
        "New password again",
        validators=[DataRequired(), EqualTo("password", message="The two differ.")],
    )


def _page(form: StaffForm, status: int = 200) -> Any:
    return render_template(
        "staff/accounts.html",
        accounts=staff_service.list_staff(context()),
        form=form,
        confirm=ConfirmForm(),
        role_form=RoleForm,
    ), status


def _confirmed(form: FlaskForm) -> None:
    if not form.validate_on_submit():
        raise ValidationFailed({}, "The form was not valid; reload the page and try again.")


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
            context(),
            email=form.email.data,
            name=form.name.data,
            role=form.role.data,
            password=form.password.data,
            origin=staff_origin(),
            temporary=True,  # they choose their own at the first log-in
        )
    except Conflict as exc:
        form.email.errors = [exc.detail]
        return _page(form, 409)
    flash(f"{row.email} ({row.role}) can now log in to the console.", "info")
    return redirect(url_for("staff.accounts"))


@bp.post("/staff/<public_id>/disable")
@staff_required(action=rules.STAFF)
def disable_account(public_id: str) -> Any:
    _confirmed(ConfirmForm())
    if public_id == current_staff().public_id:
        raise Conflict("You cannot disable your own account; ask another admin.")
    row = staff_service.disable(context(), public_id, staff_origin())
    flash(f"{row.email} is disabled; their sessions have ended.", "info")
    return redirect(url_for("staff.accounts"))


@bp.post("/staff/<public_id>/enable")
@staff_required(action=rules.STAFF)
def enable_account(public_id: str) -> Any:
    _confirmed(ConfirmForm())
    row = staff_service.enable(context(), public_id, staff_origin())
    flash(f"{row.email} ({row.role}) can log in again.", "info")
    return redirect(url_for("staff.accounts"))


@bp.post("/staff/<public_id>/role")
@staff_required(action=rules.STAFF)
def set_role(public_id: str) -> Any:
    form = RoleForm()
    _confirmed(form)
    row, before = staff_service.set_role(context(), public_id, form.role.data, staff_origin())
    if before != row.role:
        flash(f"{row.email} is now {row.role} (was {before}).", "info")
    if row.public_id == current_staff().public_id and not rules.allowed(row.role, rules.STAFF):
        return redirect(url_for("staff.index"))  # this page is no longer theirs
    return redirect(url_for("staff.accounts"))


@bp.post("/staff/<public_id>/password")
@staff_required(action=rules.STAFF)
def reset_password(public_id: str) -> Any:
    """A one-time temporary password, shown once to the admin who set it."""
    _confirmed(ConfirmForm())
    if public_id == current_staff().public_id:
        raise Conflict(
            "Change your own password on the Password page (it asks for the current one)."
        )
    temporary = rules.temporary_password()
    row = staff_service.set_password(context(), public_id, temporary, staff_origin())
    resp = make_response(
        render_template("staff/password_temporary.html", account=row, temporary=temporary)
    )
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.route("/account/password", methods=["GET", "POST"])
@staff_required()
def change_password() -> Any:
    me = current_staff()
    form = PasswordForm()
    status = 200
    if form.is_submitted():
        status = 422
        if form.validate():
            limit_exceeded("PORTAL_LOGIN_LIMIT", "staff-password", me.public_id, hit=False)
            try:
                ident = staff_service.change_own_password(
                    context(), me.id, form.current.data, form.password.data, staff_origin()
                )
            except InvalidCredentials as exc:
                limit_exceeded("PORTAL_LOGIN_LIMIT", "staff-password", me.public_id, hit=True)
                form.current.errors = [exc.detail]
                status = 401
            except ValidationFailed as exc:
                field_errors(form, exc, default="password")
            else:
                start_session(ident)  # this session goes on; every other one ends
                flash("Your password is changed; your other sessions have ended.", "info")
                return redirect(url_for("staff.change_password"))
    return render_template("staff/password.html", form=form, minimum=PASSWORD_MIN), status


add_nav("staff.accounts", "Staff", rules.ADMIN)
add_nav("staff.change_password", "Password", rules.SUPPORT)
