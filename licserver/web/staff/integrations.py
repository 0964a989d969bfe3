"""Store integrations in the staff console (admins): the list, add, and a page
per integration with its webhook URL to copy, its settings and item mapping
(the signing secret write-only), and the log of received events with a
"Re-apply" button for those ignored or failed. Everything goes through
services.stores; every change is an ``integration.*`` event."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from licserver.domain import staff as rules
from licserver.domain.errors import ValidationFailed
from licserver.domain.stores import ON_REFUND, PROVIDERS
from licserver.runtime import context
from licserver.services.pagination import PageRequest
from licserver.services.stores import integrations as svc
from licserver.services.stores import receive
from licserver.web.shared.forms import choices, field_errors, plain_text
from licserver.web.staff.base import add_nav, bp, staff_origin, staff_required
from licserver.web.staff.forms import ConfirmForm

BLANK_ROWS = 3
REFUND_CHOICES = [("revoke", "Revoke the licence"), ("suspend", "Suspend the licence")]
assert [c for c, _ in REFUND_CHOICES] == list(ON_REFUND)


class ItemRow(Form):  # type: ignore[misc]
    """One row of the mapping (a sub-form: the page's form carries the CSRF token)."""

    store_item = StringField("Store item", validators=[Optional(), Length(max=200), plain_text])
    product = StringField("Product code", validators=[Optional(), Length(max=64)])
    policy = StringField("Policy", validators=[Optional(), Length(max=64)])
    seats_per_unit = IntegerField(
        "Seats per unit", validators=[Optional(), NumberRange(1, 100_000)]
    )
    duration_days = IntegerField("Days", validators=[Optional(), NumberRange(1, 36_500)])


class IntegrationForm(FlaskForm):  # type: ignore[misc]
    provider = SelectField("Store", choices=choices([(p, p) for p in PROVIDERS]))
    name = StringField("Name", validators=[DataRequired(), Length(1, 200), plain_text])
    on_refund = SelectField("On a full refund", choices=choices(REFUND_CHOICES))
    signing_secret = PasswordField(
        "Signing secret", validators=[Optional(), Length(max=500)]
    )  # write-only: never rendered back
    clear_secret = BooleanField("Clear the signing secret")
    items = FieldList(FormField(ItemRow), min_entries=0)


def _items(form: IntegrationForm) -> list[dict[str, Any]]:
    out = []
    for row in form.items.entries:
        d = row.form.data
        if not (d["store_item"] or "").strip():
            continue  # a blank row
        out.append(
            {
                "store_item": d["store_item"].strip(),
                "product": (d["product"] or "").strip(),
                "policy": (d["policy"] or "").strip() or None,
                "seats_per_unit": d["seats_per_unit"] or 1,
                "duration_days": d["duration_days"],
            }
        )
    return out


def _with_blank_rows(form: IntegrationForm, items: list[dict[str, Any]]) -> IntegrationForm:
    while form.items.entries:
        form.items.pop_entry()
    for item in items:
        form.items.append_entry(item)
    for _ in range(BLANK_ROWS):
        form.items.append_entry()
    return form


@bp.get("/integrations")
@staff_required(rules.ADMIN)
def integrations(form: IntegrationForm | None = None, status: int = 200) -> Any:
    page = svc.list_integrations(context(), PageRequest(200))
    form = form or IntegrationForm(formdata=None)
    return render_template("staff/integrations.html", rows=page.items, form=form), status


@bp.post("/integrations")
@staff_required(rules.ADMIN)
def integration_create() -> Any:
    form = IntegrationForm()
    if not form.validate_on_submit():
        return integrations(form, 422)
    values = {
        "provider": form.provider.data,
        "name": form.name.data.strip(),
        "on_refund": form.on_refund.data,
        "signing_secret": form.signing_secret.data or None,
        "items": [],
    }
    try:
        integ = svc.create(context(), values, staff_origin())
    except ValidationFailed as exc:
        field_errors(form, exc, default="name")
        return integrations(form, 422)
    flash("Added. Paste its webhook URL into the store, then map the store's items.", "info")
    return redirect(url_for("staff.integration", integration_id=integ.public_id))


def _page(integration_id: str, form: IntegrationForm | None = None, status: int = 200) -> Any:
    ctx = context()
    integ = svc.get(ctx, integration_id)
    if form is None:
        form = IntegrationForm(formdata=None, obj=None)
        form.name.data, form.on_refund.data = integ.name, integ.on_refund
        _with_blank_rows(form, list(integ.items))
    log = svc.events_page(ctx, integration_id, PageRequest(100, request.args.get("cursor")))
    return render_template(
        "staff/integration.html",
        integ=integ,
        url=svc.webhook_url(ctx, integ),
        form=form,
        events=log.items,
        next_cursor=log.next_cursor,
        confirm=ConfirmForm(),
        copy=request.args.get("copy") == "1",
    ), status


@bp.get("/integrations/<integration_id>")
@staff_required(rules.ADMIN)
def integration(integration_id: str) -> Any:
    return _page(integration_id)


@bp.post("/integrations/<integration_id>")
@staff_required(rules.ADMIN)
def integration_update(integration_id: str) -> Any:
    form = IntegrationForm()
    if not form.validate_on_submit():
        return _page(integration_id, form, 422)
    changes: dict[str, Any] = {
        "name": form.name.data.strip(),
        "on_refund": form.on_refund.data,
        "items": _items(form),
    }
    if form.clear_secret.data:
        changes["signing_secret"] = None
    elif form.signing_secret.data:
        changes["signing_secret"] = form.signing_secret.data
    try:
        svc.update(context(), integration_id, changes, staff_origin())
    except ValidationFailed as exc:
        field_errors(form, exc, default="name")
        return _page(integration_id, form, 422)
    flash("Saved.", "info")
    return redirect(url_for("staff.integration", integration_id=integration_id))


@bp.post("/integrations/<integration_id>/events/<event_id>/reapply")
@staff_required(rules.ADMIN)
def integration_reapply(integration_id: str, event_id: str) -> Any:
    if not ConfirmForm().validate_on_submit():
        raise ValidationFailed({"form": ["The form was not valid."]})
    ctx = context()
    row = receive.reapply_by_id(ctx, ctx.mailer, integration_id, event_id, staff_origin())
    flash(f"Event {event_id}: {row.outcome}. {row.detail or ''}", "info")
    return redirect(url_for("staff.integration", integration_id=integration_id) + "#events")


@bp.post("/integrations/<integration_id>/delete")
@staff_required(rules.ADMIN)
def integration_delete(integration_id: str) -> Any:
    if not ConfirmForm().validate_on_submit():
        raise ValidationFailed({"form": ["The form was not valid."]})
    svc.delete(context(), integration_id, staff_origin())
    flash(f"Integration {integration_id} removed with its event log; its licences stay.", "info")
    return redirect(url_for("staff.integrations"))


add_nav("staff.integrations", "Stores", rules.ADMIN)
