"""Admin API: licences — issue, list and filter, change, status, new password and key."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from licserver.signing import parse_license_key
from tests.api.helpers import assert_problem, events, public_keys
from tests.support.factory import AdminClient, Factory

LICENSE_ID_RE = re.compile(r"^L-[0-9A-Z]{4}-[0-9A-Z]{4}$")
RFC3339_Z = "%Y-%m-%dT%H:%M:%SZ"
SECRET_FIELDS = {"key", "activation_password"}


def _rfc3339(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime(RFC3339_Z)


def _parse(text: str) -> datetime:
    return datetime.strptime(text, RFC3339_Z).replace(tzinfo=UTC)


def _issue(admin: AdminClient, **body: Any) -> Any:
    return admin.post("/api/v1/licenses", json=body)


def _issued(admin: AdminClient, **body: Any) -> dict[str, Any]:
    r = _issue(admin, **body)
    assert r.status_code == 201, r.get_json()
    out: dict[str, Any] = r.get_json()
    return out


def _activate(client: FlaskClient, creds: dict[str, str], iid: str = "install-0001") -> Any:
    return client.post(
        "/api/v1/activations", json={**creds, "installation_id": iid, "machine_name": "PC-1"}
    )


@pytest.fixture
def catalog(factory: Factory) -> tuple[str, str]:
    """A product (3 seats by default, no duration) and a customer."""
    return factory.product("cad-pro", default_seats=3), factory.customer()


# ---- issuing -------------------------------------------------------------------


def test_create_license(admin: AdminClient, client: FlaskClient, catalog: tuple[str, str]) -> None:
    product, customer = catalog
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
    r = _issue(
        admin,
        product=product,
        customer=customer,
        seats=4,
        expires_at=_rfc3339(expires),
        features=["export", "pro"],
    )
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert LICENSE_ID_RE.match(body["id"]), body["id"]
    assert body["product"] == product
    assert body["customer"] == customer
    assert body["seats"] == 4
    assert body["seats_used"] == 0
    assert body["expires_at"] == _rfc3339(expires)
    assert body["features"] == ["export", "pro"]
    assert body["status"] == "active"
    assert isinstance(body["activation_password"], str) and len(body["activation_password"]) >= 16

    # The key is an LK1 token the server's published keys verify, naming this licence.
    assert body["key"].startswith("LK1.")
    claims = parse_license_key(body["key"], public_keys(client))
    assert (claims.lid, claims.prod, claims.cust) == (body["id"], product, customer)

    # Both secrets work for activation.
    assert _activate(client, {"license_key": body["key"]}, "install-key-01").status_code == 201
    r = _activate(
        client,
        {"license_id": body["id"], "activation_password": body["activation_password"]},
        "install-pwd-01",
    )
    assert r.status_code == 201, r.get_json()


def test_create_license_defaults_from_product(
    admin: AdminClient, factory: Factory, catalog: tuple[str, str]
) -> None:
    product, customer = catalog
    body = _issued(admin, product=product, customer=customer)
    assert body["seats"] == 3
    assert body["expires_at"] is None
    assert body["features"] == []

    timed = factory.product("cad-year", default_seats=2, default_duration_days=365)
    before = datetime.now(UTC).replace(microsecond=0)
    body = _issued(admin, product=timed, customer=customer)
    after = datetime.now(UTC)
    assert body["seats"] == 2
    expires = _parse(body["expires_at"])
    assert before + timedelta(days=365) <= expires <= after + timedelta(days=365)

    # An explicit null overrides the product's duration: perpetual.
    body = _issued(admin, product=timed, customer=customer, expires_at=None)
    assert body["expires_at"] is None
    assert body["status"] == "active"


def test_expires_at_offset_is_converted_to_utc(
    admin: AdminClient, catalog: tuple[str, str]
) -> None:
    product, customer = catalog
    body = _issued(
        admin, product=product, customer=customer, expires_at="2031-06-01T12:00:00+02:00"
    )
    assert body["expires_at"] == "2031-06-01T10:00:00Z"


def test_create_license_unknown_product_or_customer(
    admin: AdminClient, catalog: tuple[str, str]
) -> None:
    product, customer = catalog
    assert_problem(_issue(admin, product="nope", customer=customer), 404, "NOT_FOUND")
    assert_problem(_issue(admin, product=product, customer="C-NOPE00"), 404, "NOT_FOUND")
    assert admin.get("/api/v1/licenses").get_json()["items"] == []


BAD_LICENCE_FIELDS: list[tuple[dict[str, Any], str]] = [
    ({"seats": 0}, "seats"),
    ({"seats": -1}, "seats"),
    ({"seats": "5"}, "seats"),
    ({"seats": 2.5}, "seats"),
    ({"seats": True}, "seats"),
    ({"expires_at": "next week"}, "expires_at"),
    ({"expires_at": "2030-01-01T00:00:00"}, "expires_at"),  # no timezone
    ({"expires_at": 1900000000}, "expires_at"),
    ({"features": "export"}, "features"),
    ({"features": [""]}, "features"),
    ({"features": [1]}, "features"),
    ({"key": "LK1.x.y"}, "key"),
    ({"status": "revoked"}, "status"),
]


def test_create_license_validation(admin: AdminClient, catalog: tuple[str, str]) -> None:
    product, customer = catalog
    # One app for every case: the per-test database set-up is the slow part.
    for extra, field in BAD_LICENCE_FIELDS:
        r = _issue(admin, product=product, customer=customer, **extra)
        assert r.status_code == 422, (extra, r.get_json())
        problem = assert_problem(r, 422, "VALIDATION_FAILED")
        assert any(k == field or k.startswith(f"{field}.") for k in problem["errors"]), (
            extra,
            problem,
        )
    assert admin.get("/api/v1/licenses").get_json()["items"] == []


def test_create_license_missing_fields(admin: AdminClient) -> None:
    problem = assert_problem(_issue(admin), 422, "VALIDATION_FAILED")
    assert {"product", "customer"} <= set(problem["errors"])
    r = admin.post("/api/v1/licenses", data=b"[]", content_type="application/json")
    assert_problem(r, 400, "MALFORMED_REQUEST")


# ---- reading -------------------------------------------------------------------


def test_get_one_license_shows_secrets(admin: AdminClient, catalog: tuple[str, str]) -> None:
    product, customer = catalog
    created = _issued(admin, product=product, customer=customer, seats=2)
    r = admin.get(f"/api/v1/licenses/{created['id']}")
    assert r.status_code == 200
    body = r.get_json()
    assert body["key"] == created["key"]
    assert body["activation_password"] == created["activation_password"]
    assert (body["seats"], body["seats_used"], body["status"]) == (2, 0, "active")
    assert_problem(admin.get("/api/v1/licenses/L-0000-0000"), 404, "NOT_FOUND")
    assert_problem(admin.get("/api/v1/licenses/garbage"), 404, "NOT_FOUND")


def test_list_never_shows_secrets(admin: AdminClient, catalog: tuple[str, str]) -> None:
    product, customer = catalog
    ids = [_issued(admin, product=product, customer=customer)["id"] for _ in range(3)]
    r = admin.get("/api/v1/licenses")
    assert r.status_code == 200
    items = r.get_json()["items"]
    assert [i["id"] for i in items] == ids
    for item in items:
        assert not SECRET_FIELDS & set(item), item
        assert item["status"] == "active"


def test_list_paginates(admin: AdminClient, catalog: tuple[str, str]) -> None:
    product, customer = catalog
    ids = [_issued(admin, product=product, customer=customer)["id"] for _ in range(5)]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        query: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        body = admin.get("/api/v1/licenses", query_string=query).get_json()
        seen += [i["id"] for i in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == ids
    assert pages == 3
    for query in ({"limit": 0}, {"limit": 201}, {"cursor": "%%%"}):
        assert_problem(admin.get("/api/v1/licenses", query_string=query), 422, "VALIDATION_FAILED")


def test_list_filters(admin: AdminClient, factory: Factory) -> None:
    p1 = factory.product("p-one")
    p2 = factory.product("p-two")
    c1 = factory.customer(email="a@one.test")
    c2 = factory.customer(email="b@two.test")
    past = _rfc3339(datetime.now(UTC) - timedelta(days=1))
    future = _rfc3339(datetime.now(UTC) + timedelta(days=10))

    a = _issued(admin, product=p1, customer=c1)["id"]
    b = _issued(admin, product=p2, customer=c1, expires_at=future)["id"]
    c = _issued(admin, product=p1, customer=c2, expires_at=past)["id"]
    d = _issued(admin, product=p2, customer=c2)["id"]
    e = _issued(admin, product=p1, customer=c1)["id"]
    # An expired licence that is also suspended counts as suspended, not expired.
    f = _issued(admin, product=p2, customer=c1, expires_at=past)["id"]
    assert admin.post(f"/api/v1/licenses/{d}/suspend").status_code == 200
    assert admin.post(f"/api/v1/licenses/{e}/revoke").status_code == 200
    assert admin.post(f"/api/v1/licenses/{f}/suspend").status_code == 200

    def ids(**query: str) -> list[str]:
        r = admin.get("/api/v1/licenses", query_string=query)
        assert r.status_code == 200, r.get_json()
        return [i["id"] for i in r.get_json()["items"]]

    assert ids(customer=c1) == [a, b, e, f]
    assert ids(customer=c2) == [c, d]
    assert ids(product=p1) == [a, c, e]
    assert ids(product=p2, customer=c2) == [d]
    assert ids(status="active") == [a, b]
    assert ids(status="expired") == [c]
    assert ids(status="suspended") == [d, f]
    assert ids(status="revoked") == [e]
    assert ids(status="active", product=p2) == [b]
    assert ids(customer="C-NOPE00") == []

    statuses = {i["id"]: i["status"] for i in admin.get("/api/v1/licenses").get_json()["items"]}
    assert statuses == {
        a: "active",
        b: "active",
        c: "expired",
        d: "suspended",
        e: "revoked",
        f: "suspended",
    }
    problem = assert_problem(
        admin.get("/api/v1/licenses", query_string={"status": "valid"}), 422, "VALIDATION_FAILED"
    )
    assert "status" in problem["errors"]


# ---- changing --------------------------------------------------------------------


def test_patch_seats_expiry_features(admin: AdminClient, catalog: tuple[str, str]) -> None:
    product, customer = catalog
    lic = _issued(admin, product=product, customer=customer, seats=2, features=["a"])
    lid = lic["id"]
    r = admin.patch(
        f"/api/v1/licenses/{lid}",
        json={"seats": 7, "expires_at": "2030-01-01T00:00:00Z", "features": ["a", "b"]},
    )
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert (body["seats"], body["expires_at"], body["features"]) == (
        7,
        "2030-01-01T00:00:00Z",
        ["a", "b"],
    )
    shown = admin.get(f"/api/v1/licenses/{lid}").get_json()
    assert (shown["seats"], shown["expires_at"], shown["features"]) == (
        7,
        "2030-01-01T00:00:00Z",
        ["a", "b"],
    )
    # The key does not change with the licence's terms.
    assert shown["key"] == lic["key"]

    (updated,) = events(admin, lid, "license.updated")
    assert updated["data"]["seats"] == {"from": 2, "to": 7}
    assert updated["data"]["expires_at"] == {"from": None, "to": "2030-01-01T00:00:00Z"}
    assert updated["data"]["features"] == {"from": ["a"], "to": ["a", "b"]}
    assert updated["actor"]["type"] == "admin"

    # Back to perpetual.
    r = admin.patch(f"/api/v1/licenses/{lid}", json={"expires_at": None})
    assert r.status_code == 200
    assert r.get_json()["expires_at"] is None
    last = events(admin, lid, "license.updated")[-1]
    assert last["data"] == {"expires_at": {"from": "2030-01-01T00:00:00Z", "to": None}}


def test_patch_to_the_past_makes_it_expired(
    admin: AdminClient, client: FlaskClient, catalog: tuple[str, str]
) -> None:
    product, customer = catalog
    lic = _issued(admin, product=product, customer=customer)
    past = _rfc3339(datetime.now(UTC) - timedelta(minutes=5))
    r = admin.patch(f"/api/v1/licenses/{lic['id']}", json={"expires_at": past})
    assert r.status_code == 200
    assert r.get_json()["status"] == "expired"
    assert_problem(_activate(client, {"license_key": lic["key"]}), 403, "LICENSE_EXPIRED")


def test_patch_errors(admin: AdminClient, catalog: tuple[str, str]) -> None:
    product, customer = catalog
    lid = _issued(admin, product=product, customer=customer)["id"]
    assert_problem(admin.patch("/api/v1/licenses/L-0000-0000", json={"seats": 2}), 404, "NOT_FOUND")
    for body, field in (
        ({"seats": 0}, "seats"),
        ({"seats": None}, "seats"),
        ({"features": None}, "features"),
        ({"product": "other"}, "product"),
        ({"status": "revoked"}, "status"),
    ):
        problem = assert_problem(
            admin.patch(f"/api/v1/licenses/{lid}", json=body), 422, "VALIDATION_FAILED"
        )
        assert field in problem["errors"], problem
    # An empty change changes nothing and records nothing.
    r = admin.patch(f"/api/v1/licenses/{lid}", json={})
    assert r.status_code == 200
    assert events(admin, lid, "license.updated") == []


# ---- status ----------------------------------------------------------------------


def test_suspend_reinstate_revoke(
    admin: AdminClient, client: FlaskClient, catalog: tuple[str, str]
) -> None:
    product, customer = catalog
    lic = _issued(admin, product=product, customer=customer)
    lid = lic["id"]
    key = {"license_key": lic["key"]}

    r = admin.post(f"/api/v1/licenses/{lid}/suspend", json={"reason": "unpaid invoice"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["id"] == lid
    assert r.get_json()["status"] == "suspended"
    assert_problem(_activate(client, key), 403, "LICENSE_SUSPENDED")

    r = admin.post(f"/api/v1/licenses/{lid}/reinstate")
    assert r.status_code == 200
    assert r.get_json()["status"] == "active"
    assert _activate(client, key).status_code == 201

    r = admin.post(f"/api/v1/licenses/{lid}/revoke", json={"reason": "refund"})
    assert r.status_code == 200
    assert r.get_json()["status"] == "revoked"
    assert_problem(_activate(client, key, "install-0002"), 403, "LICENSE_REVOKED")

    # Revocation is final.
    assert_problem(admin.post(f"/api/v1/licenses/{lid}/reinstate"), 409, "CONFLICT")
    assert_problem(admin.post(f"/api/v1/licenses/{lid}/suspend"), 409, "CONFLICT")
    assert admin.get(f"/api/v1/licenses/{lid}").get_json()["status"] == "revoked"
    # Revoking again is the same answer.
    r = admin.post(f"/api/v1/licenses/{lid}/revoke")
    assert r.status_code == 200
    assert r.get_json()["status"] == "revoked"

    status_events = [
        e
        for e in events(admin, lid)
        if e["kind"] in ("license.suspended", "license.reinstated", "license.revoked")
    ]
    assert [(e["kind"], e["reason"]) for e in status_events] == [
        ("license.suspended", "unpaid invoice"),
        ("license.reinstated", None),
        ("license.revoked", "refund"),
    ]
    assert status_events[0]["data"] == {"from": "active", "to": "suspended"}
    assert all(e["actor"]["type"] == "admin" for e in status_events)


def test_repeating_a_status_change_is_a_no_op(admin: AdminClient, catalog: tuple[str, str]) -> None:
    product, customer = catalog
    lid = _issued(admin, product=product, customer=customer)["id"]
    r = admin.post(f"/api/v1/licenses/{lid}/reinstate")
    assert r.status_code == 200
    assert r.get_json()["status"] == "active"
    assert admin.post(f"/api/v1/licenses/{lid}/suspend").status_code == 200
    r = admin.post(f"/api/v1/licenses/{lid}/suspend")
    assert r.status_code == 200
    assert r.get_json()["status"] == "suspended"
    assert len(events(admin, lid, "license.suspended")) == 1
    assert events(admin, lid, "license.reinstated") == []


def test_status_change_errors(admin: AdminClient, catalog: tuple[str, str]) -> None:
    product, customer = catalog
    lid = _issued(admin, product=product, customer=customer)["id"]
    for action in ("suspend", "reinstate", "revoke"):
        assert_problem(admin.post(f"/api/v1/licenses/L-0000-0000/{action}"), 404, "NOT_FOUND")
        problem = assert_problem(
            admin.post(f"/api/v1/licenses/{lid}/{action}", json={"reason": ""}),
            422,
            "VALIDATION_FAILED",
        )
        assert "reason" in problem["errors"]
        assert_problem(
            admin.post(f"/api/v1/licenses/{lid}/{action}", json={"why": "x"}),
            422,
            "VALIDATION_FAILED",
        )
    assert admin.get(f"/api/v1/licenses/{lid}").get_json()["status"] == "active"
    r = admin.get(f"/api/v1/licenses/{lid}/suspend")
    assert_problem(r, 405, "METHOD_NOT_ALLOWED")


# ---- new password, new key ---------------------------------------------------------


def test_regenerate_activation_password(
    admin: AdminClient, client: FlaskClient, catalog: tuple[str, str]
) -> None:
    product, customer = catalog
    lic = _issued(admin, product=product, customer=customer)
    lid, old = lic["id"], lic["activation_password"]

    r = admin.post(f"/api/v1/licenses/{lid}/activation-password")
    assert r.status_code == 200, r.get_json()
    new = r.get_json()["activation_password"]
    assert isinstance(new, str) and new != old
    assert admin.get(f"/api/v1/licenses/{lid}").get_json()["activation_password"] == new

    assert_problem(
        _activate(client, {"license_id": lid, "activation_password": old}),
        401,
        "INVALID_CREDENTIALS",
    )
    r = _activate(client, {"license_id": lid, "activation_password": new})
    assert r.status_code == 201, r.get_json()
    # The key is untouched.
    assert _activate(client, {"license_key": lic["key"]}, "install-0002").status_code == 201

    (ev,) = events(admin, lid, "license.password_regenerated")
    assert ev["actor"]["type"] == "admin"
    assert old not in str(ev) and new not in str(ev)
    assert_problem(admin.post("/api/v1/licenses/L-0000-0000/activation-password"), 404, "NOT_FOUND")


def test_reissue_key(admin: AdminClient, client: FlaskClient, catalog: tuple[str, str]) -> None:
    product, customer = catalog
    lic = _issued(admin, product=product, customer=customer)
    lid, old = lic["id"], lic["key"]
    # An installation activated with the old key keeps its activation.
    first = _activate(client, {"license_key": old}, "install-old-key")
    assert first.status_code == 201

    r = admin.post(f"/api/v1/licenses/{lid}/key")
    assert r.status_code == 200, r.get_json()
    new = r.get_json()["key"]
    assert new.startswith("LK1.") and new != old
    assert admin.get(f"/api/v1/licenses/{lid}").get_json()["key"] == new
    old_claims = parse_license_key(old, public_keys(client))
    new_claims = parse_license_key(new, public_keys(client))
    assert new_claims.lid == lid
    assert new_claims.ser > old_claims.ser

    assert_problem(
        _activate(client, {"license_key": old}, "install-0002"), 401, "INVALID_CREDENTIALS"
    )
    assert _activate(client, {"license_key": new}, "install-0002").status_code == 201
    body = first.get_json()
    r = client.post(
        f"/api/v1/activations/{body['activation_id']}/checkin",
        json={"activation_token": body["activation_token"]},
    )
    assert r.status_code == 200, r.get_json()

    (ev,) = events(admin, lid, "license.key_reissued")
    assert ev["actor"]["type"] == "admin"
    assert old not in str(ev) and new not in str(ev)
    assert_problem(admin.post("/api/v1/licenses/L-0000-0000/key"), 404, "NOT_FOUND")


def test_created_event(admin: AdminClient, catalog: tuple[str, str]) -> None:
    product, customer = catalog
    lic = _issued(admin, product=product, customer=customer, seats=2, features=["x"])
    evs = events(admin, lic["id"])
    assert [e["kind"] for e in evs] == ["license.created"]
    ev = evs[0]
    assert ev["actor"]["type"] == "admin"
    assert ev["data"]["seats"] == 2
    assert ev["data"]["product"] == product
    assert ev["data"]["customer"] == customer
    assert ev["data"]["features"] == ["x"]
    assert lic["key"] not in str(ev) and lic["activation_password"] not in str(ev)
