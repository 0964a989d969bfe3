"""Check-in (POST /api/v1/activations/{id}/checkin) and the client's own
deactivation (DELETE /api/v1/activations/{id}): answers, precedence, seats and
history."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from licserver.runtime import runtime
from tests.api.helpers import (
    INVALID_CREDENTIALS_DETAIL,
    activate,
    activated,
    activations,
    assert_problem,
    by_key,
    certificate_claims,
    checkin,
    deactivate,
    events,
    license_view,
)
from tests.support.factory import AdminClient, Factory

RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def _make_unusable(admin: AdminClient, license_id: str, action: str) -> None:
    if action == "expire":
        past = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        r = admin.patch(f"/api/v1/licenses/{license_id}", json={"expires_at": past})
    else:
        r = admin.post(f"/api/v1/licenses/{license_id}/{action}")
    assert r.status_code == 200, r.get_json()


def _admin_deactivate(admin: AdminClient, activation_id: str, reason: str = "Laptop stolen") -> Any:
    r = admin.post(f"/api/v1/activations/{activation_id}/deactivate", json={"reason": reason})
    assert r.status_code == 200, r.get_json()
    return r.get_json()


# ---- check-in -----------------------------------------------------------------


def test_checkin_gives_a_fresh_certificate(client: FlaskClient, factory: Factory) -> None:
    lic = factory.license(
        product=factory.product(offline_grace_days=10), seats=3, features=["render"]
    )
    act = activated(client, by_key(lic), iid="install-0001", mn="PC-1")
    first = certificate_claims(client, act["certificate"])
    before = int(time.time())

    r = checkin(client, act["activation_id"], act["activation_token"])

    after = int(time.time())
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert set(body) >= {"certificate"}
    claims = certificate_claims(client, body["certificate"])
    assert before <= claims["iat"] <= after
    assert claims["iat"] >= first["iat"]
    assert claims["until"] == claims["iat"] + 10 * 86400
    for name in ("aid", "lid", "prod", "cust", "iid", "mn", "seats", "features", "exp"):
        assert claims[name] == first[name], name


def test_checkin_certificate_follows_licence_changes(
    client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    lic = factory.license(seats=2, features=["a"])
    act = activated(client, by_key(lic))
    r = admin.patch(f"/api/v1/licenses/{lic.id}", json={"seats": 7, "features": ["a", "b"]})
    assert r.status_code == 200

    claims = certificate_claims(
        client,
        checkin(client, act["activation_id"], act["activation_token"]).get_json()["certificate"],
    )

    assert claims["seats"] == 7
    assert sorted(claims["features"]) == ["a", "b"]


def test_checkin_is_recorded_in_the_activation_and_the_history(
    client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    lic = factory.license()
    act = activated(client, by_key(lic), iid="install-0001", mn="PC-1")
    assert activations(admin, lic.id)[0]["last_checkin_at"] is None

    assert checkin(client, act["activation_id"], act["activation_token"]).status_code == 200

    assert RFC3339_UTC.match(activations(admin, lic.id)[0]["last_checkin_at"])
    (event,) = events(admin, lic.id, "activation.checked_in")
    assert event["actor"]["type"] == "client"
    assert event["activation_id"] == act["activation_id"]
    assert event["installation_id"] == "install-0001"
    assert event["machine_name"] == "PC-1"
    assert event["ip"] == "127.0.0.1"
    assert RFC3339_UTC.match(event["at"])


@pytest.mark.parametrize("case", ["wrong token", "unknown activation", "token of another"])
def test_checkin_with_wrong_token_or_unknown_activation_is_401(
    client: FlaskClient, factory: Factory, case: str
) -> None:
    lic = factory.license()
    act = activated(client, by_key(lic), iid="install-0001")
    other = activated(client, by_key(lic), iid="install-0002")
    aid, token = act["activation_id"], act["activation_token"]
    if case == "wrong token":
        token = token[:-1] + ("A" if token[-1] != "A" else "B")
    elif case == "unknown activation":
        aid = "A-ZZZZZZZZZZZZZZZZ"
    else:
        token = other["activation_token"]

    body = assert_problem(checkin(client, aid, token), 401, "INVALID_CREDENTIALS")

    assert body["detail"] == INVALID_CREDENTIALS_DETAIL


def test_wrong_checkin_token_is_a_refusal_in_the_history(
    client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    lic = factory.license()
    act = activated(client, by_key(lic), iid="install-0001", mn="PC-1")

    assert checkin(client, act["activation_id"], "not-the-token").status_code == 401

    (event,) = events(admin, lic.id, "activation.checkin_refused")
    assert event["reason"] == "INVALID_CREDENTIALS"
    assert event["actor"]["type"] == "client"
    assert (event["installation_id"], event["machine_name"]) == ("install-0001", "PC-1")
    assert event["ip"] == "127.0.0.1"


@pytest.mark.parametrize("by", ["client", "admin"])
def test_checkin_after_deactivation_is_410(
    client: FlaskClient, admin: AdminClient, factory: Factory, by: str
) -> None:
    lic = factory.license()
    act = activated(client, by_key(lic), iid="install-0001", mn="PC-1")
    if by == "client":
        assert deactivate(client, act["activation_id"], act["activation_token"]).status_code == 200
    else:
        _admin_deactivate(admin, act["activation_id"])

    r = checkin(client, act["activation_id"], act["activation_token"])

    assert_problem(r, 410, "DEACTIVATED")
    (event,) = events(admin, lic.id, "activation.checkin_refused")
    assert event["reason"] == "DEACTIVATED"
    assert event["installation_id"] == "install-0001"


@pytest.mark.parametrize(
    ("action", "code"),
    [
        ("suspend", "LICENSE_SUSPENDED"),
        ("revoke", "LICENSE_REVOKED"),
        ("expire", "LICENSE_EXPIRED"),
    ],
)
def test_checkin_on_an_unusable_licence_is_403(
    client: FlaskClient, admin: AdminClient, factory: Factory, action: str, code: str
) -> None:
    lic = factory.license()
    act = activated(client, by_key(lic), iid="install-0001", mn="PC-1")
    _make_unusable(admin, lic.id, action)

    assert_problem(checkin(client, act["activation_id"], act["activation_token"]), 403, code)

    (event,) = events(admin, lic.id, "activation.checkin_refused")
    assert event["reason"] == code
    assert (event["installation_id"], event["machine_name"]) == ("install-0001", "PC-1")
    # The activation is kept: reinstating a suspended licence lets it check in again.
    assert len(activations(admin, lic.id, "active")) == 1


def test_checkin_works_again_after_reinstatement(
    client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    lic = factory.license()
    act = activated(client, by_key(lic))
    _make_unusable(admin, lic.id, "suspend")
    assert checkin(client, act["activation_id"], act["activation_token"]).status_code == 403

    assert admin.post(f"/api/v1/licenses/{lic.id}/reinstate").status_code == 200

    assert checkin(client, act["activation_id"], act["activation_token"]).status_code == 200


def test_checkin_410_wins_over_403(
    client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    lic = factory.license()
    act = activated(client, by_key(lic))
    _admin_deactivate(admin, act["activation_id"])
    _make_unusable(admin, lic.id, "suspend")

    assert_problem(
        checkin(client, act["activation_id"], act["activation_token"]), 410, "DEACTIVATED"
    )


def test_checkin_401_wins_over_410(
    client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    lic = factory.license()
    act = activated(client, by_key(lic))
    _admin_deactivate(admin, act["activation_id"])

    r = checkin(client, act["activation_id"], "wrong-token")

    assert_problem(r, 401, "INVALID_CREDENTIALS")


# ---- the client's deactivation ---------------------------------------------------


def test_client_deactivation_frees_the_seat(
    client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    lic = factory.license(seats=1)
    act = activated(client, by_key(lic), iid="install-0001")
    assert license_view(admin, lic.id)["seats_used"] == 1
    assert_problem(activate(client, by_key(lic), iid="install-0002"), 409, "SEAT_LIMIT_REACHED")

    r = deactivate(client, act["activation_id"], act["activation_token"])

    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert RFC3339_UTC.match(body["deactivated_at"])
    assert license_view(admin, lic.id)["seats_used"] == 0
    assert activations(admin, lic.id, "active") == []
    (row,) = activations(admin, lic.id, "all")
    assert row["state"] == "deactivated"
    assert row["deactivated_at"] == body["deactivated_at"]
    assert row["deactivated_by"]["type"] == "client"
    assert activate(client, by_key(lic), iid="install-0002").status_code == 201


def test_repeated_deactivation_answers_the_same(
    app: Flask, client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    lic = factory.license(seats=2)
    act = activated(client, by_key(lic), iid="install-0001")
    activated(client, by_key(lic), iid="install-0002")
    first = deactivate(client, act["activation_id"], act["activation_token"])
    # the app's clock moves on: a second call must not stamp a new time (second precision)
    later = datetime.now(UTC) + timedelta(seconds=2)
    runtime(app).clock = lambda: later

    second = deactivate(client, act["activation_id"], act["activation_token"])

    assert first.status_code == second.status_code == 200
    assert second.get_json() == first.get_json()
    assert license_view(admin, lic.id)["seats_used"] == 1
    assert len(events(admin, lic.id, "activation.deactivated")) == 1


def test_deactivated_installation_can_activate_anew(
    client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    lic = factory.license(seats=1)
    act = activated(client, by_key(lic), iid="install-0001")
    assert deactivate(client, act["activation_id"], act["activation_token"]).status_code == 200

    r = activate(client, by_key(lic), iid="install-0001")

    assert r.status_code == 201, r.get_json()
    assert r.get_json()["activation_id"] != act["activation_id"]
    assert license_view(admin, lic.id)["seats_used"] == 1


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Activation",
        "Activation ",
        "Activation wrong-token",
        "Bearer {token}",
        "{token}",
    ],
)
def test_deactivation_without_the_right_token_is_401(
    client: FlaskClient, admin: AdminClient, factory: Factory, header: str | None
) -> None:
    lic = factory.license()
    act = activated(client, by_key(lic))
    headers = (
        {} if header is None else {"Authorization": header.format(token=act["activation_token"])}
    )

    r = client.delete(f"/api/v1/activations/{act['activation_id']}", headers=headers)

    assert_problem(r, 401, "INVALID_CREDENTIALS")
    assert license_view(admin, lic.id)["seats_used"] == 1
    assert activations(admin, lic.id, "active")[0]["id"] == act["activation_id"]


def test_deactivation_of_an_unknown_activation_is_401(
    client: FlaskClient, factory: Factory
) -> None:
    lic = factory.license()
    act = activated(client, by_key(lic))

    body = assert_problem(
        deactivate(client, "A-ZZZZZZZZZZZZZZZZ", act["activation_token"]),
        401,
        "INVALID_CREDENTIALS",
    )
    assert body["detail"] == INVALID_CREDENTIALS_DETAIL


def test_token_of_one_activation_cannot_deactivate_another(
    client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    lic = factory.license()
    a = activated(client, by_key(lic), iid="install-0001")
    b = activated(client, by_key(lic), iid="install-0002")

    assert_problem(
        deactivate(client, b["activation_id"], a["activation_token"]), 401, "INVALID_CREDENTIALS"
    )
    assert license_view(admin, lic.id)["seats_used"] == 2


def test_superseded_token_cannot_deactivate(
    client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    lic = factory.license()
    first = activated(client, by_key(lic))
    again = activated(client, by_key(lic))

    r = deactivate(client, first["activation_id"], first["activation_token"])

    assert_problem(r, 401, "INVALID_CREDENTIALS")
    assert deactivate(client, again["activation_id"], again["activation_token"]).status_code == 200


def test_client_can_still_deactivate_on_a_suspended_licence(
    client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    lic = factory.license()
    act = activated(client, by_key(lic))
    _make_unusable(admin, lic.id, "suspend")

    assert deactivate(client, act["activation_id"], act["activation_token"]).status_code == 200
    assert license_view(admin, lic.id)["seats_used"] == 0


def test_deactivation_by_the_client_after_the_admin_answers_the_first_time(
    client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    lic = factory.license()
    act = activated(client, by_key(lic))
    by_admin = _admin_deactivate(admin, act["activation_id"])

    r = deactivate(client, act["activation_id"], act["activation_token"])

    assert r.status_code == 200
    assert r.get_json()["deactivated_at"] == by_admin["deactivated_at"]
    assert license_view(admin, lic.id)["seats_used"] == 0


# ---- deactivation in the history ----------------------------------------------


def test_deactivations_record_who_did_it(
    client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    lic = factory.license()
    mine = activated(client, by_key(lic), iid="install-0001", mn="PC-1")
    lost = activated(client, by_key(lic), iid="install-0002", mn="PC-2")

    assert deactivate(client, mine["activation_id"], mine["activation_token"]).status_code == 200
    _admin_deactivate(admin, lost["activation_id"], reason="Laptop stolen")

    by_client, by_admin = events(admin, lic.id, "activation.deactivated")
    assert by_client["actor"]["type"] == "client"
    assert (by_client["installation_id"], by_client["machine_name"]) == ("install-0001", "PC-1")
    assert by_client["activation_id"] == mine["activation_id"]
    assert by_admin["actor"]["type"] == "admin"
    assert by_admin["actor"]["id"]
    assert (by_admin["installation_id"], by_admin["machine_name"]) == ("install-0002", "PC-2")
    assert by_admin["reason"] == "Laptop stolen"
    for event in (by_client, by_admin):
        assert event["ip"] == "127.0.0.1"
        assert RFC3339_UTC.match(event["at"])
    rows = {a["id"]: a for a in activations(admin, lic.id, "all")}
    assert rows[lost["activation_id"]]["deactivated_by"]["type"] == "admin"
    assert rows[lost["activation_id"]]["deactivation_reason"] == "Laptop stolen"
