"""The admin API of licence models: policies (create, list, change with a dry
run), licences on a policy with overrides, expiry at issue, renewals and trial
conversion. Through the Flask test client on a real database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import update

from licserver.extensions import db
from licserver.models import Activation
from licserver.runtime import context
from licserver.services import tokens
from tests.api.helpers import activated, assert_problem, events, license_view
from tests.support.factory import AdminClient, Factory


def _policy(admin: AdminClient, product: str, name: str, **settings: Any) -> dict[str, Any]:
    r = admin.post(
        f"/api/v1/products/{product}/policies", json={"name": name, "settings": settings}
    )
    assert r.status_code == 201, r.get_json()
    body: dict[str, Any] = r.get_json()
    return body


def _license(admin: AdminClient, factory: Factory, product: str, **body: Any) -> dict[str, Any]:
    customer = factory.customer()
    r = admin.post(
        "/api/v1/licenses", json={"product": product, "customer": customer, "seats": 2, **body}
    )
    assert r.status_code == 201, r.get_json()
    out: dict[str, Any] = r.get_json()
    return out


def _at(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def test_create_list_and_show_a_policy(admin: AdminClient, factory: Factory) -> None:
    product = factory.product()
    pol = _policy(admin, product, "floating-5", model="floating", lease_ttl=600, features=["pro"])
    assert pol["id"].startswith("P-")
    assert pol["product"] == product and pol["name"] == "floating-5"
    # every setting is shown, with its effective value
    assert pol["settings"]["model"] == "floating"
    assert pol["settings"]["lease_ttl"] == 600
    assert pol["settings"]["features"] == ["pro"]
    assert pol["settings"]["enforcement"] == "enforce"
    assert pol["licenses"] == 0

    listed = admin.get(f"/api/v1/products/{product}/policies").get_json()
    assert [p["id"] for p in listed["items"]] == [pol["id"]]
    assert admin.get(f"/api/v1/policies/{pol['id']}").get_json()["name"] == "floating-5"
    assert_problem(admin.get("/api/v1/policies/P-NONE-0000"), 404, "NOT_FOUND")
    assert_problem(admin.get("/api/v1/products/nope/policies"), 404, "NOT_FOUND")


def test_bad_settings_are_refused_with_field_errors(admin: AdminClient, factory: Factory) -> None:
    product = factory.product()
    url = f"/api/v1/products/{product}/policies"
    cases = [
        ({"model": "rental"}, "settings.model"),
        ({"colour": "blue"}, "settings.colour"),
        ({"lease_ttl": 5}, "settings.lease_ttl"),
        ({"expiry_basis": "from_issue"}, "settings.duration_days"),  # needs a duration
        ({"trial": True}, "settings.duration_days"),
        ({"transfer_budget": "lots"}, "settings.transfer_budget"),
        ({"features": ["ok", "not ok"]}, "settings.features"),
    ]
    for settings, field in cases:
        r = admin.post(url, json={"name": "p", "settings": settings})
        body = assert_problem(r, 422, "VALIDATION_FAILED")
        assert field in body["errors"], (settings, body)
    body = assert_problem(admin.post(url, json={"name": "Has Spaces"}), 422, "VALIDATION_FAILED")
    assert "name" in body["errors"]
    assert admin.get(url).get_json()["items"] == []  # nothing was created

    _policy(admin, product, "std")
    assert_problem(admin.post(url, json={"name": "std"}), 409, "CONFLICT")


def test_writing_policies_needs_the_full_scope(
    client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    product = factory.product()
    token = tokens.create(context(), "limited", "licenses")[1]
    limited = AdminClient(client, token)
    r = limited.post(f"/api/v1/products/{product}/policies", json={"name": "x"})
    assert_problem(r, 403, "FORBIDDEN")
    assert limited.get(f"/api/v1/products/{product}/policies").status_code == 200


def test_licence_on_a_policy_with_overrides(admin: AdminClient, factory: Factory) -> None:
    product = factory.product()
    pol = _policy(admin, product, "floating", model="floating", features=["export"])
    lic = _license(
        admin,
        factory,
        product,
        policy="floating",  # by name
        features=["extra"],
        policy_overrides={"lease_ttl": 120},
    )
    assert lic["policy"] == pol["id"] and lic["policy_name"] == "floating"
    assert lic["model"] == "floating"
    assert lic["settings"]["lease_ttl"] == 120
    assert lic["policy_overrides"] == {"lease_ttl": 120}
    assert lic["entitlements"] == ["export", "extra"]
    assert lic["features"] == ["extra"]
    assert admin.get(f"/api/v1/policies/{pol['id']}").get_json()["licenses"] == 1

    # another product's policy, or a bad override, is a field error
    other = factory.product()
    _policy(admin, other, "theirs")
    body = assert_problem(
        admin.post(
            "/api/v1/licenses",
            json={"product": product, "customer": factory.customer(), "policy": "theirs"},
        ),
        422,
        "VALIDATION_FAILED",
    )
    assert "policy" in body["errors"]
    body = assert_problem(
        admin.patch(f"/api/v1/licenses/{lic['id']}", json={"policy_overrides": {"model": "x"}}),
        422,
        "VALIDATION_FAILED",
    )
    assert "policy_overrides.model" in body["errors"]

    # off the policy: back to the defaults, and the change is in the history
    r = admin.patch(f"/api/v1/licenses/{lic['id']}", json={"policy": None, "policy_overrides": {}})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["model"] == "node_locked" and r.get_json()["policy"] is None
    updated = events(admin, lic["id"], "license.updated")[-1]
    assert updated["data"]["policy"] == {"from": pol["id"], "to": None}


def test_licence_without_policy_is_shown_with_the_defaults(
    admin: AdminClient, factory: Factory
) -> None:
    lic = factory.license(features=["a"])
    view = license_view(admin, lic.id)
    assert view["policy"] is None and view["model"] == "node_locked"
    assert view["trial"] is False and view["entitlements"] == ["a"]


def test_expiry_at_issue_follows_the_policy(admin: AdminClient, factory: Factory) -> None:
    product = factory.product(default_duration_days=365)
    _policy(admin, product, "month", expiry_basis="from_issue", duration_days=30)
    _policy(admin, product, "fixed-end", fixed_expiry="2030-01-01T00:00:00Z")
    _policy(admin, product, "first", expiry_basis="from_first_activation", duration_days=10)
    before = datetime.now(UTC)
    month = _license(admin, factory, product, policy="month")
    assert abs(_at(month["expires_at"]) - (before + timedelta(days=30))) < timedelta(minutes=1)  # type: ignore[operator]
    assert _license(admin, factory, product, policy="fixed-end")["expires_at"] == (
        "2030-01-01T00:00:00Z"
    )
    # from the first activation: no expiry until then (not the product's default)
    first = _license(admin, factory, product, policy="first")
    assert first["expires_at"] is None and first["first_activated_at"] is None
    # an explicit expires_at always wins
    given = _license(admin, factory, product, policy="month", expires_at="2031-05-05T00:00:00Z")
    assert given["expires_at"] == "2031-05-05T00:00:00Z"
    # no policy: the product's default duration as before
    plain = _license(admin, factory, product)
    assert abs(_at(plain["expires_at"]) - (before + timedelta(days=365))) < timedelta(minutes=1)  # type: ignore[operator]


def test_renew_from_expiry_and_from_now(admin: AdminClient, factory: Factory) -> None:
    product = factory.product()
    _policy(admin, product, "from-expiry", duration_days=30)
    _policy(admin, product, "from-now", duration_days=30, renewal_basis="from_now")
    past = (datetime.now(UTC) - timedelta(days=10)).replace(microsecond=0)
    stamp = past.strftime("%Y-%m-%dT%H:%M:%SZ")

    a = _license(admin, factory, product, policy="from-expiry", expires_at=stamp)
    r = admin.post(f"/api/v1/licenses/{a['id']}/renew")
    assert r.status_code == 200, r.get_json()
    assert _at(r.get_json()["expires_at"]) == past + timedelta(days=30)
    assert r.get_json()["status"] == "active"
    renewed = events(admin, a["id"], "license.renewed")[-1]
    assert renewed["data"]["from"] == stamp

    b = _license(admin, factory, product, policy="from-now", expires_at=stamp)
    r = admin.post(f"/api/v1/licenses/{b['id']}/renew", json={"days": 7})
    got = _at(r.get_json()["expires_at"])
    assert got is not None
    assert abs(got - (datetime.now(UTC) + timedelta(days=7))) < timedelta(minutes=1)

    # no policy and no days: a readable refusal
    plain = factory.license(product=product)
    body = assert_problem(
        admin.post(f"/api/v1/licenses/{plain.id}/renew"), 422, "VALIDATION_FAILED"
    )
    assert "days" in body["errors"]


def test_convert_a_trial_keeps_its_activations(
    client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    product = factory.product()
    _policy(admin, product, "trial", trial=True, expiry_basis="from_issue", duration_days=14)
    _policy(admin, product, "paid", features=["pro"])
    lic = _license(admin, factory, product, policy="trial")
    assert lic["trial"] is True
    act = activated(client, {"license_key": lic["key"]}, iid="trial-machine-1")

    # only to a paid policy
    assert_problem(
        admin.post(f"/api/v1/licenses/{lic['id']}/convert", json={"policy": "trial"}),
        409,
        "CONFLICT",
    )
    r = admin.post(f"/api/v1/licenses/{lic['id']}/convert", json={"policy": "paid", "seats": 5})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["trial"] is False and body["policy_name"] == "paid"
    assert body["expires_at"] is None and body["seats"] == 5
    assert body["converted_at"] is not None and body["key"] == lic["key"]
    assert body["seats_used"] == 1
    # the same machine is still active on it: re-activation is the same activation
    again = activated(client, {"license_key": lic["key"]}, iid="trial-machine-1")
    assert again["activation_id"] == act["activation_id"]
    assert events(admin, lic["id"], "license.converted")
    # a paid licence is not converted again
    assert_problem(
        admin.post(f"/api/v1/licenses/{lic['id']}/convert", json={"policy": "paid"}),
        409,
        "CONFLICT",
    )


def _age(activation_id: str, seconds: int) -> None:
    """Move an activation's last sight ``seconds`` into the past."""
    then = datetime.now(UTC) - timedelta(seconds=seconds)
    session = db.session()
    session.execute(
        update(Activation)
        .where(Activation.public_id == activation_id)
        .values(activated_at=then, last_checkin_at=then, lease_expires_at=None)
    )
    session.commit()


def test_dry_run_shows_who_a_change_affects_and_saves_nothing(
    client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    product = factory.product()
    pol = _policy(admin, product, "std")
    lic = _license(admin, factory, product, policy="std")
    old = activated(client, by_key_of(lic), iid="silent-machine-1", mn="OLD-PC")
    fresh = activated(client, by_key_of(lic), iid="busy-machine-22", mn="NEW-PC")
    _age(old["activation_id"], 5 * 86400)

    change = {"settings": {"heartbeat_required": True, "inactive_after": 86400}}
    r = admin.patch(f"/api/v1/policies/{pol['id']}?dry_run=true", json=change)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["dry_run"] is True and body["saved"] is False
    assert set(body["changed"]) == {"heartbeat_required", "inactive_after"}
    assert body["policy"]["settings"]["heartbeat_required"] is True
    items = body["affected"]["items"]
    assert body["affected"]["count"] == 1
    assert items[0]["activation_id"] == old["activation_id"]
    assert items[0]["machine_name"] == "OLD-PC" and items[0]["effect"] == "mark_inactive"
    # nothing saved
    assert (
        admin.get(f"/api/v1/policies/{pol['id']}").get_json()["settings"]["heartbeat_required"]
        is False
    )

    # with free_seat_when_inactive the effect is to free the seat
    change["settings"]["free_seat_when_inactive"] = True
    r = admin.patch(f"/api/v1/policies/{pol['id']}?dry_run=true", json=change)
    assert [i["effect"] for i in r.get_json()["affected"]["items"]] == ["free_seat"]

    # saving it applies the settings, records it, and gives live activations deadlines
    r = admin.patch(f"/api/v1/policies/{pol['id']}", json=change)
    assert r.status_code == 200 and r.get_json()["saved"] is True
    assert (
        admin.get(f"/api/v1/policies/{pol['id']}").get_json()["settings"]["free_seat_when_inactive"]
        is True
    )
    session = db.session()
    deadlines = {
        a.public_id: a.heartbeat_deadline
        for a in session.query(Activation).filter(
            Activation.public_id.in_([old["activation_id"], fresh["activation_id"]])
        )
    }
    assert all(d is not None for d in deadlines.values())
    assert deadlines[old["activation_id"]] < datetime.now(UTC)  # type: ignore[operator]
    assert deadlines[fresh["activation_id"]] > datetime.now(UTC)  # type: ignore[operator]


def by_key_of(lic: dict[str, Any]) -> dict[str, str]:
    return {"license_key": lic["key"]}


def test_openapi_documents_the_policy_endpoints(client: FlaskClient) -> None:
    doc = client.get("/api/v1/openapi.json").get_json()
    paths = doc["paths"]
    assert "post" in paths["/api/v1/products/{code}/policies"]
    assert "get" in paths["/api/v1/products/{code}/policies"]
    assert "patch" in paths["/api/v1/policies/{policy_id}"]
    assert "post" in paths["/api/v1/licenses/{license_id}/renew"]
    assert "post" in paths["/api/v1/licenses/{license_id}/convert"]
    patch_params = {p["name"] for p in paths["/api/v1/policies/{policy_id}"]["patch"]["parameters"]}
    assert "dry_run" in patch_params
