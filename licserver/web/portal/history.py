"""Activation history: filters, pages, CSV export."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import render_template, request

from licserver.domain import portal as rules
from licserver.domain.errors import ValidationFailed
from licserver.domain.portal import Principal
from licserver.runtime import context
from licserver.services import portal_history as svc
from licserver.services import portal_licenses as license_svc
from licserver.services.portal_history import Filters, Row
from licserver.web.portal.base import bp, principal, requires
from licserver.web.portal.forms import HistoryFilters, choices
from licserver.web.shared import csv_export

PAGE_SIZE = 50
CSV_COLUMNS = (
    "at",
    "event",
    "license_id",
    "installation_id",
    "machine_name",
    "actor",
    "ip",
    "reason",
)


def _form() -> tuple[HistoryFilters, Filters]:
    form = HistoryFilters(request.args)
    lics = license_svc.list_licenses(context(), principal())
    mine = [(lic.public_id, f"{lic.public_id} ({lic.product.name})") for lic in lics]
    form.license.choices = choices([("", "all licences"), *mine])
    form.kind.choices = choices([("", "all events")] + [(k, k) for k in svc.KINDS])
    if not form.validate():
        raise ValidationFailed(
            {k: [str(m) for m in v] for k, v in form.errors.items()},
            "A filter is not valid: " + "; ".join(f"{k}: {v[0]}" for k, v in form.errors.items()),
        )
    f = Filters(
        license=form.license.data or None,
        machine_name=(form.machine_name.data or "").strip() or None,
        installation_id=(form.installation_id.data or "").strip() or None,
        kind=form.kind.data or None,
        since=form.since.data,
        until=form.until.data,
    )
    return form, f


def actor_text(row: Row) -> str:
    e = row.event
    return f"{e.actor_type}: {e.actor_id}" if e.actor_id else e.actor_type


@bp.get("/history")
@requires(rules.VIEW)
def history() -> Any:
    form, filters = _form()
    cursor = request.args.get("cursor") or None
    rows, next_cursor = svc.page(context(), principal(), filters, limit=PAGE_SIZE, cursor=cursor)
    query = {k: v for k, v in request.args.items() if k != "cursor" and v}
    return render_template(
        "portal/history.html",
        form=form,
        rows=rows,
        next_cursor=next_cursor,
        query=query,
        first_page=cursor is None,
        actor_text=actor_text,
    )


@bp.get("/history.csv")
@requires(rules.VIEW)
def history_csv() -> Any:
    _, filters = _form()
    who = principal()
    return csv_export.response(_csv(who, filters), "activation-history.csv")


def _csv(who: Principal, filters: Filters) -> Iterator[list[Any]]:
    yield list(CSV_COLUMNS)
    for row in svc.all_rows(context(), who, filters):
        e = row.event
        yield [
            e.at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            e.kind,
            row.license_id,
            e.installation_id,
            e.machine_name,
            actor_text(row),
            e.ip,
            e.reason,
        ]
