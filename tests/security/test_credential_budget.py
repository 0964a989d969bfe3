"""The failed-attempt budget against password guessing (API.md: 20 per licence,
and per customer for the company password, per hour): spoofed X-Forwarded-For
does not multiply it, the rightful user still activates before it is spent and
after the window, and a lock-out by an attacker leaves the rightful user's
installations and licence key working (docs/security.md)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from licserver.extensions import db
from licserver.models import Event
from tests.api.helpers import by_company, by_key, by_password, checkin, validate
from tests.support.factory import AdminClient, Factory

LIMIT = 5
PROXY_SEEN = "203.0.113.7"  # the address our one trusted proxy appends


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {
        **app_config,
        "RATE_LIMITS": "on",
        "FAILED_ATTEMPTS_LIMIT": LIMIT,
        "PROXY_FIX_X_FOR": 1,
        "CLIENT_RATE_LIMIT": "1000 per minute",
    }


def _via_proxy(spoofed: str, real: str = PROXY_SEEN) -> dict[str, str]:
    """What the app receives: the attacker's own X-Forwarded-For, then the
    address our proxy saw appended to it."""
    return {"X-Forwarded-For": f"{spoofed}, {real}"}


def _activate(client: FlaskClient, creds: dict[str, Any], n: int, spoofed: str) -> Any:
    body = {**creds, "installation_id": f"install-{n:04d}", "machine_name": f"PC-{n}"}
    return client.post("/api/v1/activations", json=body, headers=_via_proxy(spoofed))


def _wrong(creds: dict[str, Any], field: str) -> dict[str, Any]:
    return {**creds, field: "WRONG-WRONG-WRONG-WRONG"}


def _refusal_ips() -> list[str | None]:
    kinds = ("activation.refused", "validation.refused")
    return list(db.session.scalars(select(Event.ip).where(Event.kind.in_(kinds))).all())


def _age_events(by: timedelta) -> None:
    for event in db.session.scalars(select(Event)).all():
        event.at = event.at - by
    db.session.commit()


def test_spoofed_forwarded_for_does_not_multiply_the_budget(
    client: FlaskClient, factory: Factory
) -> None:
    lic = factory.license()
    for n in range(LIMIT):
        r = _activate(client, _wrong(by_password(lic), "activation_password"), n, f"10.0.0.{n}")
        assert r.status_code == 401, r.get_json()
    # a new spoofed address, and even the right password: the budget answers
    r = _activate(client, by_password(lic), 99, "10.9.9.9")
    assert r.status_code == 429 and r.get_json()["code"] == "RATE_LIMITED"
    assert 3500 <= int(r.headers["Retry-After"]) <= 3601
    # the history names the address the proxy saw, never the one the client claimed
    assert set(_refusal_ips()) == {PROXY_SEEN}


def test_only_the_configured_proxy_hops_are_trusted(
    client: FlaskClient, factory: Factory, app_config: dict[str, Any]
) -> None:
    lic = factory.license()
    # two entries claimed by the client, one appended by the proxy: with one hop
    # configured, only the proxy's entry is taken
    r = client.post(
        "/api/v1/validate",
        json={**_wrong(by_password(lic), "activation_password"), "installation_id": "install-1"},
        headers={"X-Forwarded-For": f"198.51.100.1, 198.51.100.2, {PROXY_SEEN}"},
    )
    assert r.status_code == 401
    assert _refusal_ips() == [PROXY_SEEN]


def test_the_per_ip_limit_follows_the_proxys_address(
    app_config: dict[str, Any], request: pytest.FixtureRequest
) -> None:
    app_config["CLIENT_RATE_LIMIT"] = "3 per minute"
    client: FlaskClient = request.getfixturevalue("client")
    for n in range(3):
        r = client.get("/api/v1/keys", headers=_via_proxy(f"10.0.0.{n}"))
        assert r.status_code == 200
    r = client.get("/api/v1/keys", headers=_via_proxy("10.0.0.99"))
    assert r.status_code == 429 and r.get_json()["code"] == "RATE_LIMITED"
    # another machine behind the proxy has its own allowance
    assert client.get("/api/v1/keys", headers=_via_proxy("x", "203.0.113.8")).status_code == 200


def test_the_rightful_user_activates_before_the_budget_is_spent_and_after_the_window(
    client: FlaskClient, factory: Factory
) -> None:
    lic = factory.license()
    wrong = _wrong(by_password(lic), "activation_password")
    for n in range(LIMIT - 1):
        assert _activate(client, wrong, n, "10.0.0.1").status_code == 401
    assert _activate(client, by_password(lic), 10, "10.0.0.2").status_code == 201
    assert _activate(client, wrong, 11, "10.0.0.1").status_code == 401  # the 5th failure
    assert _activate(client, by_password(lic), 12, "10.0.0.2").status_code == 429
    _age_events(timedelta(minutes=59))
    assert _activate(client, by_password(lic), 12, "10.0.0.2").status_code == 429
    _age_events(timedelta(minutes=2))  # the failures have left the hour
    assert _activate(client, by_password(lic), 12, "10.0.0.2").status_code == 201


def test_a_lockout_leaves_installations_and_the_licence_key_working(
    client: FlaskClient, factory: Factory, admin: AdminClient
) -> None:
    lic = factory.license()
    act = _activate(client, by_password(lic), 1, "10.0.0.1").get_json()
    wrong = _wrong(by_password(lic), "activation_password")
    for n in range(LIMIT):
        assert _activate(client, wrong, 100 + n, "10.6.6.6").status_code == 401
    # an attacker has locked the activation password out for the hour; but
    assert _activate(client, by_password(lic), 2, "10.0.0.1").status_code == 429
    assert validate(client, by_password(lic), "install-0001").status_code == 429
    # the installations already active keep checking in (their own token)...
    assert checkin(client, act["activation_id"], act["activation_token"]).status_code == 200
    # ...and the licence key (not guessable, never budgeted) activates new ones
    assert _activate(client, by_key(lic), 3, "10.0.0.1").status_code == 201
    # staff see who tried: every refusal is in the history, with the proxy's address
    events = admin.get(f"/api/v1/licenses/{lic.id}/events?limit=200").get_json()["items"]
    refusals = [e for e in events if e["kind"] == "activation.refused"]
    assert [e["reason"] for e in refusals].count("INVALID_CREDENTIALS") == LIMIT


def test_the_company_password_has_a_budget_per_customer(
    client: FlaskClient, factory: Factory
) -> None:
    product = factory.product()
    customer = factory.customer(company_password="company-secret-1")
    lic = factory.license(product, customer)
    other = factory.license(product, factory.customer(company_password="company-secret-2"))
    right = by_company(lic, "company-secret-1")
    wrong = by_company(lic, "not-the-password")
    for n in range(LIMIT - 1):
        assert _activate(client, wrong, n, f"10.0.1.{n}").status_code == 401
    assert _activate(client, right, 10, "10.0.2.1").status_code == 201
    assert _activate(client, wrong, 11, "10.0.1.99").status_code == 401
    r = _activate(client, right, 12, "10.0.2.2")
    assert r.status_code == 429 and r.get_json()["code"] == "RATE_LIMITED"
    # another customer is not affected; this customer's licence key still works
    assert (
        _activate(client, by_company(other, "company-secret-2"), 13, "1.1.1.1").status_code == 201
    )
    assert _activate(client, by_key(lic), 14, "10.0.2.2").status_code in (200, 201)
