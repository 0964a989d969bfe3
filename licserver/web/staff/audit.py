"""The audit log: every staff and API-token change across the server,
filtered by actor, kind and dates, in pages and as CSV."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import render_template, request

from licserver.domain import staff as rules
from licserver.domain.errors import ValidationFailed
from licserver.runtime import context
from licserver.services import audit as svc
from licserver.web.shared import csv_export
from licserver.web.staff.base import add_nav, bp, staff_required

PAGE_SIZE = 100


def _day(name: str, label: str) -> date | None:
    text = (request.args.get(name) or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(
            {name: [f"{label}: a date as YYYY-MM-DD."]}, f"{label}: a date as YYYY-MM-DD."
        ) from None


def _filters() -> svc.AuditFilters:
    return svc.AuditFilters(
        actor=(request.args.get("actor") or "").strip()[:200],
        kind=(request.args.get("kind") or "").strip()[:64],
        since=_day("since", "From"),
        until=_day("until", "To"),
    )


@bp.get("/audit")
@staff_required(rules.ADMIN, action=rules.VIEW)
def audit() -> Any:
    filters = _filters()
    cursor = request.args.get("cursor") or None
    limit = request.args.get("limit", type=int) or PAGE_SIZE
    found = svc.page(context(), filters, cursor, max(1, min(limit, 200)))
    query = {k: v for k, v in request.args.items() if k != "cursor" and v}
    return render_template(
        "staff/audit.html",
        page=found,
        filters=filters,
        kinds=svc.kinds(context()),
        query=query,
        first_page=cursor is None,
    )


@bp.get("/audit.csv")
@staff_required(rules.ADMIN, action=rules.VIEW)
def audit_csv() -> Any:
    return csv_export.response(svc.export(context(), _filters()), "audit-log.csv")


add_nav("staff.audit", "Audit log", rules.ADMIN)
