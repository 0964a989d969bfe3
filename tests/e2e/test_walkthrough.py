"""API.md's server side, line by line, over real HTTP against gunicorn with 4
workers: what an integrator and an administrator do, in the order they do it.
Consecutive requests land on different worker processes, so everything asserted
here is state kept in the database, not in a process."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from licserver.signing import parse_certificate, public_key_from_b64
from tests.live import LiveServer

pytestmark = pytest.mark.e2e

ServerFactory = Callable[..., LiveServer]
RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
COMPANY_PASSWORD = "correct horse battery"


def ok(r: httpx.Response, status: int = 200) -> Any:
    """The JSON body of a response that must have ``status``."""
    assert r.status_code == status, f"{r.request.method} {r.request.url}: {r.status_code} {r.text}"
    assert r.headers["content-type"].startswith("application/json")
    return r.json()


def problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is problem+json with ``status`` and ``code``; its body."""
    assert r.status_code == status, f"{r.request.method} {r.request.url}: {r.status_code} {r.text}"
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    assert body["type"] == "about:blank"
    assert body["status"] == status and body["code"] == code, body
    assert body["title"] and body["detail"]
    return body


class Client:
    """A product's calls (no admin token)."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    def activate(self, creds: dict[str, str], iid: str, mn: str, **extra: Any) -> httpx.Response:
        body = {**creds, "installation_id": iid, "machine_name": mn, **extra}
        return self.http.post("/api/v1/activations", json=body)

    def checkin(self, activation: dict[str, Any]) -> httpx.Response:
        return self.http.post(
            f"/api/v1/activations/{activation['activation_id']}/checkin",
            json={"activation_token": activation["activation_token"]},
        )

    def deactivate(self, activation: dict[str, Any]) -> httpx.Response:
        return self.http.delete(
            f"/api/v1/activations/{activation['activation_id']}",
            headers={"Authorization": f"Activation {activation['activation_token']}"},
        )

    def validate(self, creds: dict[str, str], iid: str) -> httpx.Response:
        return self.http.post("/api/v1/validate", json={**creds, "installation_id": iid})

    def claims(self, certificate: str) -> dict[str, Any]:
        """Verify an AC1 certificate with nothing but the published public keys."""
        keys = ok(self.http.get("/api/v1/keys"))["keys"]
        return parse_certificate(
            certificate, {k["kid"]: public_key_from_b64(k["public_key"]) for k in keys}
        )


def _setup(admin: httpx.Client, seats: int = 3) -> tuple[dict[str, Any], dict[str, Any]]:
    """Product, customer (with a company password) and licence through the admin API."""
    product = ok(
        admin.post(
            "/api/v1/products",
            json={"code": "cad-pro", "name": "CAD Pro", "default_seats": 2},
        ),
        201,
    )
    assert product["code"] == "cad-pro" and product["offline_grace_days"] == 14
    customer = ok(
        admin.post(
            "/api/v1/customers",
            json={
                "name": "Acme Ltd",
                "email": "owner@acme.test",
                "company_password": COMPANY_PASSWORD,
            },
        ),
        201,
    )
    assert customer["number"].startswith("C-")
    assert customer["name"] == "Acme Ltd" and customer["email"] == "owner@acme.test"
    lic = ok(
        admin.post(
            "/api/v1/licenses",
            json={
                "product": "cad-pro",
                "customer": customer["number"],
                "seats": seats,
                "expires_at": None,
                "features": ["export"],
            },
        ),
        201,
    )
    return customer, lic


def test_public_endpoints(live_server: ServerFactory) -> None:
    server = live_server(workers=4)
    with server.client() as http:
        assert ok(http.get("/healthz"))["status"] == "ok"
        assert ok(http.get("/readyz"))["status"] == "ok"

        keys = ok(http.get("/api/v1/keys"))["keys"]
        assert keys and {k["alg"] for k in keys} == {"Ed25519"}
        assert any(k["status"] == "active" for k in keys)
        for k in keys:
            public_key_from_b64(k["public_key"])  # 32 raw bytes, base64url

        doc = ok(http.get("/api/v1/openapi.json"))
        assert doc["openapi"].startswith("3.")
        paths = doc["paths"]
        expected = {
            "/healthz": {"get"},
            "/readyz": {"get"},
            "/api/v1/keys": {"get"},
            "/api/v1/activations": {"post", "get"},
            "/api/v1/activations/{activation_id}/checkin": {"post"},
            "/api/v1/activations/{activation_id}": {"delete"},
            "/api/v1/activations/{activation_id}/deactivate": {"post"},
            "/api/v1/validate": {"post"},
            "/api/v1/products": {"get", "post"},
            "/api/v1/products/{code}": {"get"},
            "/api/v1/customers": {"get", "post"},
            "/api/v1/customers/{number}": {"get", "patch"},
            "/api/v1/customers/{number}/users": {"get", "post"},
            "/api/v1/licenses": {"get", "post"},
            "/api/v1/licenses/{license_id}": {"get", "patch"},
            "/api/v1/licenses/{license_id}/suspend": {"post"},
            "/api/v1/licenses/{license_id}/reinstate": {"post"},
            "/api/v1/licenses/{license_id}/revoke": {"post"},
            "/api/v1/licenses/{license_id}/activation-password": {"post"},
            "/api/v1/licenses/{license_id}/key": {"post"},
            "/api/v1/licenses/{license_id}/activations": {"get"},
            "/api/v1/licenses/{license_id}/events": {"get"},
        }
        for path, methods in expected.items():
            assert path in paths, path
            assert methods <= set(paths[path]), (path, set(paths[path]))

        # No admin token, a wrong one: UNAUTHORIZED, never data.
        problem(http.get("/api/v1/licenses"), 401, "UNAUTHORIZED")
        problem(
            http.get("/api/v1/licenses", headers={"Authorization": "Bearer lsa_nope_nope"}),
            401,
            "UNAUTHORIZED",
        )
        problem(http.put("/api/v1/validate", json={}), 405, "METHOD_NOT_ALLOWED")


def test_issue_a_licence_and_activate_with_each_credential_kind(
    live_server: ServerFactory, admin_token: str
) -> None:
    server = live_server(workers=4)
    with server.client(admin_token) as admin, server.client() as http:
        client = Client(http)
        customer, lic = _setup(admin)
        number = customer["number"]
        assert lic["id"].startswith("L-") and lic["key"].startswith("LK1.")
        assert lic["activation_password"]
        assert (lic["product"], lic["customer"], lic["seats"]) == ("cad-pro", number, 3)
        assert (lic["seats_used"], lic["expires_at"], lic["status"]) == (0, None, "active")

        # The rest of the admin reads and edits.
        assert [p["code"] for p in ok(admin.get("/api/v1/products"))["items"]] == ["cad-pro"]
        assert ok(admin.get("/api/v1/products/cad-pro"))["name"] == "CAD Pro"
        problem(admin.get("/api/v1/products/nope"), 404, "NOT_FOUND")
        problem(
            admin.post("/api/v1/products", json={"code": "cad-pro", "name": "Again"}),
            409,
            "CONFLICT",
        )
        customers = ok(admin.get("/api/v1/customers"))
        assert [c["number"] for c in customers["items"]] == [number]
        assert customers["next_cursor"] is None
        patched = ok(admin.patch(f"/api/v1/customers/{number}", json={"name": "Acme GmbH"}))
        assert patched["name"] == "Acme GmbH"
        assert ok(admin.get(f"/api/v1/customers/{number}"))["name"] == "Acme GmbH"
        user = ok(
            admin.post(
                f"/api/v1/customers/{number}/users",
                json={"email": "it@acme.test", "name": "IT", "role": "technical"},
            ),
            201,
        )
        assert (user["email"], user["role"]) == ("it@acme.test", "technical")
        users = ok(admin.get(f"/api/v1/customers/{number}/users"))["items"]
        assert {u["email"] for u in users} == {"owner@acme.test", "it@acme.test"}

        listed = ok(
            admin.get(
                "/api/v1/licenses",
                params={"customer": number, "product": "cad-pro", "status": "active"},
            )
        )["items"]
        assert [item["id"] for item in listed] == [lic["id"]]
        assert "key" not in listed[0] and "activation_password" not in listed[0]
        assert ok(admin.get("/api/v1/licenses", params={"status": "revoked"}))["items"] == []
        shown = ok(admin.get(f"/api/v1/licenses/{lic['id']}"))
        assert (shown["key"], shown["activation_password"]) == (
            lic["key"],
            lic["activation_password"],
        )
        patched = ok(admin.patch(f"/api/v1/licenses/{lic['id']}", json={"seats": 4}))
        assert patched["seats"] == 4

        # Licence key.
        by_key = {"license_key": lic["key"]}
        first = ok(
            client.activate(
                by_key, "inst-key-0001", "Zeichenbüro-1", client={"app_version": "2.1"}
            ),
            201,
        )
        assert first["license_id"] == lic["id"]
        assert (first["installation_id"], first["machine_name"]) == (
            "inst-key-0001",
            "Zeichenbüro-1",
        )
        assert RFC3339_UTC.match(first["activated_at"])
        claims = client.claims(first["certificate"])
        assert claims["aid"] == first["activation_id"] and claims["iid"] == "inst-key-0001"
        assert (claims["lid"], claims["prod"], claims["cust"]) == (lic["id"], "cad-pro", number)
        assert (claims["seats"], claims["features"], claims["exp"]) == (4, ["export"], None)

        # The same installation again: 200, same activation, no second seat, and
        # the earlier token stops working.
        again = ok(client.activate(by_key, "inst-key-0001", "Zeichenbüro-1"), 200)
        assert again["activation_id"] == first["activation_id"]
        assert again["activation_token"] != first["activation_token"]
        problem(client.checkin(first), 401, "INVALID_CREDENTIALS")
        refreshed = ok(client.checkin(again))
        assert client.claims(refreshed["certificate"])["aid"] == first["activation_id"]

        # Activation password.
        by_password = {"license_id": lic["id"], "activation_password": lic["activation_password"]}
        ok(client.activate(by_password, "inst-pw-0001", "PC-2"), 201)
        problem(
            client.activate({**by_password, "activation_password": "wrong"}, "inst-pw-9", "X"),
            401,
            "INVALID_CREDENTIALS",
        )

        # Company password: picks the customer's licence of that product.
        by_company = {
            "customer_number": number,
            "company_password": COMPANY_PASSWORD,
            "product": "cad-pro",
        }
        via_company = ok(client.activate(by_company, "inst-co-0001", "PC-3"), 201)
        assert via_company["license_id"] == lic["id"]
        problem(
            client.activate({**by_company, "product": "other"}, "inst-co-0002", "PC-4"),
            404,
            "NOT_FOUND",
        )

        # Validate: read-only answers with a code.
        valid = ok(client.validate(by_key, "inst-key-0001"))
        assert (valid["valid"], valid["code"]) == (True, "VALID")
        assert valid["license"]["id"] == lic["id"] and valid["license"]["seats_used"] == 3
        assert valid["license"]["status"] == "active"
        elsewhere = ok(client.validate(by_password, "inst-never-01"))
        assert (elsewhere["valid"], elsewhere["code"]) == (False, "NOT_ACTIVATED")

        # The fourth and last seat, then the limit.
        last = ok(client.activate(by_company, "inst-co-0005", "PC-5"), 201)
        refused = problem(
            client.activate(by_key, "inst-key-0006", "PC-6"), 409, "SEAT_LIMIT_REACHED"
        )
        assert "detail" in refused

        # The client deactivates itself: the seat is free; repeating answers the same.
        gone = ok(client.deactivate(last))
        assert RFC3339_UTC.match(gone["deactivated_at"])
        assert ok(client.deactivate(last)) == gone
        problem(client.checkin(last), 410, "DEACTIVATED")
        ok(client.activate(by_key, "inst-key-0006", "PC-6"), 201)

        history = ok(admin.get(f"/api/v1/licenses/{lic['id']}/events", params={"limit": 200}))
        kinds = [e["kind"] for e in history["items"]]
        assert kinds[0] == "license.created"
        for kind in (
            "license.updated",
            "activation.created",
            "activation.reused",
            "activation.checked_in",
            "activation.checkin_refused",
            "activation.refused",
            "activation.deactivated",
        ):
            assert kind in kinds, (kind, kinds)
        refusals = [e for e in history["items"] if e["kind"] == "activation.refused"]
        assert {e["reason"] for e in refusals} == {"INVALID_CREDENTIALS", "SEAT_LIMIT_REACHED"}
        by_client = [e for e in history["items"] if e["kind"] == "activation.deactivated"]
        assert [(e["actor"]["type"], e["installation_id"]) for e in by_client] == [
            ("client", "inst-co-0005")
        ]
        created = next(e for e in history["items"] if e["kind"] == "activation.created")
        assert created["ip"] == "127.0.0.1" and created["machine_name"] == "Zeichenbüro-1"
        assert [e["id"] for e in history["items"]] == sorted(e["id"] for e in history["items"])


def test_licence_lifecycle_as_staff_sees_it(live_server: ServerFactory, admin_token: str) -> None:
    server = live_server(workers=4)
    with server.client(admin_token) as admin, server.client() as http:
        client = Client(http)
        _, lic = _setup(admin, seats=2)
        lid = lic["id"]
        by_key = {"license_key": lic["key"]}
        laptop = ok(client.activate(by_key, "inst-laptop-01", "Laptop-Anna"), 201)

        # Suspend: activation and check-in refused with the licence's reason.
        suspended = ok(admin.post(f"/api/v1/licenses/{lid}/suspend", json={"reason": "unpaid"}))
        assert suspended["status"] == "suspended"
        problem(client.activate(by_key, "inst-desk-0001", "Desk"), 403, "LICENSE_SUSPENDED")
        problem(client.checkin(laptop), 403, "LICENSE_SUSPENDED")
        answer = ok(client.validate(by_key, "inst-laptop-01"))
        assert (answer["valid"], answer["code"]) == (False, "LICENSE_SUSPENDED")
        assert ok(admin.get("/api/v1/licenses", params={"status": "suspended"}))["items"]
        reinstated = ok(admin.post(f"/api/v1/licenses/{lid}/reinstate"))
        assert reinstated["status"] == "active"
        desk = ok(client.activate(by_key, "inst-desk-0001", "Desk"), 201)

        # A new activation password: the old one stops working.
        new_password = ok(admin.post(f"/api/v1/licenses/{lid}/activation-password"))
        new_password = new_password["activation_password"]
        assert new_password != lic["activation_password"]
        old_creds = {"license_id": lid, "activation_password": lic["activation_password"]}
        problem(client.activate(old_creds, "inst-desk-0001", "Desk"), 401, "INVALID_CREDENTIALS")
        new_creds = {"license_id": lid, "activation_password": new_password}
        assert (
            ok(client.activate(new_creds, "inst-desk-0001", "Desk"))["activation_id"]
            == (desk["activation_id"])
        )
        desk = ok(client.activate(new_creds, "inst-desk-0001", "Desk"))  # the latest token

        # A reissued key: the old one stops working.
        new_key = ok(admin.post(f"/api/v1/licenses/{lid}/key"))["key"]
        assert new_key.startswith("LK1.") and new_key != lic["key"]
        problem(
            client.activate(by_key, "inst-laptop-01", "Laptop-Anna"), 401, "INVALID_CREDENTIALS"
        )
        laptop = ok(client.activate({"license_key": new_key}, "inst-laptop-01", "Laptop-Anna"))
        assert ok(admin.get(f"/api/v1/licenses/{lid}"))["key"] == new_key

        # Activations of the licence, and the lost-machine search.
        active = ok(admin.get(f"/api/v1/licenses/{lid}/activations"))["items"]
        assert {a["installation_id"] for a in active} == {"inst-laptop-01", "inst-desk-0001"}
        assert {a["state"] for a in active} == {"active"}
        found = ok(admin.get("/api/v1/activations", params={"installation_id": "inst-desk-0001"}))
        assert [a["id"] for a in found["items"]] == [desk["activation_id"]]
        found = ok(admin.get("/api/v1/activations", params={"machine_name": "laptop-anna"}))
        assert [a["id"] for a in found["items"]] == [laptop["activation_id"]]
        problem(admin.get("/api/v1/activations"), 422, "VALIDATION_FAILED")

        # Admin deactivation with a reason: seat freed, the machine's check-in gets 410.
        dead = ok(
            admin.post(
                f"/api/v1/activations/{laptop['activation_id']}/deactivate",
                json={"reason": "laptop stolen"},
            )
        )
        assert dead["state"] == "deactivated" and dead["deactivation_reason"] == "laptop stolen"
        assert dead["deactivated_by"]["type"] == "admin"
        problem(client.checkin(laptop), 410, "DEACTIVATED")
        assert ok(admin.get(f"/api/v1/licenses/{lid}"))["seats_used"] == 1
        everything = ok(admin.get(f"/api/v1/licenses/{lid}/activations", params={"state": "all"}))
        assert {(a["installation_id"], a["state"]) for a in everything["items"]} == {
            ("inst-laptop-01", "deactivated"),
            ("inst-desk-0001", "active"),
        }

        # Revoke: for good.
        revoked = ok(admin.post(f"/api/v1/licenses/{lid}/revoke", json={"reason": "fraud"}))
        assert revoked["status"] == "revoked"
        problem(client.checkin(desk), 403, "LICENSE_REVOKED")
        problem(client.checkin(laptop), 410, "DEACTIVATED")  # 410 wins over 403
        problem(client.activate(new_creds, "inst-new-00001", "New"), 403, "LICENSE_REVOKED")
        answer = ok(client.validate(new_creds, "inst-desk-0001"))
        assert (answer["valid"], answer["code"]) == (False, "LICENSE_REVOKED")

        history = ok(admin.get(f"/api/v1/licenses/{lid}/events", params={"limit": 200}))["items"]
        kinds = [e["kind"] for e in history]
        for kind in (
            "license.created",
            "license.suspended",
            "license.reinstated",
            "license.password_regenerated",
            "license.key_reissued",
            "license.revoked",
            "activation.created",
            "activation.reused",
            "activation.refused",
            "activation.checkin_refused",
            "activation.deactivated",
        ):
            assert kind in kinds, (kind, kinds)
        assert kinds.index("license.suspended") < kinds.index("license.reinstated")
        assert kinds.index("license.reinstated") < kinds.index("license.revoked")
        by_admin = next(e for e in history if e["kind"] == "activation.deactivated")
        assert by_admin["actor"]["type"] == "admin" and by_admin["reason"] == "laptop stolen"
        assert by_admin["installation_id"] == "inst-laptop-01"
        assert by_admin["machine_name"] == "Laptop-Anna"
        refusals = {e["reason"] for e in history if e["kind"] == "activation.refused"}
        assert {"LICENSE_SUSPENDED", "INVALID_CREDENTIALS", "LICENSE_REVOKED"} <= refusals
