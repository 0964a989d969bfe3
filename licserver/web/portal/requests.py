"""Ask for more: a manager or owner requests more seats or a renewal of a
licence (or, when the product names one, is sent to the store's checkout)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for

from licserver.domain import portal as rules
from licserver.domain.errors import ValidationFailed
from licserver.runtime import context
from licserver.services import license_requests as svc
from licserver.web.portal.base import bp, principal, requires
from licserver.web.portal.forms import MoreForm
from licserver.web.shared.forms import page_message


def _page(public_id: str, form: MoreForm, status: int = 200, problem: str = "") -> Any:
    offer = svc.offer(context(), principal(), public_id)
    return render_template(
        "portal/request_more.html", offer=offer, lic=offer.license, form=form, problem=problem
    ), status


@bp.get("/licenses/<public_id>/more")
@requires(rules.REQUEST)
def request_more_form(public_id: str) -> Any:
    return _page(public_id, MoreForm(formdata=None))


@bp.post("/licenses/<public_id>/more")
@requires(rules.REQUEST)
def request_more(public_id: str) -> Any:
    form = MoreForm()
    if not form.validate_on_submit():
        return _page(public_id, form, 422, page_message(form))
    try:
        svc.submit(
            context(),
            principal(),
            public_id,
            kind=form.kind.data,
            seats=int(form.seats.data) if form.seats.data else None,
            note=form.note.data,
        )
    except ValidationFailed as exc:
        return _page(public_id, form, 422, page_message(exc))
    flash("Your request is sent. We email you when it is answered.", "info")
    return redirect(url_for("portal.license", public_id=public_id))
