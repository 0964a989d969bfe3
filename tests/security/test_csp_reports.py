"""CSP violation reports: every page's policy names POST /csp-report, which
logs each report (URLs redacted), refuses large bodies, is rate-limited per
address and stores nothing."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from licserver.domain.csp import MAX_BODY_BYTES

TOKEN = "Sup3rSecretResetToken"
CLASSIC = {
    "csp-report": {
        "document-uri": f"https://portal.test/portal/reset/{TOKEN}",
        "violated-directive": "style-src",
        "effective-directive": "style-src-elem",
        "blocked-uri": "https://evil.test/x.css",
        "source-file": "https://portal.test/portal/reset/x",
        "line-number": 3,
    }
}
REPORTING_API = [
    {
        "type": "csp-violation",
        "age": 1,
        "url": "https://portal.test/portal/login",
        "body": {
            "documentURL": "https://portal.test/portal/login",
            "effectiveDirective": "img-src",
            "blockedURL": "data",
        },
    },
    {"type": "deprecation", "body": {"id": "x"}},
]


def _post(client: FlaskClient, body: Any, content_type: str) -> int:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post("/csp-report", data=data, content_type=content_type).status_code


@pytest.mark.parametrize("path", ["/portal/login", "/admin/login", "/api/v1/keys", "/api/docs"])
def test_every_policy_reports_to_the_endpoint(client: FlaskClient, path: str) -> None:
    r = client.get(path)
    assert "report-uri /csp-report; report-to csp" in r.headers["Content-Security-Policy"]
    assert r.headers["Reporting-Endpoints"] == 'csp="/csp-report"'


def test_reports_are_logged_redacted(client: FlaskClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="licserver.csp"):
        assert _post(client, CLASSIC, "application/csp-report") == 204
        assert _post(client, REPORTING_API, "application/reports+json") == 204
        assert _post(client, b"not json at all", "application/csp-report") == 204
    lines = [r.getMessage() for r in caplog.records if r.name == "licserver.csp"]
    assert len(lines) == 2, lines
    assert "style-src-elem blocked https://evil.test/x.css" in lines[0]
    assert "/portal/reset/[redacted]" in lines[0] and TOKEN not in lines[0]
    assert "img-src blocked data on https://portal.test/portal/login" in lines[1]


def test_a_large_report_is_refused_unread(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    big = {"csp-report": {**CLASSIC["csp-report"], "script-sample": "x" * MAX_BODY_BYTES}}
    with caplog.at_level(logging.WARNING, logger="licserver.csp"):
        assert _post(client, big, "application/csp-report") == 413
    assert not [r for r in caplog.records if r.name == "licserver.csp"]


@pytest.fixture
def limited(app_config: dict[str, Any]) -> dict[str, Any]:
    app_config.update(RATE_LIMITS="on", CSP_REPORT_LIMIT="2 per minute")
    return app_config


def test_reports_are_rate_limited_per_address(limited: dict[str, Any], app: Flask) -> None:
    client = app.test_client()
    codes = [_post(client, CLASSIC, "application/csp-report") for _ in range(3)]
    assert codes == [204, 204, 429]
