"""Small helpers for the client-API tests: credentials, calls, and what staff
can see through the admin API afterwards."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask.testing import FlaskClient

from licserver.signing import parse_certificate, public_key_from_b64
from tests.support.factory import AdminClient, IssuedLicense

PROBLEM_KEYS = {"type", "title", "status", "code", "detail"}
# The one answer for every way of having wrong credentials (no oracle).
INVALID_CREDENTIALS_DETAIL = "The credentials are not valid."


def by_key(lic: IssuedLicense) -> dict[str, str]:
    return {"license_key": lic.key}


def by_password(lic: IssuedLicense) -> dict[str, str]:
    return {"license_id": lic.id, "activation_password": lic.activation_password}


def by_company(lic: IssuedLicense, company_password: str) -> dict[str, str]:
    return {
        "customer_number": lic.customer_number,
        "company_password": company_password,
        "product": lic.product,
    }


def activate(
    client: FlaskClient,
    creds: dict[str, Any],
    iid: str = "install-0001",
    mn: str = "PC-1",
    *,
    info: dict[str, Any] | None = None,
) -> Any:
    """POST /api/v1/activations with ``creds``, an installation and, optionally,
    the ``client`` object ``info``."""
    body: dict[str, Any] = {**creds, "installation_id": iid, "machine_name": mn}
    if info is not None:
        body["client"] = info
    return client.post("/api/v1/activations", json=body)


def activated(
    client: FlaskClient,
    creds: dict[str, Any],
    iid: str = "install-0001",
    mn: str = "PC-1",
    *,
    info: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Activate and insist on success; the response body."""
    r = activate(client, creds, iid, mn, info=info)
    assert r.status_code in (200, 201), r.get_json()
    body: dict[str, Any] = r.get_json()
    return body


def checkin(client: FlaskClient, activation_id: str, token: str) -> Any:
    return client.post(
        f"/api/v1/activations/{activation_id}/checkin", json={"activation_token": token}
    )


def deactivate(client: FlaskClient, activation_id: str, token: str | None) -> Any:
    headers = {"Authorization": f"Activation {token}"} if token is not None else {}
    return client.delete(f"/api/v1/activations/{activation_id}", headers=headers)


def validate(client: FlaskClient, creds: dict[str, Any], iid: str = "install-0001") -> Any:
    return client.post("/api/v1/validate", json={**creds, "installation_id": iid})


def assert_problem(resp: Any, status: int, code: str) -> dict[str, Any]:
    """The response is problem+json with ``status`` and ``code``; its body."""
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/problem+json"
    body = resp.get_json()
    assert isinstance(body, dict)
    assert PROBLEM_KEYS <= set(body), body
    assert body["status"] == status
    assert body["code"] == code, body
    assert body["type"] == "about:blank"
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    # an extra field (observability): the response's request id; the rest is API.md's
    assert body.pop("request_id") == resp.headers["X-Request-ID"]
    return body


def public_keys(client: FlaskClient) -> dict[str, Ed25519PublicKey]:
    r = client.get("/api/v1/keys")
    assert r.status_code == 200
    return {k["kid"]: public_key_from_b64(k["public_key"]) for k in r.get_json()["keys"]}


def certificate_claims(client: FlaskClient, certificate: str) -> dict[str, Any]:
    """Verify an AC1 certificate with the server's published keys; its payload."""
    return parse_certificate(certificate, public_keys(client))


def license_view(admin: AdminClient, license_id: str) -> dict[str, Any]:
    r = admin.get(f"/api/v1/licenses/{license_id}")
    assert r.status_code == 200, r.get_json()
    body: dict[str, Any] = r.get_json()
    return body


def events(admin: AdminClient, license_id: str, kind: str | None = None) -> list[dict[str, Any]]:
    """The licence's whole history through the admin API, oldest first."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        r = admin.get(f"/api/v1/licenses/{license_id}/events", query_string=query)
        assert r.status_code == 200, r.get_json()
        page = r.get_json()
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    return [e for e in items if kind is None or e["kind"] == kind]


def activations(admin: AdminClient, license_id: str, state: str = "all") -> list[dict[str, Any]]:
    r = admin.get(f"/api/v1/licenses/{license_id}/activations", query_string={"state": state})
    assert r.status_code == 200, r.get_json()
    items: list[dict[str, Any]] = r.get_json()["items"]
    return items
