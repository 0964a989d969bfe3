"""The console's home: the dashboard, and one search box across customers,
licences and installations (with a query: its results instead of the dashboard)."""

from __future__ import annotations

from typing import Any

from flask import render_template, request

from licserver.domain import staff as rules
from licserver.runtime import context
from licserver.services import dashboard
from licserver.services import staff_console as console
from licserver.web.staff import dashboard as dashboard_page
from licserver.web.staff.base import bp, staff_required
from licserver.web.staff.forms import ReasonForm


@bp.get("/")
@staff_required(action=rules.VIEW)
def index() -> Any:
    query = request.args.get("q", "")
    if query.strip():
        results = console.search(context(), query)
        return render_template(
            "staff/search.html", query=query, results=results, form=ReasonForm(), board=None
        )
    board = dashboard.read(context())
    return render_template(
        "staff/search.html",
        query=query,
        results=None,
        form=ReasonForm(),
        board=board,
        charts=dashboard_page.render(board),
    )
