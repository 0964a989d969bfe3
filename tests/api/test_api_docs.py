"""Interactive API documentation at /api/docs (Swagger UI from our own static
files), and the OpenAPI document stating the credentials rule it enforces."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient

ASSET_RE = re.compile(r"""(?:src|href)="([^"]+)\"""")


def test_docs_page_loads_only_same_origin_assets(client: FlaskClient) -> None:
    page = client.get("/api/docs")

    assert page.status_code == 200
    assert page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "<script>" not in html and "style=" not in html  # nothing inline
    assets = ASSET_RE.findall(html)
    assert len(assets) >= 3
    for url in assets:
        assert url.startswith("/") and not url.startswith("//"), url
        with client.get(url) as got:
            assert got.status_code == 200, url
            assert got.data
    assert 'data-openapi-url="/api/v1/openapi.json"' in html
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp


def test_docs_static_serves_only_the_page_assets(client: FlaskClient) -> None:
    for url in ("/api/docs/static/swagger-ui-bundle.js.map", "/api/docs/static/../browse.py"):
        with client.get(url) as got:
            assert got.status_code == 404, url


def _credentials_branches(client: FlaskClient, schema: str) -> list[dict[str, Any]]:
    doc = client.get("/api/v1/openapi.json").get_json()
    branches: list[dict[str, Any]] = doc["components"]["schemas"][schema]["oneOf"]
    return branches


def _matches(branch: dict[str, Any], body: dict[str, Any]) -> bool:
    forbidden = [alt["required"][0] for alt in branch["not"]["anyOf"]]
    return all(k in body for k in branch["required"]) and not any(k in body for k in forbidden)


def test_openapi_states_exactly_one_credential_kind(client: FlaskClient) -> None:
    for schema in ("ActivateIn", "ValidateIn"):
        branches = _credentials_branches(client, schema)
        assert [b["required"] for b in branches] == [
            ["license_key"],
            ["license_id", "activation_password"],
            ["customer_number", "company_password", "product"],
        ]
        one = {"license_key": "LK1.x.y"}
        mixed = {"license_key": "LK1.x.y", "license_id": "L-1"}
        assert sum(_matches(b, one) for b in branches) == 1
        assert sum(_matches(b, mixed) for b in branches) == 0


def test_a_mixed_body_the_document_forbids_is_refused(client: FlaskClient) -> None:
    got = client.post(
        "/api/v1/validate",
        json={
            "license_key": "LK1.x.y",
            "license_id": "L-7K3M-9QX2",
            "activation_password": "x",
            "installation_id": "3f2a9c0e7d5b41a8",
        },
    )
    assert got.status_code == 422
    assert "credentials" in got.get_json()["errors"]
