"""The client API under licence models (docs/licence-models.md): floating leases,
certificate extras, entitlements, expiry from the first activation, maintained
access, trials, report-only enforcement, licensed sites, fingerprint continuity,
degenerate installation IDs, and the transfer budget of a policy. Through the
Flask test client on a real database; what a client and staff can see."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from licserver.domain import policy as rules
from tests.api.helpers import (
    activate,
    activated,
    activations,
    assert_problem,
    by_key,
    by_password,
    certificate_claims,
    checkin,
    deactivate,
    events,
    license_view,
    validate,
)
from tests.policies.helpers import (
    ago,
    assign,
    licence_row,
    licence_with,
    make_policy,
    now,
    parse_time,
    row,
    set_activation,
    set_licence,
)
from tests.support.factory import AdminClient, Factory, IssuedLicense

EXTRAS = {"model", "lease", "hb", "acc", "warn", "site"}


def test_licence_without_policy_node_locked_answer_and_plain_certificate(
    client: FlaskClient, factory: Factory
) -> None:
    lic = factory.license(seats=2, features=["export"])
    body = activated(client, by_key(lic))

    assert body["model"] == "node_locked"
    assert body["lease_expires_at"] is None
    assert body["features"] == ["export"]
    assert body["warnings"] == []
    assert body["moved_from"] is None
    claims = certificate_claims(client, body["certificate"])
    assert not EXTRAS & set(claims)
    assert claims["features"] == ["export"]
    assert claims["until"] - claims["iat"] == 14 * 86400

    r = checkin(client, body["activation_id"], body["activation_token"])
    assert r.status_code == 200
    assert r.get_json()["lease_expires_at"] is None
    assert r.get_json()["warnings"] == []
    v = validate(client, by_key(lic)).get_json()
    assert v["valid"] is True and v["warnings"] == []
    assert "missing_features" not in v


# ---- floating ------------------------------------------------------------------


def test_floating_lease_in_answer_and_certificate(client: FlaskClient, factory: Factory) -> None:
    lic = licence_with(factory, seats=2, model="floating", lease_ttl=600)
    before = now().replace(microsecond=0)
    body = activated(client, by_key(lic))

    assert body["model"] == "floating"
    lease = parse_time(body["lease_expires_at"])
    assert before + timedelta(seconds=600) <= lease <= now() + timedelta(seconds=601)
    claims = certificate_claims(client, body["certificate"])
    assert claims["model"] == "floating"
    assert claims["lease"] == int(lease.timestamp())
    assert claims["until"] == claims["lease"]  # shorter than the 14 days of grace
    assert "hb" not in claims


def test_floating_seats_full_until_a_lease_runs_out_then_released_by_the_next_activation(
    client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    lic = licence_with(factory, seats=2, model="floating", lease_ttl=300)
    a = activated(client, by_key(lic), iid="container-a")
    activated(client, by_key(lic), iid="container-b")
    assert_problem(activate(client, by_key(lic), iid="container-c"), 409, "SEAT_LIMIT_REACHED")

    # container-a was killed without releasing; time passes beyond its lease
    set_activation(a["activation_id"], lease_expires_at=ago(1))
    r = activate(client, by_key(lic), iid="container-c")
    assert r.status_code == 201, r.get_json()

    assert license_view(admin, lic.id)["seats_used"] == 2
    live = {x["installation_id"] for x in activations(admin, lic.id, "active")}
    assert live == {"container-b", "container-c"}
    expired = events(admin, lic.id, "activation.lease_expired")
    assert [e["installation_id"] for e in expired] == ["container-a"]
    assert expired[0]["actor"]["type"] == "system"
    # the released lease's next check-in: 410, the SDK activates again
    gone = checkin(client, a["activation_id"], a["activation_token"])
    assert_problem(gone, 410, "DEACTIVATED")


def test_floating_checkin_and_reactivation_renew_the_lease(
    client: FlaskClient, factory: Factory
) -> None:
    lic = licence_with(factory, seats=1, model="floating", lease_ttl=120)
    a = activated(client, by_key(lic))
    # run out, but nobody needed the seat: a check-in renews it
    set_activation(a["activation_id"], lease_expires_at=ago(30))
    r = checkin(client, a["activation_id"], a["activation_token"])
    assert r.status_code == 200, r.get_json()
    renewed = parse_time(r.get_json()["lease_expires_at"])
    assert renewed > now() + timedelta(seconds=100)
    claims = certificate_claims(client, r.get_json()["certificate"])
    assert claims["lease"] == int(renewed.timestamp()) == claims["until"]
    stored = row(a["activation_id"]).lease_expires_at
    assert stored is not None and stored.replace(microsecond=0) == renewed

    set_activation(a["activation_id"], lease_expires_at=ago(5))
    again = activate(client, by_key(lic))
    assert again.status_code == 200  # the same installation: no second seat
    assert again.get_json()["activation_id"] == a["activation_id"]
    assert parse_time(again.get_json()["lease_expires_at"]) > now() + timedelta(seconds=100)


def test_floating_release_frees_the_seat_and_never_spends_the_budget(
    server_budget: None, client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    lic = licence_with(factory, seats=1, model="floating", transfer_budget="1 per 30 days")
    for n in range(3):
        body = activated(client, by_key(lic), iid=f"worker-{n:04d}")
        r = deactivate(client, body["activation_id"], body["activation_token"])
        assert r.status_code == 200, r.get_json()
    assert license_view(admin, lic.id)["seats_used"] == 0
    released = events(admin, lic.id, "activation.deactivated")
    assert len(released) == 3
    assert all(e["data"] == {"lease": True} for e in released)


def test_floating_validate_needs_a_live_lease(client: FlaskClient, factory: Factory) -> None:
    lic = licence_with(factory, seats=1, model="floating")
    a = activated(client, by_key(lic))
    v = validate(client, by_key(lic)).get_json()
    assert (v["valid"], v["code"], v["license"]["model"]) == (True, "VALID", "floating")
    set_activation(a["activation_id"], lease_expires_at=ago(1))
    v = validate(client, by_key(lic)).get_json()
    assert (v["valid"], v["code"]) == (False, "NOT_ACTIVATED")


def test_overrides_make_a_plain_policy_floating(client: FlaskClient, factory: Factory) -> None:
    """A licence whose policy is plain but whose overrides are not: never the
    one-statement path (PostgreSQL), which would take no lease."""
    lic = licence_with(factory, seats=1, overrides={"model": "floating"}, features=["pro"])
    body = activated(client, by_key(lic))
    assert body["model"] == "floating" and body["lease_expires_at"] is not None
    assert row(body["activation_id"]).lease_expires_at is not None
    assert body["features"] == ["pro"]


# ---- entitlements ----------------------------------------------------------------


def test_features_of_policy_and_licence_in_certificate_and_validation(
    client: FlaskClient, factory: Factory
) -> None:
    product = factory.product()
    lic = factory.license(product=product, seats=1, features=["zeta", "export"])
    assign(lic, make_policy(product, features=["render", "export"]))
    body = activated(client, by_key(lic))
    assert body["features"] == ["export", "render", "zeta"]
    assert certificate_claims(client, body["certificate"])["features"] == [
        "export",
        "render",
        "zeta",
    ]

    ok = validate_with(client, lic, features=["render"]).get_json()
    assert (ok["valid"], ok["code"], ok["missing_features"]) == (True, "VALID", [])
    assert ok["license"]["features"] == ["export", "render", "zeta"]
    missing = validate_with(client, lic, features=["render", "cloud", "ai"]).get_json()
    assert (missing["valid"], missing["code"]) == (False, "FEATURE_MISSING")
    assert missing["missing_features"] == ["ai", "cloud"]
    bad = validate_with(client, lic, features=["no spaces"])
    assert "features" in assert_problem(bad, 422, "VALIDATION_FAILED")["errors"]


def validate_with(
    client: FlaskClient, lic: IssuedLicense, iid: str = "install-0001", **extra: Any
) -> Any:
    return client.post("/api/v1/validate", json={**by_key(lic), "installation_id": iid, **extra})


# ---- expiry ----------------------------------------------------------------------


def test_expiry_starts_at_the_first_activation(
    client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    lic = licence_with(factory, seats=2, expiry_basis="from_first_activation", duration_days=30)
    assert license_view(admin, lic.id)["expires_at"] is None
    body = activated(client, by_key(lic))

    expires = license_view(admin, lic.id)["expires_at"]
    assert expires is not None
    delta = parse_time(expires) - now()
    assert timedelta(days=29, hours=23) < delta <= timedelta(days=30)
    assert certificate_claims(client, body["certificate"])["exp"] == int(
        parse_time(expires).timestamp()
    )
    created = events(admin, lic.id, "activation.created")
    assert created[0]["data"]["expiry_started"] == expires
    assert licence_row(lic).first_activated_at is not None
    # a second activation does not move it
    activated(client, by_key(lic), iid="install-0002")
    assert license_view(admin, lic.id)["expires_at"] == expires
    assert "expiry_started" not in events(admin, lic.id, "activation.created")[1]["data"]


def test_maintained_access_for_versions_released_before_expiry(
    client: FlaskClient, factory: Factory
) -> None:
    lic = licence_with(factory, seats=2, expired_access="maintain_access")
    a = activated(client, by_key(lic))
    assert certificate_claims(client, a["certificate"])["acc"] == "maintain_access"
    expired_at = now() - timedelta(days=10)
    set_licence(lic, expires_at=expired_at)
    old = (expired_at - timedelta(days=3)).date().isoformat()
    new = (expired_at + timedelta(days=1)).date().isoformat()

    ok = client.post(
        "/api/v1/activations",
        json={
            **by_key(lic),
            "installation_id": "install-0002",
            "machine_name": "PC-2",
            "release_date": old,
        },
    )
    assert ok.status_code == 201, ok.get_json()
    assert certificate_claims(client, ok.get_json()["certificate"])["acc"] == "maintain_access"
    newer = client.post(
        "/api/v1/activations",
        json={
            **by_key(lic),
            "installation_id": "install-0003",
            "machine_name": "PC-3",
            "release_date": new,
        },
    )
    assert_problem(newer, 403, "LICENSE_EXPIRED")
    assert_problem(activate(client, by_key(lic), iid="install-0004"), 403, "LICENSE_EXPIRED")

    url = f"/api/v1/activations/{a['activation_id']}/checkin"
    r = client.post(url, json={"activation_token": a["activation_token"], "release_date": old})
    assert r.status_code == 200, r.get_json()
    r = client.post(url, json={"activation_token": a["activation_token"], "release_date": new})
    assert_problem(r, 403, "LICENSE_EXPIRED")

    v = validate_with(client, lic, release_date=old).get_json()
    assert (v["valid"], v["code"], v["license"]["status"]) == (True, "VALID", "expired")
    v = validate_with(client, lic).get_json()
    assert (v["valid"], v["code"]) == (False, "LICENSE_EXPIRED")
    bad = validate_with(client, lic, release_date="2026-13-01")
    assert "release_date" in assert_problem(bad, 422, "VALIDATION_FAILED")["errors"]


# ---- trials ----------------------------------------------------------------------


def test_one_trial_per_machine_per_product(
    client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    product = factory.product()
    trial = make_policy(product, trial=True, expiry_basis="from_first_activation", duration_days=14)
    first = factory.license(product=product, seats=1)
    second = factory.license(product=product, seats=1)
    assign(first, trial)
    assign(second, trial)
    a = activated(client, by_key(first), iid="laptop-0001")

    refused = activate(client, by_key(second), iid="laptop-0001")
    assert_problem(refused, 403, "TRIAL_ALREADY_USED")
    recorded = events(admin, second.id, "activation.refused")
    assert [e["reason"] for e in recorded] == ["TRIAL_ALREADY_USED"]
    assert license_view(admin, second.id)["seats_used"] == 0
    # other machines may still try the second licence; the first machine never again
    assert activate(client, by_key(second), iid="laptop-0002").status_code == 201
    assert deactivate(client, a["activation_id"], a["activation_token"]).status_code == 200
    assert_problem(activate(client, by_key(second), iid="laptop-0001"), 403, "TRIAL_ALREADY_USED")
    # its own trial licence takes it back
    assert activate(client, by_key(first), iid="laptop-0001").status_code == 201
    # a paid licence of the product does not care
    paid = factory.license(product=product, seats=1)
    assert activate(client, by_key(paid), iid="laptop-0001").status_code == 201


# ---- report-only -------------------------------------------------------------------


def test_report_only_refuses_nothing_about_the_licence_but_records_it(
    client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    lic = licence_with(factory, seats=1, enforcement="report_only")
    activated(client, by_key(lic), iid="install-0001")
    over = activate(client, by_key(lic), iid="install-0002")
    assert over.status_code == 201, over.get_json()
    body = over.get_json()
    assert [w["code"] for w in body["warnings"]] == ["SEAT_LIMIT_REACHED"]
    assert body["warnings"][0]["detail"]
    assert certificate_claims(client, body["certificate"])["warn"] == ["SEAT_LIMIT_REACHED"]
    assert license_view(admin, lic.id)["seats_used"] == 2
    reported = events(admin, lic.id, "enforcement.reported")
    assert [(e["reason"], e["data"]["action"]) for e in reported] == [
        ("SEAT_LIMIT_REACHED", "activate")
    ]

    assert admin.post(f"/api/v1/licenses/{lic.id}/suspend", json={}).status_code == 200
    r = checkin(client, body["activation_id"], body["activation_token"])
    assert r.status_code == 200, r.get_json()
    assert [w["code"] for w in r.get_json()["warnings"]] == ["LICENSE_SUSPENDED"]
    v = validate(client, by_key(lic), iid="install-0002").get_json()
    assert (v["valid"], v["code"]) == (True, "VALID")
    assert [w["code"] for w in v["warnings"]] == ["LICENSE_SUSPENDED"]
    actions = [
        (e["reason"], e["data"]["action"]) for e in events(admin, lic.id, "enforcement.reported")
    ]
    assert ("LICENSE_SUSPENDED", "checkin") in actions
    assert ("LICENSE_SUSPENDED", "validate") in actions

    # credentials and deactivated activations stay enforced
    wrong = {"license_id": lic.id, "activation_password": "Wrong-Password-1"}
    assert_problem(activate(client, wrong, iid="install-0003"), 401, "INVALID_CREDENTIALS")
    assert deactivate(client, body["activation_id"], body["activation_token"]).status_code == 200
    gone = checkin(client, body["activation_id"], body["activation_token"])
    assert_problem(gone, 410, "DEACTIVATED")


def test_report_only_trial_reuse_budget_and_missing_features_are_warnings(
    client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    product = factory.product()
    settings: dict[str, Any] = {
        "trial": True,
        "expiry_basis": "from_first_activation",
        "duration_days": 7,
        "enforcement": "report_only",
        "transfer_budget": "1 per 30 days",
    }
    pol = make_policy(product, **settings)
    first, second = (factory.license(product=product, seats=3) for _ in range(2))
    assign(first, pol)
    assign(second, pol)
    activated(client, by_key(first), iid="laptop-0001")
    again = activated(client, by_key(second), iid="laptop-0001")
    assert [w["code"] for w in again["warnings"]] == ["TRIAL_ALREADY_USED"]

    b = activated(client, by_key(second), iid="laptop-0002")
    r1 = deactivate(client, again["activation_id"], again["activation_token"])
    assert r1.status_code == 200 and r1.get_json()["warnings"] == []
    r2 = deactivate(client, b["activation_id"], b["activation_token"])
    assert r2.status_code == 200, r2.get_json()
    assert [w["code"] for w in r2.get_json()["warnings"]] == ["DEACTIVATION_LIMIT_REACHED"]

    c = activated(client, by_key(second), iid="laptop-0003")
    v = validate_with(client, second, iid="laptop-0003", features=["cloud"]).get_json()
    assert (v["valid"], v["code"], v["missing_features"]) == (True, "VALID", ["cloud"])
    assert [w["code"] for w in v["warnings"]] == ["FEATURE_MISSING"]
    reasons = {e["reason"] for e in events(admin, second.id, "enforcement.reported")}
    assert reasons == {"TRIAL_ALREADY_USED", "DEACTIVATION_LIMIT_REACHED", "FEATURE_MISSING"}
    assert c["warnings"] == []


# ---- licensed sites ----------------------------------------------------------------


def test_site_url_stands_for_its_installation(
    client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    lic = licence_with(factory, seats=2)
    r = client.post(
        "/api/v1/activations", json={**by_key(lic), "site_url": "HTTPS://Shop.Example.COM:443/"}
    )
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    site = "https://shop.example.com/"
    assert body["installation_id"] == rules.site_installation_id(site)
    assert body["machine_name"] == site
    assert certificate_claims(client, body["certificate"])["site"] == site
    assert row(body["activation_id"]).site_url == site

    same = client.post(
        "/api/v1/activations",
        json={**by_key(lic), "site_url": "https://shop.example.com", "machine_name": "Shop"},
    )
    assert same.status_code == 200
    assert same.get_json()["activation_id"] == body["activation_id"]
    v = client.post(
        "/api/v1/validate", json={**by_key(lic), "site_url": "https://shop.example.com/"}
    )
    assert v.get_json()["code"] == "VALID"
    assert license_view(admin, lic.id)["seats_used"] == 1

    both = client.post(
        "/api/v1/activations",
        json={
            **by_key(lic),
            "site_url": "https://a.example",
            "installation_id": "install-0001",
            "machine_name": "X",
        },
    )
    assert "site_url" in assert_problem(both, 422, "VALIDATION_FAILED")["errors"]
    for bad in ("ftp://a.example", "https://", "not a url", "https://a.example:99999"):
        r = client.post("/api/v1/activations", json={**by_key(lic), "site_url": bad})
        assert "site_url" in assert_problem(r, 422, "VALIDATION_FAILED")["errors"], bad
    neither = client.post("/api/v1/activations", json={**by_key(lic), "machine_name": "X"})
    assert "installation_id" in assert_problem(neither, 422, "VALIDATION_FAILED")["errors"]


# ---- fingerprints --------------------------------------------------------------------

FP = {"hostname": "h" + "1" * 63, "disk": "d" + "2" * 63, "mac": "m" + "3" * 63}


def _activate_fp(client: FlaskClient, lic: IssuedLicense, iid: str, fp: dict[str, str]) -> Any:
    return client.post(
        "/api/v1/activations",
        json={**by_key(lic), "installation_id": iid, "machine_name": "PC", "fingerprints": fp},
    )


def test_fingerprint_continuity_moves_the_activation(
    client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    lic = licence_with(factory, seats=1)
    first = _activate_fp(client, lic, "machine-old-id", FP)
    assert first.status_code == 201
    a = first.get_json()
    # a BIOS update changed the installation ID; two of three identifiers still match
    moved = _activate_fp(client, lic, "machine-new-id", {**FP, "mac": "m" + "9" * 63})
    assert moved.status_code == 200, moved.get_json()
    body = moved.get_json()
    assert body["activation_id"] == a["activation_id"]
    assert body["moved_from"] == "machine-old-id"
    assert body["installation_id"] == "machine-new-id"
    assert license_view(admin, lic.id)["seats_used"] == 1
    ev = events(admin, lic.id, "activation.moved")
    assert len(ev) == 1
    assert ev[0]["data"] == {
        "from": "machine-old-id",
        "to": "machine-new-id",
        "matched": ["disk", "hostname"],
    }
    # the old token stopped working; the new one checks in
    assert_problem(
        checkin(client, a["activation_id"], a["activation_token"]), 401, "INVALID_CREDENTIALS"
    )
    assert checkin(client, body["activation_id"], body["activation_token"]).status_code == 200
    assert row(a["activation_id"]).installation_id == "machine-new-id"

    # one match is not enough: a new machine needs a seat (and there is none)
    other = {"hostname": FP["hostname"], "disk": "x" + "7" * 63}
    assert_problem(_activate_fp(client, lic, "machine-third", other), 409, "SEAT_LIMIT_REACHED")


def test_fingerprint_ties_and_bad_values(client: FlaskClient, factory: Factory) -> None:
    lic = licence_with(factory, seats=3)
    assert _activate_fp(client, lic, "machine-one", FP).status_code == 201
    two = _activate_fp(client, lic, "machine-two", {"disk": "e" * 64})
    assert two.status_code == 201
    # two live machines with the same identifiers (cloned disks, say)
    set_activation(two.get_json()["activation_id"], fingerprints=FP)
    tie = _activate_fp(client, lic, "machine-three", FP)
    assert tie.status_code == 201  # ambiguous: nothing moves
    assert tie.get_json()["moved_from"] is None
    for bad in ({"Bad Name": "x"}, {"disk": ""}, {f"k{n}": "v" for n in range(9)}, ["a"]):
        r = _activate_fp(client, lic, "machine-four", bad)  # type: ignore[arg-type]
        assert "fingerprints" in assert_problem(r, 422, "VALIDATION_FAILED")["errors"], bad


def test_degenerate_installation_ids_refused_on_licences_with_a_policy(
    client: FlaskClient, factory: Factory
) -> None:
    lic = licence_with(factory, seats=2)
    for iid in ("00000000-0000-0000", "FFFFFFFFFFFF", "aaaaaaaa"):
        r = activate(client, by_key(lic), iid=iid)
        assert "installation_id" in assert_problem(r, 422, "VALIDATION_FAILED")["errors"]
        v = validate(client, by_key(lic), iid=iid)
        assert_problem(v, 422, "VALIDATION_FAILED")
    # without a policy, as before
    plain = factory.license(seats=1)
    assert activate(client, by_key(plain), iid="aaaaaaaa").status_code == 201


# ---- transfer budget -----------------------------------------------------------------


@pytest.fixture
def server_budget(app_config: dict[str, Any]) -> None:
    """The server's DEACTIVATION_BUDGET: one client deactivation a day per licence."""
    app_config["DEACTIVATION_BUDGET"] = "1 per 1 day"


@pytest.mark.parametrize("budget", ["1 per 30 days", "off"])
def test_transfer_budget_of_the_policy(
    server_budget: None, client: FlaskClient, factory: Factory, budget: str
) -> None:
    lic = licence_with(factory, seats=3, transfer_budget=budget)
    made = [activated(client, by_password(lic), iid=f"install-000{n}") for n in range(3)]
    first = deactivate(client, made[0]["activation_id"], made[0]["activation_token"])
    assert first.status_code == 200
    second = deactivate(client, made[1]["activation_id"], made[1]["activation_token"])
    if budget == "off":
        assert second.status_code == 200
    else:
        assert_problem(second, 409, "DEACTIVATION_LIMIT_REACHED")
        assert int(second.headers["Retry-After"]) > 86400


def test_server_budget_applies_without_a_policy_budget(
    server_budget: None, client: FlaskClient, factory: Factory
) -> None:
    """A policy without transfer_budget follows the server's DEACTIVATION_BUDGET."""
    lic = licence_with(factory, seats=2, features=["x"])
    a = activated(client, by_key(lic), iid="install-0001")
    b = activated(client, by_key(lic), iid="install-0002")
    assert deactivate(client, a["activation_id"], a["activation_token"]).status_code == 200
    second = deactivate(client, b["activation_id"], b["activation_token"])
    assert_problem(second, 409, "DEACTIVATION_LIMIT_REACHED")


# ---- the OpenAPI document ------------------------------------------------------------


def test_openapi_document_shows_the_client_extensions(client: FlaskClient) -> None:
    doc = client.get("/api/v1/openapi.json").get_json()
    schemas = doc["components"]["schemas"]

    def props(path: str, method: str, where: str) -> set[str]:
        op = doc["paths"][path][method]
        if where == "request":
            ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        else:
            ref = op["responses"][where]["content"]["application/json"]["schema"]["$ref"]
        return set(schemas[ref.rsplit("/", 1)[1]]["properties"])

    assert {"site_url", "fingerprints", "release_date"} <= props(
        "/api/v1/activations", "post", "request"
    )
    assert {"model", "lease_expires_at", "features", "warnings", "moved_from"} <= props(
        "/api/v1/activations", "post", "201"
    )
    checkin_path = "/api/v1/activations/{activation_id}/checkin"
    assert "release_date" in props(checkin_path, "post", "request")
    assert {"lease_expires_at", "warnings"} <= props(checkin_path, "post", "200")
    assert {"site_url", "features", "release_date"} <= props("/api/v1/validate", "post", "request")
    assert {"warnings", "missing_features"} <= props("/api/v1/validate", "post", "200")
