"""A licence's page and every change to it, each through the licences and
activation services (events name the staff user)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from flask import flash, redirect, render_template, url_for

from licserver.domain import staff as rules
from licserver.domain.errors import ValidationFailed
from licserver.runtime import context
from licserver.services import activation as activation_service
from licserver.services import console_lists as lists
from licserver.services import license_changes
from licserver.services import licenses as license_service
from licserver.services import policy_views as views
from licserver.services import staff_console as console
from licserver.web.shared.forms import choices
from licserver.web.staff.base import bp, current_staff, staff_origin, staff_required
from licserver.web.staff.forms import ConfirmForm, IssueForm, ReasonForm, RenewForm, TermsForm


def end_of_day(day: date | None) -> datetime | None:
    """An expiry date means "valid through that day" (UTC)."""
    if day is None:
        return None
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)


def _detail(public_id: str, *, shown: dict[str, str] | None = None, status: int = 200) -> Any:
    data = console.license_page(context(), public_id)
    lic = data.license
    terms = TermsForm(
        formdata=None,
        seats=lic.seats,
        expires_on=lic.expires_at.date() if lic.expires_at else None,
    )
    return render_template(
        "staff/license.html",
        data=data,
        lic=lic,
        shown=shown or {},
        reason_form=ReasonForm(formdata=None),
        confirm=ConfirmForm(),
        terms=terms,
        model=views.licence_model(context(), lic),
        renew=RenewForm(formdata=None),
    ), status


@bp.get("/licenses/<public_id>")
@staff_required(action=rules.VIEW)
def license(public_id: str) -> Any:
    return _detail(public_id)


@bp.post("/licenses/<public_id>/installations/<activation_id>/deactivate")
@staff_required(action=rules.DEACTIVATE)
def deactivate(public_id: str, activation_id: str) -> Any:
    form = ReasonForm()
    if not form.validate_on_submit():
        raise ValidationFailed(
            {"reason": form.reason.errors},
            "The reason is not valid: " + "; ".join(form.reason.errors),
        )
    act = console.installation(context(), public_id, activation_id)
    reason = (form.reason.data or "").strip() or None
    done = activation_service.deactivate(context(), act.public_id, staff_origin(), reason=reason)
    flash(f"{done.machine_name} is deactivated; its seat is free.", "info")
    return redirect(url_for("staff.license", public_id=public_id))


_STATUS_ACTIONS = {
    "suspend": rules.SUSPEND,
    "reinstate": rules.SUSPEND,
    "revoke": rules.REVOKE,
}


@bp.post("/licenses/<public_id>/status/<action>")
@staff_required(action=rules.VIEW)
def change_status(public_id: str, action: str) -> Any:
    needed = _STATUS_ACTIONS.get(action)
    if needed is None:
        raise ValidationFailed({"action": ["suspend, reinstate or revoke"]}, "Unknown action.")
    rules.check(current_staff().role, needed)
    form = ReasonForm()
    if not form.validate_on_submit():
        raise ValidationFailed({"reason": form.reason.errors}, "The reason is not valid.")
    lic = license_changes.change_status(
        context(), staff_origin(), public_id, action, (form.reason.data or "").strip() or None
    )
    flash(f"Licence {lic.public_id} is {lic.status}.", "info")
    return redirect(url_for("staff.license", public_id=lic.public_id))


@bp.post("/licenses/<public_id>/password")
@staff_required(action=rules.REGENERATE_PASSWORD)
def regenerate_password(public_id: str) -> Any:
    if not ConfirmForm().validate_on_submit():
        raise ValidationFailed({}, "The form was not valid.")
    lic, password = license_changes.regenerate_password(context(), staff_origin(), public_id)
    flash("A new activation password is set; the old one no longer activates.", "info")
    return _detail(lic.public_id, shown={"activation_password": password})


@bp.post("/licenses/<public_id>/key")
@staff_required(action=rules.REISSUE_KEY)
def reissue_key(public_id: str) -> Any:
    if not ConfirmForm().validate_on_submit():
        raise ValidationFailed({}, "The form was not valid.")
    lic, key = license_changes.reissue_key(context(), staff_origin(), public_id)
    flash("A new licence key is issued; the old key no longer activates.", "info")
    return _detail(lic.public_id, shown={"license_key": key})


@bp.post("/licenses/<public_id>/reveal")
@staff_required(action=rules.VIEW)
def reveal(public_id: str) -> Any:
    if not ConfirmForm().validate_on_submit():
        raise ValidationFailed({}, "The form was not valid.")
    deps = context()
    secrets = license_service.reveal(deps, license_service.get(context(), public_id))
    return _detail(
        public_id,
        shown={"license_key": secrets.key, "activation_password": secrets.activation_password},
    )


@bp.post("/licenses/<public_id>/terms")
@staff_required(action=rules.CHANGE_TERMS)
def change_terms(public_id: str) -> Any:
    form = TermsForm()
    if not form.validate_on_submit():
        errors = {k: list(v) for k, v in form.errors.items()}
        raise ValidationFailed(errors, "Some fields are not valid.")
    lic = license_changes.update(
        context(),
        staff_origin(),
        public_id,
        {"seats": form.seats.data, "expires_at": end_of_day(form.expires_on.data)},
    )
    flash(
        f"Licence {lic.public_id}: {lic.seats} seats, "
        f"{'expires ' + lic.expires_at.strftime('%Y-%m-%d') if lic.expires_at else 'no expiry'}.",
        "info",
    )
    return redirect(url_for("staff.license", public_id=lic.public_id))


@bp.post("/customers/<number>/licenses")
@staff_required(action=rules.ISSUE)
def issue(number: str) -> Any:
    form = _issue_choices(IssueForm())
    if not form.validate_on_submit():
        errors = {k: list(v) for k, v in form.errors.items()}
        raise ValidationFailed(errors, "Some fields are not valid.")
    kwargs: dict[str, Any] = {}
    if form.expires_on.data is not None:
        kwargs["expires_at"] = end_of_day(form.expires_on.data)
    lic, secrets = license_service.create(
        context(),
        staff_origin(),
        product=form.product.data,
        customer=number,
        seats=form.seats.data,
        policy=form.policy.data or None,
        **kwargs,
    )
    flash(f"Licence {lic.public_id} issued. The key and activation password are below.", "info")
    return _detail(
        lic.public_id,
        shown={"license_key": secrets.key, "activation_password": secrets.activation_password},
        status=200,
    )


def _issue_choices(form: IssueForm) -> IssueForm:
    form.product.choices = choices([(p.code, p.name) for p in console.products(context())])
    policies = [(p.public_id, f"{p.name} ({p.product.code})") for p in lists.policies(context())]
    form.policy.choices = choices([("", "none: the defaults"), *policies])
    return form


def issue_form() -> IssueForm:
    return _issue_choices(IssueForm(formdata=None))
