"""Admin API authentication (bearer tokens), scopes, and which error answers first."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from licserver.runtime import context
from licserver.services import tokens as token_service
from tests.api.helpers import assert_problem
from tests.support.factory import AdminClient, Factory

# One request per admin endpoint: (method, path template, body).
ENDPOINTS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("POST", "/api/v1/products", {"code": "new-prod", "name": "New"}),
    ("GET", "/api/v1/products", None),
    ("GET", "/api/v1/products/{product}", None),
    ("POST", "/api/v1/customers", {"name": "New Co", "email": "new@co.test"}),
    ("GET", "/api/v1/customers", None),
    ("GET", "/api/v1/customers/{customer}", None),
    ("PATCH", "/api/v1/customers/{customer}", {"name": "Renamed"}),
    (
        "POST",
        "/api/v1/customers/{customer}/users",
        {"email": "u@co.test", "name": "U", "role": "basic"},
    ),
    ("GET", "/api/v1/customers/{customer}/users", None),
    ("POST", "/api/v1/licenses", {"product": "{product}", "customer": "{customer}", "seats": 1}),
    ("GET", "/api/v1/licenses", None),
    ("GET", "/api/v1/licenses/{license}", None),
    ("PATCH", "/api/v1/licenses/{license}", {"seats": 9}),
    ("POST", "/api/v1/licenses/{license}/suspend", None),
    ("POST", "/api/v1/licenses/{license}/reinstate", None),
    ("POST", "/api/v1/licenses/{license}/revoke", None),
    ("POST", "/api/v1/licenses/{license}/activation-password", None),
    ("POST", "/api/v1/licenses/{license}/key", None),
    ("GET", "/api/v1/licenses/{license}/activations", None),
    ("GET", "/api/v1/licenses/{license}/events", None),
    ("GET", "/api/v1/activations?installation_id=install-0001", None),
    ("POST", "/api/v1/activations/{activation}/deactivate", {"reason": "test"}),
]


class World:
    def __init__(self, factory: Factory, client: FlaskClient) -> None:
        self.product = factory.product("cad-pro")
        lic = factory.license(product=self.product, seats=2)
        self.customer, self.license = lic.customer_number, lic.id
        r = client.post(
            "/api/v1/activations",
            json={"license_key": lic.key, "installation_id": "install-0001", "machine_name": "PC"},
        )
        assert r.status_code == 201, r.get_json()
        self.activation = r.get_json()["activation_id"]

    def fill(self, value: Any) -> Any:
        names = {
            "product": self.product,
            "customer": self.customer,
            "license": self.license,
            "activation": self.activation,
        }
        if isinstance(value, str):
            return value.format(**names)
        if isinstance(value, dict):
            return {k: self.fill(v) for k, v in value.items()}
        return value


@pytest.fixture
def world(factory: Factory, client: FlaskClient) -> World:
    return World(factory, client)


def _call(
    client: FlaskClient,
    world: World,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    headers: dict[str, str] | None = None,
) -> Any:
    kwargs: dict[str, Any] = {"headers": headers or {}}
    if body is not None:
        kwargs["json"] = world.fill(body)
    return client.open(world.fill(path), method=method, **kwargs)


def _assert_unauthorized(resp: Any) -> None:
    assert_problem(resp, 401, "UNAUTHORIZED")
    assert resp.headers.get("WWW-Authenticate", "").lower().startswith("bearer")


def _token(app: Flask, scope: str) -> str:
    _, text = token_service.create(context(), f"{scope}-token", scope)
    return text


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# ---- missing and invalid tokens ----------------------------------------------------------


def test_every_admin_endpoint_needs_a_token(client: FlaskClient, world: World) -> None:
    # One app for all endpoints (setting up the database per case is the slow part).
    for method, path, body in ENDPOINTS:
        r = _call(client, world, method, path, body)
        assert r.status_code == 401, (method, path, r.get_json())
        _assert_unauthorized(r)


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Token lsa_abcdefghij_" + "A" * 43,
        "Bearer garbage",
        "Bearer lsa_abcdefghij_" + "A" * 43,  # well-formed, unknown id
        "Bearer lsa_abcdefghij_short",
        "Activation some-activation-token",
    ],
)
def test_bad_authorization_header(client: FlaskClient, world: World, header: str) -> None:
    r = client.get("/api/v1/licenses", headers={"Authorization": header})
    _assert_unauthorized(r)


def test_wrong_secret_for_a_real_token_id(client: FlaskClient, admin_token: str) -> None:
    prefix, secret = admin_token.rsplit("_", 1)
    forged = f"{prefix}_{'A' * len(secret) if secret != 'A' * len(secret) else 'B' * len(secret)}"
    _assert_unauthorized(client.get("/api/v1/licenses", headers=_bearer(forged)))
    # The real token still works, scheme case-insensitively.
    assert client.get("/api/v1/licenses", headers=_bearer(admin_token)).status_code == 200
    r = client.get("/api/v1/licenses", headers={"Authorization": f"bearer {admin_token}"})
    assert r.status_code == 200


def test_revoked_token_is_refused(app: Flask, client: FlaskClient) -> None:
    token = _token(app, "full")
    assert client.get("/api/v1/products", headers=_bearer(token)).status_code == 200
    token_service.revoke(context(), token.split("_")[1])
    _assert_unauthorized(client.get("/api/v1/products", headers=_bearer(token)))
    r = client.post("/api/v1/products", json={"code": "x", "name": "X"}, headers=_bearer(token))
    _assert_unauthorized(r)


def test_unauthorized_answers_say_nothing_about_the_resource(
    client: FlaskClient, world: World
) -> None:
    # Existence is checked after authentication: an unknown id is still 401.
    _assert_unauthorized(client.get("/api/v1/licenses/L-0000-0000"))
    _assert_unauthorized(client.get(f"/api/v1/licenses/{world.license}"))
    r = client.post("/api/v1/licenses", json={"product": "nope", "customer": "C-NOPE00"})
    _assert_unauthorized(r)
    body = client.get(f"/api/v1/licenses/{world.license}").get_json()
    assert world.license not in str(body)


# ---- scopes ------------------------------------------------------------------------------


def test_read_scope_can_only_read(app: Flask, client: FlaskClient, world: World) -> None:
    headers = _bearer(_token(app, "read"))
    before = client.get(f"/api/v1/licenses/{world.license}", headers=headers).get_json()
    for method, path, body in ENDPOINTS:
        r = _call(client, world, method, path, body, headers)
        if method == "GET":
            assert r.status_code == 200, (method, path, r.get_json())
        else:
            assert r.status_code == 403, (method, path, r.get_json())
            assert_problem(r, 403, "FORBIDDEN")
    # None of the refused requests changed anything.
    after = client.get(f"/api/v1/licenses/{world.license}", headers=headers).get_json()
    assert after == before
    products = client.get("/api/v1/products", headers=headers).get_json()["items"]
    assert [p["code"] for p in products] == ["cad-pro"]
    customers = client.get("/api/v1/customers", headers=headers).get_json()["items"]
    assert [c["number"] for c in customers] == [world.customer]
    acts = client.get(f"/api/v1/licenses/{world.license}/activations", headers=headers)
    assert [a["id"] for a in acts.get_json()["items"]] == [world.activation]


def test_licenses_scope(app: Flask, client: FlaskClient, world: World) -> None:
    headers = _bearer(_token(app, "licenses"))
    r = client.post(
        "/api/v1/licenses",
        json={"product": world.product, "customer": world.customer, "seats": 1},
        headers=headers,
    )
    assert r.status_code == 201, r.get_json()
    r = client.post(
        "/api/v1/customers", json={"name": "New Co", "email": "new@co.test"}, headers=headers
    )
    assert r.status_code == 201
    r = client.post(
        f"/api/v1/activations/{world.activation}/deactivate",
        json={"reason": "by a licences token"},
        headers=headers,
    )
    assert r.status_code == 200
    assert client.get("/api/v1/products", headers=headers).status_code == 200

    r = client.post("/api/v1/products", json={"code": "new-prod", "name": "New"}, headers=headers)
    assert_problem(r, 403, "FORBIDDEN")
    assert_problem(client.get("/api/v1/products/new-prod", headers=headers), 404, "NOT_FOUND")


def test_full_scope_creates_products(admin: AdminClient) -> None:
    r = admin.post("/api/v1/products", json={"code": "new-prod", "name": "New"})
    assert r.status_code == 201


# ---- precedence (API.md): 400, 422 (format), then 401, 403, 404, 409 -----------------


def test_malformed_body_answers_before_missing_token(client: FlaskClient) -> None:
    r = client.post("/api/v1/products", data=b"{nope", content_type="application/json")
    assert_problem(r, 400, "MALFORMED_REQUEST")
    r = client.post("/api/v1/licenses", data=b"[1]", content_type="application/json")
    assert_problem(r, 400, "MALFORMED_REQUEST")


def test_invalid_format_answers_before_missing_token(client: FlaskClient) -> None:
    problem = assert_problem(
        client.post("/api/v1/products", json={"code": "bad code"}), 422, "VALIDATION_FAILED"
    )
    assert {"code", "name"} <= set(problem["errors"])
    assert_problem(
        client.get("/api/v1/products", query_string={"limit": 0}), 422, "VALIDATION_FAILED"
    )
    assert_problem(
        client.post("/api/v1/activations/A-0000000000000000/deactivate", json={}),
        422,
        "VALIDATION_FAILED",
    )
    assert_problem(client.get("/api/v1/activations"), 422, "VALIDATION_FAILED")


def test_invalid_format_answers_before_forbidden(app: Flask, client: FlaskClient) -> None:
    headers = _bearer(_token(app, "read"))
    r = client.post("/api/v1/products", json={"code": "bad code"}, headers=headers)
    assert_problem(r, 422, "VALIDATION_FAILED")
    r = client.post("/api/v1/products", json={"code": "good", "name": "Good"}, headers=headers)
    assert_problem(r, 403, "FORBIDDEN")


def test_forbidden_answers_before_not_found_and_conflict(
    app: Flask, client: FlaskClient, world: World
) -> None:
    headers = _bearer(_token(app, "read"))
    assert_problem(
        client.post("/api/v1/licenses/L-0000-0000/suspend", headers=headers), 403, "FORBIDDEN"
    )
    r = client.post(
        "/api/v1/products", json={"code": world.product, "name": "Dup"}, headers=headers
    )
    assert_problem(r, 403, "FORBIDDEN")


def test_unknown_admin_route_and_method(admin: AdminClient) -> None:
    assert_problem(admin.get("/api/v1/nothing-here"), 404, "NOT_FOUND")
    r = admin.delete("/api/v1/products")
    assert_problem(r, 405, "METHOD_NOT_ALLOWED")
    assert "POST" in r.headers.get("Allow", "")
