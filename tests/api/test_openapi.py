"""The OpenAPI document at /api/v1/openapi.json: valid OpenAPI 3, every endpoint of
API.md's server side, request bodies, and problem+json error answers."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from openapi_spec_validator import validate

PROBLEM_JSON = "application/problem+json"

# API.md's server side, (method, path) in OpenAPI's notation.
API_MD_ENDPOINTS = {
    ("post", "/api/v1/activations"),
    ("post", "/api/v1/activations/{activation_id}/checkin"),
    ("delete", "/api/v1/activations/{activation_id}"),
    ("post", "/api/v1/validate"),
    ("get", "/api/v1/keys"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("post", "/api/v1/products"),
    ("get", "/api/v1/products"),
    ("get", "/api/v1/products/{code}"),
    ("post", "/api/v1/customers"),
    ("get", "/api/v1/customers"),
    ("get", "/api/v1/customers/{number}"),
    ("patch", "/api/v1/customers/{number}"),
    ("post", "/api/v1/customers/{number}/users"),
    ("get", "/api/v1/customers/{number}/users"),
    ("post", "/api/v1/licenses"),
    ("get", "/api/v1/licenses"),
    ("get", "/api/v1/licenses/{license_id}"),
    ("patch", "/api/v1/licenses/{license_id}"),
    ("post", "/api/v1/licenses/{license_id}/suspend"),
    ("post", "/api/v1/licenses/{license_id}/reinstate"),
    ("post", "/api/v1/licenses/{license_id}/revoke"),
    ("post", "/api/v1/licenses/{license_id}/activation-password"),
    ("post", "/api/v1/licenses/{license_id}/key"),
    ("get", "/api/v1/licenses/{license_id}/activations"),
    ("get", "/api/v1/activations"),
    ("post", "/api/v1/activations/{activation_id}/deactivate"),
    ("get", "/api/v1/licenses/{license_id}/events"),
}

# POSTs whose whole input is the URL: API.md gives them no body.
NO_BODY = {
    ("post", "/api/v1/licenses/{license_id}/activation-password"),
    ("post", "/api/v1/licenses/{license_id}/key"),
    ("post", "/api/v1/webhooks/{webhook_id}/test"),
    ("post", "/api/v1/webhooks/{webhook_id}/secret"),
    ("post", "/api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/retry"),
    ("post", "/api/v1/products/{code}/releases/{version}/yank"),
    ("post", "/api/v1/integrations/{integration_id}/events/{event_id}/reapply"),
}

# Success answers that are files or an updater framework's feed, not JSON:
# each documents its own content type.
FILE_ANSWERS = {
    ("get", "/api/v1/updates/download/{activation_id}/{token}"): "application/octet-stream",
    ("get", "/api/v1/feeds/{activation_id}/{token}/sparkle/appcast.xml"): "application/xml",
    ("get", "/api/v1/feeds/{activation_id}/{token}/electron/{name}.yml"): "text/yaml",
}

# The request body fields API.md names for each endpoint that takes one.
BODY_FIELDS = {
    ("post", "/api/v1/activations"): {
        "license_key",
        "license_id",
        "activation_password",
        "customer_number",
        "company_password",
        "product",
        "installation_id",
        "machine_name",
        "client",
    },
    ("post", "/api/v1/activations/{activation_id}/checkin"): {"activation_token"},
    ("post", "/api/v1/validate"): {"license_key", "installation_id"},
    ("post", "/api/v1/products"): {
        "code",
        "name",
        "default_seats",
        "default_duration_days",
        "offline_grace_days",
    },
    ("post", "/api/v1/customers"): {"name", "email", "company_password"},
    ("patch", "/api/v1/customers/{number}"): {"name", "email", "company_password"},
    ("post", "/api/v1/customers/{number}/users"): {"email", "name", "role", "licenses"},
    ("post", "/api/v1/licenses"): {"product", "customer", "seats", "expires_at", "features"},
    ("patch", "/api/v1/licenses/{license_id}"): {"seats", "expires_at", "features"},
    ("post", "/api/v1/activations/{activation_id}/deactivate"): {"reason"},
}

METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def spec(client: FlaskClient) -> dict[str, Any]:
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    assert r.mimetype == "application/json"
    doc: dict[str, Any] = r.get_json()
    return doc


def _resolve(spec: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), ref
        target: Any = spec
        for part in ref[2:].split("/"):
            target = target[part]
        node = target
    return node


def _operations(spec: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): op
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in METHODS
    }


def _properties(spec: dict[str, Any], schema: Any) -> set[str]:
    schema = _resolve(spec, schema)
    props = set(schema.get("properties", {}))
    for part in schema.get("allOf", []) + schema.get("oneOf", []) + schema.get("anyOf", []):
        props |= _properties(spec, part)
    return props


def test_document_is_valid_openapi_3(spec: dict[str, Any]) -> None:
    assert spec["openapi"].startswith("3.")
    validate(spec)  # raises on an invalid document


def test_every_endpoint_is_listed(spec: dict[str, Any]) -> None:
    listed = set(_operations(spec))
    missing = API_MD_ENDPOINTS - listed
    assert not missing, sorted(missing)


def test_every_body_taking_endpoint_documents_its_body(spec: dict[str, Any]) -> None:
    ops = _operations(spec)
    for key, op in ops.items():
        method, _ = key
        if method not in ("post", "patch") or key in NO_BODY:
            continue
        body = _resolve(spec, op.get("requestBody"))
        assert body, f"{key} has no requestBody"
        schema = body["content"]["application/json"]["schema"]
        assert _properties(spec, schema), f"{key}: request schema has no properties"
    for key, fields in BODY_FIELDS.items():
        body = _resolve(spec, ops[key]["requestBody"])
        schema = body["content"]["application/json"]["schema"]
        assert fields <= _properties(spec, schema), (key, fields - _properties(spec, schema))


def test_required_fields_are_marked(spec: dict[str, Any]) -> None:
    ops = _operations(spec)
    for key, required in (
        (("post", "/api/v1/products"), {"code", "name"}),
        (("post", "/api/v1/customers"), {"name", "email"}),
        (("post", "/api/v1/licenses"), {"product", "customer"}),
        (("post", "/api/v1/activations/{activation_id}/deactivate"), {"reason"}),
        (("post", "/api/v1/customers/{number}/users"), {"email", "name", "role"}),
    ):
        body = _resolve(spec, ops[key]["requestBody"])
        schema = _resolve(spec, body["content"]["application/json"]["schema"])
        assert required <= set(schema.get("required", [])), key


def test_success_answers_have_schemas(spec: dict[str, Any]) -> None:
    for key, op in _operations(spec).items():
        ok = [code for code in op["responses"] if code.startswith("2")]
        assert ok, f"{key} documents no success answer"
        for code in ok:
            if code == "204":  # No Content: nothing to describe
                continue
            resp = _resolve(spec, op["responses"][code])
            if code == "302" or (code == "200" and key in FILE_ANSWERS):
                expected = FILE_ANSWERS.get(key) if code == "200" else None
                assert expected is None or expected in resp.get("content", {}), (key, code)
                continue
            assert "application/json" in resp.get("content", {}), (key, code)


def test_created_answers_are_201(spec: dict[str, Any]) -> None:
    ops = _operations(spec)
    for key in (
        ("post", "/api/v1/products"),
        ("post", "/api/v1/customers"),
        ("post", "/api/v1/customers/{number}/users"),
        ("post", "/api/v1/licenses"),
        ("post", "/api/v1/activations"),
    ):
        assert "201" in ops[key]["responses"], key


def test_error_answers_are_problem_json(spec: dict[str, Any]) -> None:
    problem_fields = {"type", "title", "status", "code", "detail", "errors"}
    for key, op in _operations(spec).items():
        errors = [c for c in op["responses"] if c[0] in "45"]
        for code in errors:
            resp = _resolve(spec, op["responses"][code])
            content = resp.get("content", {})
            assert list(content) == [PROBLEM_JSON], (key, code, list(content))
            assert problem_fields <= _properties(spec, content[PROBLEM_JSON]["schema"]), (
                key,
                code,
            )


def test_admin_endpoints_document_their_error_answers(spec: dict[str, Any]) -> None:
    ops = _operations(spec)
    for key, op in ops.items():
        method, path = key
        if key not in API_MD_ENDPOINTS or path in ("/healthz", "/readyz"):
            continue
        codes = set(op["responses"])
        is_admin = (
            path.startswith(("/api/v1/products", "/api/v1/customers", "/api/v1/licenses"))
            or path.endswith("/deactivate")
            or key == ("get", "/api/v1/activations")
        )
        if is_admin:
            assert {"401", "403"} <= codes, (key, sorted(codes))
            if method in ("post", "patch") and key not in NO_BODY:
                assert {"400", "422"} <= codes, (key, sorted(codes))
            if "{" in path:
                assert "404" in codes, (key, sorted(codes))
    for key in (("post", "/api/v1/products"), ("post", "/api/v1/customers")):
        assert "409" in ops[key]["responses"], key
    for action in ("suspend", "reinstate", "revoke"):
        assert "409" in ops[("post", f"/api/v1/licenses/{{license_id}}/{action}")]["responses"]
    activate = ops[("post", "/api/v1/activations")]["responses"]
    assert {"400", "401", "403", "404", "409", "413", "422", "429"} <= set(activate)
    checkin = ops[("post", "/api/v1/activations/{activation_id}/checkin")]["responses"]
    assert {"401", "403", "410"} <= set(checkin)


def test_document_needs_no_token(client: FlaskClient) -> None:
    r = client.get("/api/v1/openapi.json", headers={"Authorization": "Bearer nonsense"})
    assert r.status_code == 200
    assert r.get_json()["info"]["title"] == "licserver"
