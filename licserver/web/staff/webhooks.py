"""Webhook endpoints in the staff console (admins): list, add (the secret is
shown once), enable/disable, remove, send a test ping, the delivery log of
each endpoint and "retry now". Everything goes through services.webhooks."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from flask import flash, make_response, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField
from wtforms.validators import DataRequired, Length, Optional

from licserver.domain import staff as rules
from licserver.domain.errors import ValidationFailed
from licserver.runtime import context
from licserver.services import webhooks as svc
from licserver.web.shared.forms import field_errors, plain_text
from licserver.web.staff.base import add_nav, bp, staff_required
from licserver.web.staff.forms import ConfirmForm

if TYPE_CHECKING:
    from licserver.models.webhook import WebhookDelivery

PAGE_SIZE = 50


class WebhookForm(FlaskForm):  # type: ignore[misc]
    url = StringField("URL", validators=[DataRequired(), Length(1, 2000)], default="https://")
    events = StringField(
        "Events",
        validators=[DataRequired(), Length(1, 2000)],
        default="*",
    )
    description = StringField("Description", validators=[Optional(), Length(max=200), plain_text])
    include_ip = BooleanField("Include client IP addresses (personal data)")


def _patterns(text: str) -> list[str]:
    return [p for p in re.split(r"[\s,]+", text.strip()) if p]


def _list_page(form: WebhookForm, status: int = 200) -> Any:
    endpoints, _ = svc.page(context(), 200, None)
    counts = svc.status_counts(context(), [e.id for e in endpoints])
    return render_template(
        "staff/webhooks.html", endpoints=endpoints, counts=counts, form=form
    ), status


@bp.get("/webhooks")
@staff_required(rules.ADMIN)
def webhooks() -> Any:
    return _list_page(WebhookForm(formdata=None))


@bp.post("/webhooks")
@staff_required(rules.ADMIN)
def webhook_create() -> Any:
    form = WebhookForm()
    if not form.validate_on_submit():
        return _list_page(form, 422)
    try:
        endpoint, secret = svc.create(
            context(),
            url=form.url.data.strip(),
            events=_patterns(form.events.data),
            description=(form.description.data or "").strip() or None,
            include_ip=bool(form.include_ip.data),
        )
    except ValidationFailed as exc:
        field_errors(form, exc, default="url")
        return _list_page(form, 422)
    resp = make_response(
        render_template("staff/webhook_created.html", endpoint=endpoint, secret=secret)
    )
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("/webhooks/<webhook_id>")
@staff_required(rules.ADMIN)
def webhook(webhook_id: str) -> Any:
    status = request.args.get("status") or None
    if status not in (None, *svc.STATUSES):
        status = None
    endpoint = svc.get(context(), webhook_id)
    rows, next_cursor, attempts = svc.deliveries_page(
        context(), webhook_id, PAGE_SIZE, request.args.get("cursor") or None, status
    )
    return render_template(
        "staff/webhook.html",
        endpoint=endpoint,
        deliveries=rows,
        attempts=attempts,
        status=status,
        next_cursor=next_cursor,
        counts=svc.status_counts(context(), [endpoint.id]).get(endpoint.id, {}),
        confirm=ConfirmForm(),
    )


def _back(webhook_id: str) -> Any:
    return redirect(url_for("staff.webhook", webhook_id=webhook_id))


def _confirmed() -> None:
    if not ConfirmForm().validate_on_submit():  # the CSRF check already ran; belt and braces
        raise ValidationFailed({"form": ["The form was not valid."]})


@bp.post("/webhooks/<webhook_id>/enable")
@staff_required(rules.ADMIN)
def webhook_enable(webhook_id: str) -> Any:
    _confirmed()
    svc.update_endpoint(context(), webhook_id, {"enabled": True})
    flash("Enabled: the endpoint is sent the events from now on.", "info")
    return _back(webhook_id)


@bp.post("/webhooks/<webhook_id>/disable")
@staff_required(rules.ADMIN)
def webhook_disable(webhook_id: str) -> Any:
    _confirmed()
    svc.update_endpoint(context(), webhook_id, {"enabled": False})
    flash("Disabled: nothing is sent to this endpoint until it is enabled again.", "info")
    return _back(webhook_id)


@bp.post("/webhooks/<webhook_id>/delete")
@staff_required(rules.ADMIN)
def webhook_delete(webhook_id: str) -> Any:
    _confirmed()
    svc.delete_endpoint(context(), webhook_id)
    flash(f"Webhook {webhook_id} removed, with its delivery log.", "info")
    return redirect(url_for("staff.webhooks"))


def _said(d: WebhookDelivery) -> str:
    if d.status == "delivered":
        return f"delivered (HTTP {d.last_status_code}, {d.last_duration_ms} ms)"
    return f"not delivered: {d.last_error}"


@bp.post("/webhooks/<webhook_id>/test")
@staff_required(rules.ADMIN)
def webhook_test(webhook_id: str) -> Any:
    _confirmed()
    d = svc.send_ping(context(), webhook_id)
    flash(f"Test ping {_said(d)}.", "info" if d.status == "delivered" else "error")
    return _back(webhook_id)


@bp.post("/webhooks/<webhook_id>/deliveries/<int:delivery_id>/retry")
@staff_required(rules.ADMIN)
def webhook_retry(webhook_id: str, delivery_id: int) -> Any:
    _confirmed()
    d = svc.retry_now(context(), webhook_id, delivery_id)
    flash(f"Delivery {delivery_id} {_said(d)}.", "info" if d.status == "delivered" else "error")
    return _back(webhook_id)


add_nav("staff.webhooks", "Webhooks", rules.ADMIN)
