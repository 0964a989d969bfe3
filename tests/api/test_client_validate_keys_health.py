"""POST /api/v1/validate, GET /api/v1/keys, /healthz, /readyz, and the 503 of
an unreachable database."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

import licserver
from licserver.crypto import b64u_decode
from licserver.extensions import db
from licserver.signing import parse_license_key
from tests.api.helpers import (
    INVALID_CREDENTIALS_DETAIL,
    activated,
    activations,
    assert_problem,
    by_company,
    by_key,
    by_password,
    events,
    license_view,
    public_keys,
    validate,
)
from tests.support.factory import AdminClient, Factory, IssuedLicense

COMPANY_PASSWORD = "Company-Secret-42"


def _creds(kind: str, lic: IssuedLicense) -> dict[str, str]:
    if kind == "key":
        return by_key(lic)
    if kind == "password":
        return by_password(lic)
    return by_company(lic, COMPANY_PASSWORD)


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


# ---- validate -----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["key", "password", "company"])
def test_validate_active_installation_is_valid(
    client: FlaskClient, factory: Factory, kind: str
) -> None:
    expires = (datetime.now(UTC) + timedelta(days=90)).replace(microsecond=0)
    product = factory.product("cad-pro")
    customer = factory.customer(company_password=COMPANY_PASSWORD)
    lic = factory.license(product=product, customer=customer, seats=3, expires_at=expires)
    activated(client, by_key(lic), iid="install-0001")

    r = validate(client, _creds(kind, lic), iid="install-0001")

    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["valid"] is True
    assert body["code"] == "VALID"
    assert body["license"] == {
        "id": lic.id,
        "product": "cad-pro",
        "seats": 3,
        "seats_used": 1,
        "expires_at": _iso(expires),
        "status": "active",
        "features": [],
        "model": "node_locked",
    }


@pytest.mark.parametrize("kind", ["key", "password", "company"])
def test_validate_other_installation_is_not_activated_and_takes_no_seat(
    client: FlaskClient, admin: AdminClient, factory: Factory, kind: str
) -> None:
    customer = factory.customer(company_password=COMPANY_PASSWORD)
    lic = factory.license(customer=customer, seats=2, expires_at=None)
    activated(client, by_key(lic), iid="install-0001")
    history_before = events(admin, lic.id)

    r = validate(client, _creds(kind, lic), iid="install-0002")

    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert (body["valid"], body["code"]) == (False, "NOT_ACTIVATED")
    assert body["license"]["id"] == lic.id
    assert body["license"]["seats_used"] == 1
    assert body["license"]["expires_at"] is None
    # Read-only: no seat, no activation row, nothing new in the history.
    assert license_view(admin, lic.id)["seats_used"] == 1
    assert [a["installation_id"] for a in activations(admin, lic.id, "all")] == ["install-0001"]
    assert [e["kind"] for e in events(admin, lic.id)] == [e["kind"] for e in history_before]


def test_validate_after_deactivation_is_not_activated(
    client: FlaskClient, factory: Factory
) -> None:
    lic = factory.license()
    act = activated(client, by_key(lic))
    client.delete(
        f"/api/v1/activations/{act['activation_id']}",
        headers={"Authorization": f"Activation {act['activation_token']}"},
    )

    body = validate(client, by_key(lic)).get_json()

    assert (body["valid"], body["code"], body["license"]["seats_used"]) == (
        False,
        "NOT_ACTIVATED",
        0,
    )


@pytest.mark.parametrize("activated_first", [True, False])
@pytest.mark.parametrize(
    ("action", "code", "status"),
    [
        ("suspend", "LICENSE_SUSPENDED", "suspended"),
        ("revoke", "LICENSE_REVOKED", "revoked"),
        ("expire", "LICENSE_EXPIRED", "expired"),
    ],
)
def test_validate_unusable_licence_answers_its_code(
    client: FlaskClient,
    admin: AdminClient,
    factory: Factory,
    action: str,
    code: str,
    status: str,
    activated_first: bool,
) -> None:
    lic = factory.license()
    if activated_first:
        activated(client, by_key(lic), iid="install-0001")
    if action == "expire":
        past = _iso(datetime.now(UTC) - timedelta(days=1))
        r = admin.patch(f"/api/v1/licenses/{lic.id}", json={"expires_at": past})
    else:
        r = admin.post(f"/api/v1/licenses/{lic.id}/{action}")
    assert r.status_code == 200

    r = validate(client, by_key(lic), iid="install-0001")

    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert (body["valid"], body["code"]) == (False, code)
    assert body["license"]["id"] == lic.id
    assert body["license"]["status"] == status
    assert body["license"]["seats_used"] == (1 if activated_first else 0)


def test_validate_with_company_password_reports_the_licence_the_installation_is_on(
    client: FlaskClient, factory: Factory
) -> None:
    product = factory.product()
    customer = factory.customer(company_password=COMPANY_PASSWORD)
    factory.license(product=product, customer=customer, expires_at=None)
    mine = factory.license(product=product, customer=customer, expires_at=None)
    activated(client, by_key(mine), iid="install-0001")

    body = validate(client, by_company(mine, COMPANY_PASSWORD), iid="install-0001").get_json()

    assert (body["code"], body["license"]["id"]) == ("VALID", mine.id)


@pytest.mark.parametrize(
    "creds",
    [
        {"license_key": "LK1.eyJ2IjoxfQ.c2lnbmF0dXJl"},
        {"license_id": "L-ZZZZ-ZZZZ", "activation_password": "whatever"},
        {"customer_number": "C-ZZZZZZ", "company_password": "x", "product": "p"},
        "wrong password",
        "superseded key",
    ],
    ids=["unknown key", "unknown licence", "unknown customer", "wrong password", "old key"],
)
def test_validate_with_bad_credentials_is_401(
    client: FlaskClient, admin: AdminClient, factory: Factory, creds: Any
) -> None:
    lic = factory.license()
    if creds == "wrong password":
        creds = {"license_id": lic.id, "activation_password": lic.activation_password + "x"}
    elif creds == "superseded key":
        assert admin.post(f"/api/v1/licenses/{lic.id}/key").status_code == 200
        creds = by_key(lic)

    body = assert_problem(validate(client, creds), 401, "INVALID_CREDENTIALS")

    assert body["detail"] == INVALID_CREDENTIALS_DETAIL


def test_validate_company_password_without_a_licence_of_the_product_is_404(
    client: FlaskClient, factory: Factory
) -> None:
    lic = factory.license(customer=factory.customer(company_password=COMPANY_PASSWORD))
    creds = {**by_company(lic, COMPANY_PASSWORD), "product": "not-theirs"}

    assert_problem(validate(client, creds), 404, "NOT_FOUND")


def test_validate_needs_an_installation_id(client: FlaskClient, factory: Factory) -> None:
    lic = factory.license()

    r = client.post("/api/v1/validate", json=by_key(lic))

    body = assert_problem(r, 422, "VALIDATION_FAILED")
    assert "installation_id" in body["errors"]


# ---- keys ---------------------------------------------------------------------


def test_keys_lists_the_public_signing_keys(client: FlaskClient, factory: Factory) -> None:
    r = client.get("/api/v1/keys")

    assert r.status_code == 200
    keys = r.get_json()["keys"]
    assert keys
    for k in keys:
        assert {"kid", "alg", "public_key", "status"} <= set(k)
        assert k["alg"] == "Ed25519"
        assert k["status"] in ("active", "retired")
        assert "=" not in k["public_key"]
        assert len(b64u_decode(k["public_key"])) == 32
    assert any(k["status"] == "active" for k in keys)
    # A licence key verifies with nothing but the published key.
    lic = factory.license()
    claims = parse_license_key(lic.key, public_keys(client))
    assert (claims.lid, claims.prod, claims.cust) == (lic.id, lic.product, lic.customer_number)


def test_keys_need_no_token(client: FlaskClient) -> None:
    r = client.get("/api/v1/keys", headers={"Authorization": "Bearer nonsense"})

    assert r.status_code == 200


# ---- health -------------------------------------------------------------------


def test_healthz_and_readyz(client: FlaskClient) -> None:
    for path in ("/healthz", "/readyz"):
        r = client.get(path)
        assert r.status_code == 200, path
        assert r.is_json
        assert r.get_json()["status"] == "ok"


# ---- database unreachable ------------------------------------------------------


@pytest.fixture
def app_without_database(
    app_config: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Flask]:
    """An app whose PostgreSQL is a closed port: nothing listens on 127.0.0.1:1."""
    monkeypatch.setenv("LICSERVER_INSTANCE_DIR", str(tmp_path / "instance"))
    config = {
        **app_config,
        "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/x",
        "DB_CONNECT_TIMEOUT": 2,
        "DB_POOL_TIMEOUT": 2,
    }
    application = licserver.create_app(config)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        (
            "POST",
            "/api/v1/activations",
            {"license_key": "LK1.a.b", "installation_id": "install-0001", "machine_name": "PC"},
        ),
        (
            "POST",
            "/api/v1/activations",
            {
                "license_id": "L-0000-0000",
                "activation_password": "x",
                "installation_id": "abcdefgh",
                "machine_name": "PC",
            },
        ),
        (
            "POST",
            "/api/v1/validate",
            {
                "license_id": "L-0000-0000",
                "activation_password": "x",
                "installation_id": "abcdefgh",
            },
        ),
        ("POST", "/api/v1/activations/A-0000000000000000/checkin", {"activation_token": "t"}),
        ("GET", "/api/v1/keys", None),
        ("GET", "/api/v1/licenses", None),
        ("GET", "/readyz", None),
    ],
)
def test_unreachable_database_is_503(
    app_without_database: Flask, method: str, path: str, body: dict[str, Any] | None
) -> None:
    client = app_without_database.test_client()
    token = "lsa_" + "a" * 10 + "_" + "b" * 43  # well-formed: it must be looked up
    headers = {"Authorization": f"Bearer {token}"} if path == "/api/v1/licenses" else {}

    r = client.open(path, method=method, json=body, headers=headers)

    problem = assert_problem(r, 503, "SERVICE_UNAVAILABLE")
    assert "Traceback" not in problem["detail"]


def test_healthz_answers_without_the_database(app_without_database: Flask) -> None:
    r = app_without_database.test_client().get("/healthz")

    assert r.status_code == 200


def test_portal_page_without_the_database_is_a_readable_503(
    app_config: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LICSERVER_INSTANCE_DIR", str(tmp_path / "instance"))
    application = licserver.create_app(
        {
            **app_config,
            "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/x",
            "DB_CONNECT_TIMEOUT": 2,
        }
    )
    try:
        client = application.test_client()
        page = client.get("/portal/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
        assert token is not None, page[:300]
        r = client.post(
            "/portal/login",
            data={
                "login": "someone@example.test",
                "password": "whatever",
                "csrf_token": token.group(1),
            },
        )
    finally:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()

    assert r.status_code == 503, r.get_data(as_text=True)[:300]
    assert r.mimetype == "text/html"
    assert "Temporarily unavailable" in r.get_data(as_text=True)
