"""Users: list, invite, change role and licence limits, remove."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import current_app, flash, redirect, render_template, request, url_for

from licserver.domain import portal as rules
from licserver.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from licserver.runtime import context
from licserver.services import portal_licenses as license_svc
from licserver.services import portal_users as svc
from licserver.web.portal.base import bp, me, page, principal, requires
from licserver.web.portal.forms import ConfirmForm, UserForm
from licserver.web.shared.forms import page_message

if TYPE_CHECKING:
    from licserver.models import User


def _license_choices() -> list[tuple[str, str]]:
    return [
        (lic.public_id, f"{lic.public_id} — {lic.product.name}")
        for lic in license_svc.list_licenses(context(), principal())
    ]


def _form(user: User | None = None) -> UserForm:
    roles = rules.assignable_roles(principal().role)
    form = UserForm(obj=None)
    if user is not None and request.method == "GET":
        form.role.data = user.role
        form.licenses.data = [lic.public_id for lic in user.licenses]
    return form.setup(roles, _license_choices())


def _by() -> str:
    """Who acts, as the emails to owners name them."""
    return me().email or me().name


@bp.get("/users")
@requires(rules.USERS)
def users() -> Any:
    rows = svc.list_users(context(), principal())
    return render_template(
        "portal/users.html",
        users=rows,
        manageable=set(rules.assignable_roles(principal().role)),
        form=ConfirmForm(),
    )


@bp.route("/users/new", methods=["GET", "POST"])
@requires(rules.USERS)
def invite() -> Any:
    form = _form()
    error = None
    if request.method == "POST" and form.validate_on_submit():
        if not form.name.data or not form.email.data:
            error = "Give the new user's name and email."
        else:
            try:
                inv = svc.invite(
                    context(),
                    principal(),
                    email=form.email.data,
                    name=form.name.data.strip(),
                    role=form.role.data,
                    licenses=list(form.licenses.data or []),
                    ttl_hours=current_app.config["INVITATION_TTL_HOURS"],
                    by=_by(),
                )
            except (Conflict, ValidationFailed) as exc:
                error = page_message(exc)
            else:
                flash(
                    f"{inv.user.email} is invited"
                    + (
                        "; the invitation email is on its way."
                        if inv.sent
                        else ", but the email could not be sent."
                    ),
                    "info",
                )
                return redirect(url_for("portal.users"))
    status = 422 if (error or form.errors) else 200
    return render_template("portal/user_form.html", form=form, user=None, error=error), status


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@requires(rules.USERS)
def edit_user(user_id: int) -> Any:
    user = svc.get_user(context(), principal(), user_id)
    if user.role not in rules.assignable_roles(principal().role):
        raise Forbidden(f"A {principal().role} may not change a user who is {user.role}.")
    form = _form(user)
    error = None
    if request.method == "POST" and form.validate_on_submit():
        try:
            change = svc.update(
                context(),
                principal(),
                user_id,
                role=form.role.data,
                licenses=list(form.licenses.data or []),
                by=_by(),
            )
        except (Conflict, ValidationFailed) as exc:
            error = page_message(exc)
        else:
            flash(f"{change.user.email} is now {change.user.role}.", "info")
            return redirect(url_for("portal.users"))
    status = 422 if (error or form.errors) else 200
    return render_template("portal/user_form.html", form=form, user=user, error=error), status


@bp.route("/users/<int:user_id>/remove", methods=["GET", "POST"])
@requires(rules.USERS)
def remove_user(user_id: int) -> Any:
    user = svc.get_user(context(), principal(), user_id)
    rules.check_manage(principal(), user.role)
    form = ConfirmForm()
    if request.method == "POST" and form.validate_on_submit():
        try:
            removed = svc.remove(context(), principal(), user_id)
        except Conflict as exc:
            return page(409, "Not possible", exc.detail)
        flash(f"{removed.email} can no longer log in.", "info")
        return redirect(url_for("portal.users"))
    return render_template("portal/remove_user.html", user=user, form=form)


@bp.post("/users/<int:user_id>/invitation")
@requires(rules.USERS)
def reinvite(user_id: int) -> Any:
    if not ConfirmForm().validate_on_submit():
        raise NotFound()
    inv = svc.reinvite(context(), principal(), user_id, current_app.config["INVITATION_TTL_HOURS"])
    flash(
        f"A new invitation was sent to {inv.user.email}."
        if inv.sent
        else "The invitation email could not be sent.",
        "info",
    )
    return redirect(url_for("portal.users"))
