"""Every answer to a client-API request is signed (API.md "Signed answers"),
errors included: each verifies with a key from GET /api/v1/keys over the
method, the path as sent, the status, the body and the request's nonce."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

import licserver
from licserver import signing
from licserver.extensions import db
from tests.api.helpers import activated, assert_problem, by_key
from tests.api.test_client_validate_keys_health import app_without_database  # noqa: F401
from tests.support.factory import Factory

NONCE = signing.NONCE_HEADER
SIGNATURE = signing.ANSWER_SIGNATURE_HEADER


def published_keys(client: FlaskClient) -> dict[str, Any]:
    r = client.get("/api/v1/keys")
    return {k["kid"]: signing.public_key_from_b64(k["public_key"]) for k in r.get_json()["keys"]}


def call(
    client: FlaskClient,
    method: str,
    target: str,
    *,
    nonce: str | None = None,
    keys: dict[str, Any] | None = None,
    **kw: Any,
) -> Any:
    """``method target`` with a fresh nonce (or the one given, "" for none);
    asserts the answer is signed for that nonce by one of ``keys`` (the
    published ones by default); the response."""
    keys = keys if keys is not None else published_keys(client)
    sent = secrets.token_urlsafe(12) if nonce is None else nonce
    headers = dict(kw.pop("headers", {}))
    if sent:
        headers[NONCE] = sent
    r = client.open(target, method=method, headers=headers, **kw)
    assert_signed(keys, r, method, target, sent)
    return r


def assert_signed(keys: dict[str, Any], r: Any, method: str, target: str, nonce: str) -> None:
    header = r.headers.get(SIGNATURE)
    assert header, f"{method} {target} {r.status_code}: unsigned"
    signing.verify_answer(
        header,
        keys,
        method=method,
        target=target,
        status=r.status_code,
        body=r.get_data(),
        nonce=nonce,
    )


def test_every_endpoint_answer_is_signed(client: FlaskClient, factory: Factory) -> None:
    lic = factory.license(seats=1)
    body = {**by_key(lic), "installation_id": "install-0001", "machine_name": "PC-1"}
    r = call(client, "POST", "/api/v1/activations", json=body)
    assert r.status_code == 201
    r = call(client, "POST", "/api/v1/activations", json=body)  # again: the same seat
    assert r.status_code == 200
    act = r.get_json()
    checkin = f"/api/v1/activations/{act['activation_id']}/checkin"
    r = call(client, "POST", checkin, json={"activation_token": act["activation_token"]})
    assert r.status_code == 200
    r = call(
        client, "POST", "/api/v1/validate", json={**by_key(lic), "installation_id": "install-0001"}
    )
    assert r.get_json()["valid"] is True
    assert call(client, "GET", "/api/v1/keys").status_code == 200
    auth = {"Authorization": f"Activation {act['activation_token']}"}
    r = call(client, "DELETE", f"/api/v1/activations/{act['activation_id']}", headers=auth)
    assert r.status_code == 200


def test_no_nonce_is_signed_with_an_empty_one(client: FlaskClient) -> None:
    assert call(client, "GET", "/api/v1/keys", nonce="").status_code == 200


@pytest.mark.parametrize(
    ("method", "target", "kw", "status", "code"),
    [
        (
            "POST",
            "/api/v1/validate",
            {"data": "{not json", "content_type": "application/json"},
            400,
            "MALFORMED_REQUEST",
        ),
        ("POST", "/api/v1/validate", {"json": {"installation_id": "x"}}, 422, "VALIDATION_FAILED"),
        (
            "POST",
            "/api/v1/validate",
            {"json": {"license_key": "LK1.a.b", "installation_id": "install-1"}},
            401,
            "INVALID_CREDENTIALS",
        ),
        ("GET", "/api/v1/validate", {}, 405, "METHOD_NOT_ALLOWED"),
        ("GET", "/api/v1/activations/A-0000000000000000/checkin", {}, 405, "METHOD_NOT_ALLOWED"),
        (
            "POST",
            "/api/v1/activations/A-0000000000000000/checkin",
            {"json": {"activation_token": "t"}},
            401,
            "INVALID_CREDENTIALS",
        ),
        ("DELETE", "/api/v1/activations/A-0000000000000000", {}, 401, "INVALID_CREDENTIALS"),
        (
            "POST",
            "/api/v1/activations",
            {"data": b"x" * (70 * 1024), "content_type": "application/json"},
            413,
            "PAYLOAD_TOO_LARGE",
        ),
        # percent-encoded as sent, and a query string: both signed as sent
        (
            "POST",
            "/api/v1/activations/A%2D0000000000000000/checkin?x=%41",
            {"json": {"activation_token": "t"}},
            401,
            "INVALID_CREDENTIALS",
        ),
    ],
)
def test_errors_are_signed(
    client: FlaskClient, method: str, target: str, kw: dict[str, Any], status: int, code: str
) -> None:
    r = call(client, method, target, **kw)
    assert_problem(r, status, code)


def test_an_updates_answer_is_signed_whether_or_not_the_route_exists(client: FlaskClient) -> None:
    r = call(client, "POST", "/api/v1/updates", json={})
    assert r.status_code in (404, 422, 400, 401)


def test_admin_answers_are_not_signed(client: FlaskClient) -> None:
    assert SIGNATURE not in client.get("/api/v1/licenses").headers
    assert SIGNATURE not in client.get("/healthz").headers


@pytest.mark.parametrize("bad", ["a b", "x" * 129, "é", "a/b", "a,b"])
def test_a_malformed_nonce_is_400_signed_with_an_empty_nonce(
    client: FlaskClient, factory: Factory, bad: str
) -> None:
    lic = factory.license(seats=1)
    body = {**by_key(lic), "installation_id": "install-0001", "machine_name": "PC-1"}
    headers = {NONCE: bad.encode("utf-8").decode("latin-1")}
    r = client.post("/api/v1/activations", json=body, headers=headers)
    assert_problem(r, 400, "MALFORMED_REQUEST")
    assert_signed(published_keys(client), r, "POST", "/api/v1/activations", "")
    # refused before the view: no seat was taken
    assert activated(client, by_key(lic), "install-0002")["activation_id"]


@pytest.fixture
def limited_app(app_config: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("LICSERVER_INSTANCE_DIR", str(tmp_path / "instance"))
    application = licserver.create_app(
        {**app_config, "RATE_LIMITS": "on", "CLIENT_RATE_LIMIT": "2 per minute"}
    )
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def test_a_rate_limited_answer_is_signed(client: FlaskClient, limited_app: Flask) -> None:
    keys = published_keys(client)
    limited = limited_app.test_client()
    statuses = [call(limited, "GET", "/api/v1/keys", keys=keys).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_a_503_without_a_database_is_signed_with_the_key_on_disk(
    client: FlaskClient,
    app_without_database: Flask,  # noqa: F811  (the fixture imported above)
) -> None:
    keys = published_keys(client)  # what a product pinned while the server was well
    down = app_without_database.test_client()
    r = down.post(
        "/api/v1/validate",
        json={"license_key": "LK1.a.b", "installation_id": "install-1"},
        headers={NONCE: "n-1"},
    )
    assert_problem(r, 503, "SERVICE_UNAVAILABLE")
    assert_signed(keys, r, "POST", "/api/v1/validate", "n-1")
