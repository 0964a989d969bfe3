"""The console's home: one search box across customers, licences and installations."""

from __future__ import annotations

from typing import Any

from flask import render_template, request

from licserver.domain import staff as rules
from licserver.runtime import context
from licserver.services import staff_console as console
from licserver.web.staff.base import bp, staff_required
from licserver.web.staff.forms import ReasonForm


@bp.get("/")
@staff_required(action=rules.VIEW)
def index() -> Any:
    query = request.args.get("q", "")
    results = console.search(context(), query) if query.strip() else None
    return render_template("staff/search.html", query=query, results=results, form=ReasonForm())
