"""Bulk actions on the filtered licence list: the list page's "Bulk action"
form (GET) opens a preview of the set (how many, the first ones), whose
button (POST, CSRF-checked) runs it; the answer is the run's summary. No
JavaScript. The filters and the preview's snapshot (``upto``) travel in the
form, so the run acts on the set previewed (``services.bulk``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from flask import render_template, request

from licserver.domain import bulk as bulk_rules
from licserver.domain import staff as rules
from licserver.domain.errors import ValidationFailed
from licserver.runtime import context
from licserver.services import bulk as svc
from licserver.web.staff.base import bp, current_staff, staff_origin, staff_required
from licserver.web.staff.forms import ConfirmForm
from licserver.web.staff.licenses import end_of_day
from licserver.web.staff.lists import filters_from, int_arg

# The query-string names of the list's filters (``lists.filters_from``).
FILTER_ARGS = ("q", "status", "product", "policy", "customer", "expiring")
_NEEDS = {bulk_rules.SUSPEND: rules.SUSPEND, bulk_rules.REINSTATE: rules.SUSPEND}


def _until(args: Mapping[str, str]) -> Any:
    text = (args.get("until") or "").strip()
    if not text:
        return None
    try:
        return end_of_day(date.fromisoformat(text))
    except ValueError:
        raise ValidationFailed({"until": ["A date: YYYY-MM-DD."]}, "Date: YYYY-MM-DD.") from None


def _action(args: Mapping[str, str]) -> bulk_rules.Action:
    kind = (args.get("action") or "").strip()
    act = svc.action(
        kind,
        days=int_arg(args, "days", "Days"),
        until=_until(args),
        seats=int_arg(args, "seats", "Seats to add"),
    )
    rules.check(current_staff().role, _NEEDS.get(act.kind, rules.CHANGE_TERMS))
    return act


def _carried(args: Mapping[str, str]) -> dict[str, str]:
    """The filters and the action's values, for the next form's hidden fields."""
    names = (*FILTER_ARGS, "action", "days", "until", "seats")
    return {n: args[n] for n in names if args.get(n)}


@bp.get("/licenses/bulk")
@staff_required(action=rules.VIEW)
def bulk_preview() -> Any:
    args = request.args
    act = _action(args)
    found = svc.preview(context(), filters_from(args), act)
    return render_template(
        "staff/bulk.html",
        preview=found,
        carried=_carried(args),
        list_query={n: args[n] for n in FILTER_ARGS if args.get(n)},
        form=ConfirmForm(),
        summary=None,
    )


@bp.post("/licenses/bulk")
@staff_required(action=rules.VIEW)
def bulk_run() -> Any:
    if not ConfirmForm().validate_on_submit():
        raise ValidationFailed({}, "The form was not valid: open the preview again.")
    args = request.form
    act = _action(args)
    upto = int_arg(args, "upto", "Snapshot")
    if upto is None:
        raise ValidationFailed({"upto": ["Missing."]}, "Open the preview again.")
    summary = svc.run(context(), staff_origin(), filters_from(args), act, upto)
    return render_template(
        "staff/bulk.html",
        preview=None,
        action=act,
        summary=summary,
        list_query={n: args[n] for n in FILTER_ARGS if args.get(n)},
    )
