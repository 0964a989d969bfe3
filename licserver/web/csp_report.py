"""POST /csp-report: where every page's Content-Security-Policy sends its
violation reports (``report-uri`` and ``report-to``). Rate-limited per
address (CSP_REPORT_LIMIT), bodies over domain.csp.MAX_BODY_BYTES refused
with 413; the reports are logged (services.csp_reports), never stored."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, current_app, request

from licserver.domain.csp import MAX_BODY_BYTES
from licserver.runtime import context
from licserver.services import csp_reports

PATH = "/csp-report"
bp = Blueprint("csp_report", __name__)


@bp.post(PATH)
def report() -> Response:
    length = request.content_length
    if length is not None and length > MAX_BODY_BYTES:
        return Response(status=413)
    raw = request.stream.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        return Response(status=413)
    csp_reports.record(context(), raw, request.remote_addr)
    return Response(status=204)


def init_app(app: Flask) -> None:
    limiter = app.extensions["licserver.limiter"]
    limiter.limit(lambda: current_app.config["CSP_REPORT_LIMIT"])(bp)
    app.register_blueprint(bp)
