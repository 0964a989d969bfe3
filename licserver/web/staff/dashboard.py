"""The console's home: the dashboard (licserver.services.dashboard) above the
search box, its charts drawn here (licserver.web.staff.charts)."""

from __future__ import annotations

from typing import Any

from flask import Response

from licserver.web.staff.base import bp

# charts (pygal) is imported by the first dashboard drawn, not by every
# process that builds the application (a worker, a test's app).


@bp.get("/charts.css")
def charts_css() -> Response:
    """The charts' stylesheet (pygal's rules, by class): nothing secret in it."""
    from licserver.web.staff import charts

    resp = Response(charts.stylesheet(), mimetype="text/css")
    resp.headers["Cache-Control"] = "public, max-age=3600"
    return resp


def render(d: Any) -> dict[str, Any]:
    """The charts of a dashboard, by name, for staff/_dashboard.html."""
    from licserver.web.staff import charts

    fresh = [f.product for f in d.freshness]
    return {
        "activations": charts.per_day("Activations per day", d.days, d.activations),
        "refusals": charts.per_day("Refusals per day", d.days, d.refusals),
        "seat_use": charts.bars("Active licences by seats used", d.seat_use),
        "expiring": charts.bars("Licences expiring in the next 30 days", d.expiring_by_week),
        "codes": charts.bars(
            "Refusals by code, last 90 days", d.refusals_by_code or [("none", 0)], horizontal=True
        ),
        "freshness": charts.split(
            "Live machines by last check-in",
            fresh,
            {
                "seen within the grace period": [f.seen for f in d.freshness],
                "not seen within it": [f.not_seen for f in d.freshness],
            },
        ),
    }
