"""Admin tokens: stored hashed, scopes enforced, revocation effective at the
next request, never taken from a query string — nor written to a log from one."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import EnvironBuilder

from licserver.extensions import db
from licserver.models import AdminToken
from licserver.runtime import context
from licserver.services import tokens as token_service
from tests.live import LiveServer
from tests.support.factory import Factory


def _token(scope: str) -> str:
    _, text = token_service.create(context(), f"{scope} token", scope)
    return text


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_tokens_are_stored_as_argon2_hashes_only(app: Flask) -> None:
    text = _token("full")
    secret = text.split("_", 2)[2]
    (row,) = db.session.scalars(select(AdminToken)).all()
    assert row.secret_hash.startswith("$argon2id$")
    stored = " ".join(str(getattr(row, c.key)) for c in AdminToken.__table__.columns)
    assert secret not in stored and text not in stored


def test_scopes_are_enforced(client: FlaskClient, factory: Factory) -> None:
    product, customer = factory.product(), factory.customer()
    read, licenses, full = _token("read"), _token("licenses"), _token("full")
    new_licence = {"product": product, "customer": customer, "seats": 1}
    new_product = {"code": "another", "name": "Another"}

    assert client.get("/api/v1/products", headers=_bearer(read)).status_code == 200
    for path, body in (("/api/v1/licenses", new_licence), ("/api/v1/products", new_product)):
        r = client.post(path, json=body, headers=_bearer(read))
        assert r.status_code == 403 and r.get_json()["code"] == "FORBIDDEN", path
    assert (
        client.post("/api/v1/licenses", json=new_licence, headers=_bearer(licenses)).status_code
        == 201
    )
    r = client.post("/api/v1/products", json=new_product, headers=_bearer(licenses))
    assert r.status_code == 403
    assert (
        client.post("/api/v1/products", json=new_product, headers=_bearer(full)).status_code == 201
    )
    # a refused write changed nothing
    codes = [
        p["code"] for p in client.get("/api/v1/products", headers=_bearer(read)).get_json()["items"]
    ]
    assert codes.count("another") == 1


def test_revocation_takes_effect_at_the_next_request(client: FlaskClient) -> None:
    text = _token("full")
    # used twice: the second is served from the per-process verification cache
    assert client.get("/api/v1/products", headers=_bearer(text)).status_code == 200
    assert client.get("/api/v1/products", headers=_bearer(text)).status_code == 200
    token_service.revoke(context(), text.split("_")[1])
    r = client.get("/api/v1/products", headers=_bearer(text))
    assert r.status_code == 401 and r.get_json()["code"] == "UNAUTHORIZED"


@pytest.mark.parametrize("param", ["token", "access_token", "Access_Token"])
def test_a_token_in_the_query_string_is_refused_and_never_logged(
    client: FlaskClient, caplog: pytest.LogCaptureFixture, param: str
) -> None:
    text = _token("full")
    caplog.set_level(logging.DEBUG)
    r = client.get(f"/api/v1/products?{param}={text}&limit=5")
    assert r.status_code == 401 and r.get_json()["code"] == "UNAUTHORIZED"
    assert text not in r.get_data(as_text=True)
    logged = "\n".join(f"{rec.getMessage()} {rec.__dict__}" for rec in caplog.records)
    assert text.split("_", 2)[2] not in logged


def test_what_the_server_logs_from_is_redacted(app: Flask) -> None:
    """gunicorn logs the request line from the WSGI environ after the response:
    the guard has replaced the secret there before the app ran."""
    text = _token("full")
    environ: dict[str, Any] = EnvironBuilder(
        path="/api/v1/products", query_string=f"access_token={text}&limit=5"
    ).get_environ()
    environ["RAW_URI"] = environ["REQUEST_URI"] = f"/api/v1/products?access_token={text}&limit=5"
    statuses: list[str] = []

    def start_response(status: str, headers: Any, *exc_info: Any) -> Any:
        statuses.append(status)

    body = b"".join(app.wsgi_app(environ, start_response))
    assert statuses[0].startswith("401") and b"UNAUTHORIZED" in body
    for key in ("QUERY_STRING", "RAW_URI", "REQUEST_URI"):
        assert text not in environ[key], key
        assert "access_token=%5Bredacted%5D" in environ[key] or "[redacted]" in environ[key], key
    assert environ["QUERY_STRING"].endswith("limit=5")


def test_gunicorns_access_log_shows_no_token(app: Flask, live: LiveServer) -> None:
    text = _token("full")
    reset_token = "R3setT0kenThatMustNotBeLogged"
    with live.client() as http:
        r = http.get(f"/api/v1/products?token={text}")
        assert r.status_code == 401
        assert http.get(f"/portal/reset/{reset_token}").status_code == 404
        assert http.get("/healthz").status_code == 200  # a last line, so the others are out
    deadline = time.monotonic() + 10
    while "GET /healthz" not in live.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    log = live.log()
    assert "GET /api/v1/products?token=[redacted]" in log, log
    assert "GET /portal/reset/[redacted]" in log, log
    assert text.split("_", 2)[2] not in log and reset_token not in log
