"""Security headers on every response — API, portal, health checks, errors —
and no-store wherever a secret may travel."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from licserver import create_app
from licserver.extensions import db
from tests.api.helpers import activate, by_key
from tests.support.factory import AdminClient, Factory
from tests.support.portal import AccountMaker, Browser


def assert_general(r: TestResponse) -> None:
    h = r.headers
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["X-Frame-Options"] == "DENY"
    assert h["Referrer-Policy"] == "no-referrer"
    csp = h["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "object-src 'none'" in csp
    assert "base-uri 'none'" in csp


def test_every_kind_of_response_has_them(
    client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    lic = factory.license()
    answers = {
        "keys": client.get("/api/v1/keys"),
        "openapi": client.get("/api/v1/openapi.json"),
        "healthz": client.get("/healthz"),
        "readyz": client.get("/readyz"),
        "activation": activate(client, by_key(lic)),
        "bad credentials": activate(client, {"license_id": lic.id, "activation_password": "x"}),
        "no token": client.get("/api/v1/licenses"),
        "unknown path": client.get("/api/v1/nothing-here"),
        "wrong method": client.put("/api/v1/keys"),
        "malformed": client.post("/api/v1/activations", data=b"{", content_type="text/plain"),
        "admin read": admin.get(f"/api/v1/licenses/{lic.id}"),
        "outside": client.get("/no-such-page"),
        "portal login": client.get("/portal/login"),
        "portal static": client.get("/portal/static/portal.css", buffered=True),
    }
    for name, r in answers.items():
        try:
            assert_general(r)
        except (AssertionError, KeyError) as exc:
            raise AssertionError(f"{name} ({r.status_code}): {exc!r} in {dict(r.headers)}") from exc
    # the portal keeps its own, stricter policy: nothing but its own styles and images
    assert (
        answers["portal login"].headers["Content-Security-Policy"].startswith("default-src 'none'")
    )
    assert answers["keys"].headers["Content-Security-Policy"].startswith("default-src 'self'")


def test_nothing_that_may_carry_a_secret_is_cached(
    client: FlaskClient,
    admin: AdminClient,
    factory: Factory,
    make_account: AccountMaker,
    browser: Browser,
) -> None:
    product = factory.product()
    customer = factory.customer()
    created = admin.post(
        "/api/v1/licenses", json={"product": product, "customer": customer, "seats": 2}
    )
    assert created.status_code == 201 and "activation_password" in created.get_json()
    lic_id = created.get_json()["id"]
    secrets_travel = {
        "licence create": created,
        "licence read": admin.get(f"/api/v1/licenses/{lic_id}"),
        "new password": admin.post(f"/api/v1/licenses/{lic_id}/activation-password"),
        "reissued key": admin.post(f"/api/v1/licenses/{lic_id}/key"),
        "activation": activate(
            client, {"license_key": admin.get(f"/api/v1/licenses/{lic_id}").get_json()["key"]}
        ),
    }
    acc = make_account(activations=0)
    browser.login(acc.emails["owner"])
    secrets_travel["portal licence page"] = browser.get(f"/portal/licenses/{acc.licenses[0].id}")
    for name, r in secrets_travel.items():
        assert r.status_code in (200, 201), (name, r.status_code)
        assert r.headers["Cache-Control"] == "no-store", name
    # static files keep their own caching (revalidated, not stored forever)
    static = client.get("/portal/static/portal.css", buffered=True)
    assert static.status_code == 200
    assert static.headers.get("Cache-Control") != "no-store"


def _app(app_config: dict[str, Any], **extra: Any) -> Flask:
    return create_app({**app_config, **extra})


@pytest.mark.parametrize(
    ("settings", "sent"),
    [
        ({}, False),  # the tests' PUBLIC_URL is http://: nothing to pin
        ({"PUBLIC_URL": "https://lic.example.com"}, True),  # "auto", over HTTPS
        ({"PUBLIC_URL": "https://lic.example.com", "HSTS": "false"}, False),
        ({"HSTS": "true"}, True),
    ],
)
def test_hsts_follows_the_public_url_unless_set(
    app: Flask, app_config: dict[str, Any], settings: dict[str, Any], sent: bool
) -> None:
    other = _app(app_config, **settings)
    with other.app_context():
        try:
            for path in ("/healthz", "/api/v1/keys", "/portal/login"):
                r = other.test_client().get(path)
                if sent:
                    assert r.headers["Strict-Transport-Security"] == "max-age=31536000", path
                else:
                    assert "Strict-Transport-Security" not in r.headers, path
        finally:
            db.session.remove()
            db.engine.dispose()  # this app's own connections, closed now
