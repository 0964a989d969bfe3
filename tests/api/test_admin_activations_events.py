"""Admin API: a licence's activations, the lost-machine search, admin
deactivation, and the licence's history."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask.testing import FlaskClient

from tests.api.helpers import assert_problem
from tests.support.factory import AdminClient, Factory, IssuedLicense

EVENT_FIELDS = {
    "id",
    "at",
    "kind",
    "actor",
    "installation_id",
    "machine_name",
    "ip",
    "reason",
    "data",
}


def _activate(
    client: FlaskClient, lic: IssuedLicense, iid: str, machine: str = "PC-1"
) -> dict[str, Any]:
    r = client.post(
        "/api/v1/activations",
        json={"license_key": lic.key, "installation_id": iid, "machine_name": machine},
    )
    assert r.status_code in (200, 201), r.get_json()
    body: dict[str, Any] = r.get_json()
    return body


def _checkin(client: FlaskClient, act: dict[str, Any]) -> Any:
    return client.post(
        f"/api/v1/activations/{act['activation_id']}/checkin",
        json={"activation_token": act["activation_token"]},
    )


def _token_id(admin: AdminClient) -> str:
    return admin.token.split("_")[1]


def _all_events(admin: AdminClient, license_id: str, limit: int = 200) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query: dict[str, Any] = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        r = admin.get(f"/api/v1/licenses/{license_id}/events", query_string=query)
        assert r.status_code == 200, r.get_json()
        items += r.get_json()["items"]
        cursor = r.get_json()["next_cursor"]
        if cursor is None:
            return items


# ---- a licence's activations -------------------------------------------------------


def test_list_license_activations(
    admin: AdminClient, client: FlaskClient, factory: Factory
) -> None:
    lic = factory.license(seats=3)
    a1 = _activate(client, lic, "install-0001", "PC-1")
    a2 = _activate(client, lic, "install-0002", "PC-2")
    r = client.delete(
        f"/api/v1/activations/{a1['activation_id']}",
        headers={"Authorization": f"Activation {a1['activation_token']}"},
    )
    assert r.status_code == 200

    path = f"/api/v1/licenses/{lic.id}/activations"
    active = admin.get(path).get_json()
    assert [a["id"] for a in active["items"]] == [a2["activation_id"]]
    assert active["next_cursor"] is None
    assert admin.get(path, query_string={"state": "active"}).get_json() == active

    every = admin.get(path, query_string={"state": "all"}).get_json()["items"]
    assert [a["id"] for a in every] == [a1["activation_id"], a2["activation_id"]]
    first, second = every
    assert first["license_id"] == lic.id
    assert (first["installation_id"], first["machine_name"]) == ("install-0001", "PC-1")
    assert first["state"] == "deactivated"
    assert first["deactivated_at"] is not None
    assert first["deactivated_by"]["type"] == "client"
    assert second["state"] == "active"
    assert second["deactivated_at"] is None
    assert second["activated_at"].endswith("Z")
    assert "activation_token" not in second and "token_hash" not in second

    problem = assert_problem(
        admin.get(path, query_string={"state": "gone"}), 422, "VALIDATION_FAILED"
    )
    assert "state" in problem["errors"]
    assert_problem(admin.get("/api/v1/licenses/L-0000-0000/activations"), 404, "NOT_FOUND")


def test_license_activations_paginate(
    admin: AdminClient, client: FlaskClient, factory: Factory
) -> None:
    lic = factory.license(seats=5)
    ids = [_activate(client, lic, f"install-{i:04d}")["activation_id"] for i in range(5)]
    seen, cursor = [], None
    while True:
        query: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        r = admin.get(f"/api/v1/licenses/{lic.id}/activations", query_string=query)
        assert r.status_code == 200
        seen += [a["id"] for a in r.get_json()["items"]]
        cursor = r.get_json()["next_cursor"]
        if cursor is None:
            break
    assert seen == ids


# ---- search across licences ----------------------------------------------------------


def test_search_by_installation_id_and_machine_name(
    admin: AdminClient, client: FlaskClient, factory: Factory
) -> None:
    lic1 = factory.license(seats=3)
    lic2 = factory.license(seats=3)
    a = _activate(client, lic1, "lost-laptop-01", "Design-PC-07")
    b = _activate(client, lic2, "lost-laptop-01", "Design-PC-07")
    c = _activate(client, lic2, "other-machine-01", "DESIGN-PC-07")
    _activate(client, lic1, "unrelated-0001", "Reception")

    def search(**query: str) -> set[str]:
        r = admin.get("/api/v1/activations", query_string=query)
        assert r.status_code == 200, r.get_json()
        return {x["id"] for x in r.get_json()["items"]}

    ids = (a["activation_id"], b["activation_id"], c["activation_id"])
    assert search(installation_id="lost-laptop-01") == {ids[0], ids[1]}
    assert search(machine_name="design-pc-07") == set(ids)
    assert search(machine_name="DESIGN-PC-07") == set(ids)
    assert search(installation_id="lost-laptop-01", machine_name="design-pc-07") == {
        ids[0],
        ids[1],
    }
    assert search(installation_id="other-machine-01", machine_name="Reception") == set()
    assert search(machine_name="Design") == set()  # exact, not a substring
    assert search(installation_id="nobody-has-this") == set()

    r = admin.get("/api/v1/activations", query_string={"installation_id": "lost-laptop-01"})
    licences = {x["license_id"] for x in r.get_json()["items"]}
    assert licences == {lic1.id, lic2.id}


def test_search_finds_deactivated_too(
    admin: AdminClient, client: FlaskClient, factory: Factory
) -> None:
    lic = factory.license()
    a = _activate(client, lic, "install-gone-01")
    admin.post(f"/api/v1/activations/{a['activation_id']}/deactivate", json={"reason": "lost"})
    items = admin.get(
        "/api/v1/activations", query_string={"installation_id": "install-gone-01"}
    ).get_json()["items"]
    assert [(x["id"], x["state"]) for x in items] == [(a["activation_id"], "deactivated")]


def test_search_machine_name_non_ascii_case_insensitive(
    admin: AdminClient, client: FlaskClient, factory: Factory
) -> None:
    lic = factory.license()
    a = _activate(client, lic, "install-umlaut-1", "ÄRBEITS-PC Ü")
    items = admin.get(
        "/api/v1/activations", query_string={"machine_name": "ärbeits-pc ü"}
    ).get_json()["items"]
    assert [x["id"] for x in items] == [a["activation_id"]]
    assert items[0]["machine_name"] == "ÄRBEITS-PC Ü"


def test_search_needs_a_criterion(admin: AdminClient) -> None:
    for query in ({}, {"installation_id": ""}, {"machine_name": ""}, {"limit": 5}):
        r = admin.get("/api/v1/activations", query_string=query)
        assert r.status_code == 422, (query, r.get_json())
        assert_problem(r, 422, "VALIDATION_FAILED")
    for query in ({"installation_id": "x" * 129}, {"machine_name": "m" * 256}):
        problem = assert_problem(
            admin.get("/api/v1/activations", query_string=query), 422, "VALIDATION_FAILED"
        )
        assert set(query) <= set(problem["errors"]), problem


# ---- admin deactivation --------------------------------------------------------------


def test_admin_deactivation(admin: AdminClient, client: FlaskClient, factory: Factory) -> None:
    lic = factory.license(seats=1)
    act = _activate(client, lic, "stolen-laptop-1", "LAPTOP-9")
    assert admin.get(f"/api/v1/licenses/{lic.id}").get_json()["seats_used"] == 1
    # The only seat is taken.
    r = client.post(
        "/api/v1/activations",
        json={"license_key": lic.key, "installation_id": "new-laptop-01", "machine_name": "NEW"},
    )
    assert_problem(r, 409, "SEAT_LIMIT_REACHED")

    r = admin.post(
        f"/api/v1/activations/{act['activation_id']}/deactivate", json={"reason": "Laptop stolen"}
    )
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["id"] == act["activation_id"]
    assert body["state"] == "deactivated"
    assert body["deactivated_at"] is not None
    assert body["deactivation_reason"] == "Laptop stolen"
    assert body["deactivated_by"] == {"type": "admin", "id": f"token:{_token_id(admin)}"}

    # The seat is free at once, and the stolen machine is told at its next check-in.
    assert admin.get(f"/api/v1/licenses/{lic.id}").get_json()["seats_used"] == 0
    assert _activate(client, lic, "new-laptop-01", "NEW")["license_id"] == lic.id
    assert_problem(_checkin(client, act), 410, "DEACTIVATED")

    (ev,) = [e for e in _all_events(admin, lic.id) if e["kind"] == "activation.deactivated"]
    assert ev["actor"] == {"type": "admin", "id": f"token:{_token_id(admin)}"}
    assert ev["reason"] == "Laptop stolen"
    assert ev["installation_id"] == "stolen-laptop-1"
    assert ev["machine_name"] == "LAPTOP-9"


def test_admin_deactivation_repeated_changes_nothing(
    admin: AdminClient, client: FlaskClient, factory: Factory
) -> None:
    lic = factory.license(seats=2)
    act = _activate(client, lic, "install-0001")
    _activate(client, lic, "install-0002")
    path = f"/api/v1/activations/{act['activation_id']}/deactivate"
    first = admin.post(path, json={"reason": "first"})
    again = admin.post(path, json={"reason": "second"})
    assert first.status_code == again.status_code == 200
    assert again.get_json()["deactivation_reason"] == "first"
    assert again.get_json()["deactivated_at"] == first.get_json()["deactivated_at"]
    assert admin.get(f"/api/v1/licenses/{lic.id}").get_json()["seats_used"] == 1
    kinds = [e["kind"] for e in _all_events(admin, lic.id)]
    assert kinds.count("activation.deactivated") == 1


def test_admin_deactivation_errors(
    admin: AdminClient, client: FlaskClient, factory: Factory
) -> None:
    lic = factory.license()
    act = _activate(client, lic, "install-0001")
    path = f"/api/v1/activations/{act['activation_id']}/deactivate"
    for body, field in (({}, "reason"), ({"reason": ""}, "reason"), ({"reason": 5}, "reason")):
        problem = assert_problem(admin.post(path, json=body), 422, "VALIDATION_FAILED")
        assert field in problem["errors"]
    assert_problem(
        admin.post(path, data=b"reason", content_type="application/json"),
        400,
        "MALFORMED_REQUEST",
    )
    assert_problem(
        admin.post("/api/v1/activations/A-0000000000000000/deactivate", json={"reason": "x"}),
        404,
        "NOT_FOUND",
    )
    # Still active after all the refusals.
    assert _checkin(client, act).status_code == 200


# ---- history ---------------------------------------------------------------------------


def test_history_oldest_first_with_every_field(
    admin: AdminClient, client: FlaskClient, factory: Factory
) -> None:
    lic = factory.license(seats=1)
    act = _activate(client, lic, "install-0001", "Büro-PC")
    assert _checkin(client, act).status_code == 200
    r = client.post(
        "/api/v1/activations",
        json={
            "license_id": lic.id,
            "activation_password": "Not-The-Password-42",
            "installation_id": "x" * 8,
            "machine_name": "Intruder",
        },
    )
    assert r.status_code == 401
    admin.post(f"/api/v1/activations/{act['activation_id']}/deactivate", json={"reason": "gone"})
    admin.post(f"/api/v1/licenses/{lic.id}/suspend")

    evs = _all_events(admin, lic.id)
    assert [e["kind"] for e in evs] == [
        "license.created",
        "activation.created",
        "activation.checked_in",
        "activation.refused",
        "activation.deactivated",
        "license.suspended",
    ]
    for e in evs:
        assert EVENT_FIELDS <= set(e), e
        assert isinstance(e["data"], dict)
        assert set(e["actor"]) == {"type", "id"}
        datetime.strptime(e["at"], "%Y-%m-%dT%H:%M:%SZ")
    ids = [e["id"] for e in evs]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    ats = [e["at"] for e in evs]
    assert ats == sorted(ats)
    assert datetime.strptime(ats[-1], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC) <= datetime.now(UTC)

    created = evs[1]
    assert created["actor"]["type"] == "client"
    assert (created["installation_id"], created["machine_name"]) == ("install-0001", "Büro-PC")
    assert created["ip"] == "127.0.0.1"
    refused = evs[3]
    assert refused["reason"] == "INVALID_CREDENTIALS"
    assert refused["installation_id"] == "x" * 8
    assert "Not-The-Password-42" not in str(refused)
    assert evs[4]["reason"] == "gone"
    assert evs[4]["actor"]["type"] == "admin"


def test_history_paginates_across_pages(
    admin: AdminClient, client: FlaskClient, factory: Factory
) -> None:
    lic = factory.license(seats=1)
    act = _activate(client, lic, "install-0001")
    for _ in range(6):
        assert _checkin(client, act).status_code == 200
    whole = admin.get(f"/api/v1/licenses/{lic.id}/events").get_json()
    assert whole["next_cursor"] is None
    assert len(whole["items"]) == 8  # created, activation, six check-ins

    pages: list[list[dict[str, Any]]] = []
    cursor = None
    while True:
        query: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        r = admin.get(f"/api/v1/licenses/{lic.id}/events", query_string=query)
        assert r.status_code == 200
        pages.append(r.get_json()["items"])
        cursor = r.get_json()["next_cursor"]
        if cursor is None:
            break
    assert [len(p) for p in pages] == [3, 3, 2]
    assert [e for p in pages for e in p] == whole["items"]


def test_history_errors(admin: AdminClient, factory: Factory) -> None:
    lic = factory.license()
    assert_problem(admin.get("/api/v1/licenses/L-0000-0000/events"), 404, "NOT_FOUND")
    for query in ({"limit": 0}, {"limit": 201}, {"cursor": "not-a-cursor"}):
        assert_problem(
            admin.get(f"/api/v1/licenses/{lic.id}/events", query_string=query),
            422,
            "VALIDATION_FAILED",
        )


def test_history_is_per_licence(admin: AdminClient, client: FlaskClient, factory: Factory) -> None:
    lic1 = factory.license()
    lic2 = factory.license()
    _activate(client, lic1, "install-0001")
    assert [e["kind"] for e in _all_events(admin, lic2.id)] == ["license.created"]
    assert [e["kind"] for e in _all_events(admin, lic1.id)] == [
        "license.created",
        "activation.created",
    ]
