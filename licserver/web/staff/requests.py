"""The queue of portal requests for more (seats, renewals): one-click approve
(the change is applied with the staff user as the actor) or decline with a
reason; the requester is emailed either way (services.license_requests)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for

from licserver.domain import requests as request_rules
from licserver.domain import staff as rules
from licserver.domain.errors import ValidationFailed
from licserver.runtime import context
from licserver.services import license_requests as svc
from licserver.web.shared.forms import page_message
from licserver.web.staff.base import add_nav, bp, staff_origin, staff_required
from licserver.web.staff.forms import ConfirmForm, ReasonForm


@bp.get("/requests")
@staff_required(action=rules.VIEW)
def requests_queue() -> Any:
    status = request.args.get("status", request_rules.PENDING)
    return render_template(
        "staff/requests.html",
        requests=svc.queue(context(), status),
        status=status if status in request_rules.STATUSES else request_rules.PENDING,
        statuses=request_rules.STATUSES,
        kinds=request_rules.KINDS,
        confirm=ConfirmForm(),
        reason_form=ReasonForm(formdata=None),
    )


@bp.post("/requests/<int:request_id>/approve")
@staff_required(action=rules.CHANGE_TERMS)
def approve_request(request_id: int) -> Any:
    req = svc.approve(context(), staff_origin(), request_id)
    flash(f"Approved: {req.license.public_id} is changed and the requester told.", "info")
    return redirect(url_for("staff.requests_queue"))


@bp.post("/requests/<int:request_id>/decline")
@staff_required(action=rules.CHANGE_TERMS)
def decline_request(request_id: int) -> Any:
    form = ReasonForm()
    if not form.validate_on_submit():
        _refuse(page_message(form))
    req = svc.decline(context(), staff_origin(), request_id, form.reason.data)
    flash(f"Declined: the request on {req.license.public_id}; the requester is told why.", "info")
    return redirect(url_for("staff.requests_queue"))


def _refuse(message: str) -> None:
    raise ValidationFailed({"form": [message]}, message)


add_nav("staff.requests_queue", "Requests")
