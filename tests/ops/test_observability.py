"""/metrics, X-Request-ID and JSON logs: in this process, and through a real
gunicorn with several workers (Prometheus multiprocess mode, JSON log lines)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from licserver import create_app
from licserver.config import ConfigError
from tests.ops.helpers import OpsServer, issue_licence
from tests.support import loopback
from tests.support.factory import AdminClient, Factory

Metrics = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(text: str) -> Metrics:
    out: Metrics = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(metrics: Metrics, name: str, **labels: str) -> float:
    return metrics.get((name, frozenset(labels.items())), 0.0)


def activate(client: FlaskClient, lic: Any, iid: str, password: str | None = None) -> Any:
    return client.post(
        "/api/v1/activations",
        json={
            "license_id": lic.id,
            "activation_password": password or lic.activation_password,
            "installation_id": iid,
            "machine_name": "PC",
        },
    )


# ---- metrics ----------------------------------------------------------------


def test_metrics_count_requests_activations_and_refusals(
    client: FlaskClient, factory: Factory
) -> None:
    lic = factory.license(seats=1)
    r = client.get("/metrics")
    assert r.status_code == 200
    assert r.content_type.startswith("text/plain; version=")
    assert r.content_type.count("charset") == 1
    before = scrape(r.get_data(as_text=True))

    assert activate(client, lic, "ops-metrics-0001").status_code == 201
    assert activate(client, lic, "ops-metrics-0001").status_code == 200
    assert activate(client, lic, "ops-metrics-0002").status_code == 409
    assert activate(client, lic, "ops-metrics-0003", password="wrong").status_code == 401
    assert client.get("/healthz").status_code == 200
    assert client.get("/no/such/page/123").status_code == 404

    after = scrape(client.get("/metrics").get_data(as_text=True))

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    route = {"method": "POST", "route": "/api/v1/activations"}
    requests = "licserver_http_requests_total"
    assert delta(requests, **route, status="201") == 1
    assert delta(requests, **route, status="200") == 1
    assert delta(requests, **route, status="409") == 1
    assert delta(requests, **route, status="401") == 1
    assert delta(requests, method="GET", route="/healthz", status="200") == 1
    # unknown paths share one label: a scanner cannot blow up the series
    assert delta(requests, method="GET", route="<unmatched>", status="404") == 1
    assert delta("licserver_http_request_duration_seconds_count", **route) == 4
    assert delta("licserver_http_request_duration_seconds_bucket", **route, le="+Inf") == 4
    assert delta("licserver_activations_total", result="created") == 1
    assert delta("licserver_activations_total", result="reused") == 1
    assert delta("licserver_refusals_total", code="SEAT_LIMIT_REACHED") == 1
    assert delta("licserver_refusals_total", code="INVALID_CREDENTIALS") == 1


def test_metrics_token_and_switch(app_config: dict[str, Any], tmp_path: Path) -> None:
    app = create_app({**app_config, "METRICS_TOKEN": "scrape-secret"})
    client = app.test_client()
    r = client.get("/metrics")
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert b"licserver_" not in r.data
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    r = client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"})
    assert r.status_code == 200 and b"licserver_http_requests_total" in r.data

    off = create_app({**app_config, "METRICS_ENABLED": "false"}).test_client()
    assert off.get("/metrics").status_code == 404


# ---- request ids --------------------------------------------------------------


def test_request_id_round_trip(client: FlaskClient, admin: AdminClient) -> None:
    r = client.post("/api/v1/validate", data="not json", headers={"X-Request-ID": "lb-7f3a.9:x_1"})
    assert r.status_code == 400
    assert r.headers["X-Request-ID"] == "lb-7f3a.9:x_1"
    assert r.get_json()["request_id"] == "lb-7f3a.9:x_1"
    assert r.get_json()["code"] == "MALFORMED_REQUEST"

    for bad in ("x" * 129, "<script>", "two words", ""):
        r = client.get("/api/v1/products/none", headers={"X-Request-ID": bad})
        rid = r.headers["X-Request-ID"]
        assert rid != bad and len(rid) == 32 and int(rid, 16) >= 0
    r = admin.get("/api/v1/products/none")
    assert r.status_code == 404
    assert r.get_json()["request_id"] == r.headers["X-Request-ID"]

    # every response has one, a fresh one each time; successes and pages too
    ids = {client.get("/healthz").headers["X-Request-ID"] for _ in range(3)}
    assert len(ids) == 3
    assert "X-Request-ID" in client.get("/portal/login").headers
    r = client.get("/api/v1/keys", headers={"X-Request-ID": "a" * 128})
    assert r.status_code == 200 and r.headers["X-Request-ID"] == "a" * 128
    assert "request_id" not in r.get_json()


def test_log_format_is_checked(app_config: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="LOG_FORMAT"):
        create_app({**app_config, "LOG_FORMAT": "xml"})


# ---- through gunicorn ------------------------------------------------------------


def _wait_for(check: Callable[[], Any], seconds: float = 10) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_json_logs_and_metrics_of_several_workers(ops_server: OpsServer, ops_app: Flask) -> None:
    server, prom_dir = ops_server.server, ops_server.prometheus_dir
    lic = issue_licence(seats=3)
    with loopback.Client(base_url=server.url, timeout=30) as http:
        before = scrape(http.get("/metrics").text)
        # at least 12, and until both workers have served some (which worker
        # takes a connection is the kernel's choice): bounded
        sent = 0
        while sent < 12 or (len(list(prom_dir.glob("counter_*.db"))) < 2 and sent < 400):
            assert http.get("/healthz", headers={"Connection": "close"}).status_code == 200
            sent += 1
        r = http.post(
            "/api/v1/activations",
            json={
                "license_id": lic.id,
                "activation_password": "wrong-password",
                "installation_id": "ops-json-0001",
                "machine_name": "PC",
            },
            headers={"X-Request-ID": "ops-json-req-1"},
        )
        assert r.status_code == 401
        assert r.headers["X-Request-ID"] == "ops-json-req-1"
        assert r.json()["request_id"] == "ops-json-req-1"
        metrics = scrape(http.get("/metrics").text)

    # every worker's counts, added up
    assert len(list(prom_dir.glob("counter_*.db"))) == 2

    def delta(name: str, **labels: str) -> float:
        return value(metrics, name, **labels) - value(before, name, **labels)

    assert (
        delta("licserver_http_requests_total", method="GET", route="/healthz", status="200") == sent
    )
    assert delta("licserver_refusals_total", code="INVALID_CREDENTIALS") == 1

    def access_line() -> dict[str, Any] | None:
        for line in server.log().splitlines():
            if line.startswith("{"):
                record = json.loads(line)
                if record.get("request_id") == "ops-json-req-1":
                    return dict(record)
        return None

    record = _wait_for(access_line)
    assert record is not None, server.log()
    assert record["logger"] == "licserver.access"
    assert record["level"] == "INFO"
    assert record["status"] == 401
    assert record["method"] == "POST" and record["route"] == "/api/v1/activations"
    assert record["ip"] == "127.0.0.1"
    assert isinstance(record["duration_ms"], float)
    assert record["ts"].endswith("+00:00")
    assert "wrong-password" not in server.log()
