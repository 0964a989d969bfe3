"""The deactivation budget (DEACTIVATION_BUDGET): one seat cannot float over many
machines by deactivating and re-activating without end. Client (SDK) and portal
deactivations spend it; staff deactivations neither spend it nor are refused."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from licserver.extensions import db
from licserver.models import Event
from tests.api.helpers import activated, by_key, checkin, deactivate
from tests.support.factory import AdminClient, Factory, IssuedLicense
from tests.support.portal import AccountMaker, Browser, text_of

WINDOW = timedelta(days=30)


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "DEACTIVATION_BUDGET": "2 per 30 days"}


def _move(client: FlaskClient, lic: IssuedLicense, n: int) -> Any:
    """Activate machine ``n`` on the licence and have its client deactivate it."""
    act = activated(client, by_key(lic), iid=f"machine-{n:04d}", mn=f"PC-{n}")
    return act, deactivate(client, act["activation_id"], act["activation_token"])


def _kinds(admin: AdminClient, lic: IssuedLicense) -> list[dict[str, Any]]:
    r = admin.get(f"/api/v1/licenses/{lic.id}/events?limit=200")
    assert r.status_code == 200
    items: list[dict[str, Any]] = r.get_json()["items"]
    return items


def test_client_deactivations_beyond_the_budget_are_refused(
    client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    lic = factory.license(seats=1)
    for n in (1, 2):
        _, r = _move(client, lic, n)
        assert r.status_code == 200, r.get_json()

    act, r = _move(client, lic, 3)
    assert r.status_code == 409
    assert r.mimetype == "application/problem+json"
    body = r.get_json()
    assert body["code"] == "DEACTIVATION_LIMIT_REACHED"
    assert body["status"] == 409 and body["title"] == "Deactivation limit reached"
    assert "2 time(s) in the last 30 days" in body["detail"]
    assert "vendor" in body["detail"]
    # when the oldest counted deactivation leaves the window: in about 30 days
    retry = int(r.headers["Retry-After"])
    assert WINDOW.total_seconds() - 120 < retry <= WINDOW.total_seconds() + 1

    # nothing changed: the installation is still active and keeps its seat
    assert checkin(client, act["activation_id"], act["activation_token"]).status_code == 200
    view = admin.get(f"/api/v1/licenses/{lic.id}").get_json()
    assert view["seats_used"] == 1
    # staff see the refusal in the history
    refused = [e for e in _kinds(admin, lic) if e["kind"] == "activation.deactivation_refused"]
    assert [(e["reason"], e["actor"]["type"], e["installation_id"]) for e in refused] == [
        ("DEACTIVATION_LIMIT_REACHED", "client", "machine-0003")
    ]
    # a deactivation that already happened still answers its 200 (no budget spent)
    first = [e for e in _kinds(admin, lic) if e["kind"] == "activation.deactivated"][0]
    assert first["installation_id"] == "machine-0001"


def test_staff_deactivations_neither_count_nor_are_refused(
    client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    lic = factory.license(seats=1)
    for n in (1, 2, 3):  # staff move the seat three times: over the budget of two
        act = activated(client, by_key(lic), iid=f"machine-{n:04d}", mn=f"PC-{n}")
        r = admin.post(
            f"/api/v1/activations/{act['activation_id']}/deactivate", json={"reason": "moved"}
        )
        assert r.status_code == 200, r.get_json()
    for n in (4, 5):  # the customer's own budget is untouched
        _, r = _move(client, lic, n)
        assert r.status_code == 200, r.get_json()
    _, r = _move(client, lic, 6)
    assert r.status_code == 409
    # and when it is spent, staff still deactivate
    act = activated(client, by_key(lic), iid="machine-0006", mn="PC-6")
    r = admin.post(
        f"/api/v1/activations/{act['activation_id']}/deactivate", json={"reason": "support"}
    )
    assert r.status_code == 200 and r.get_json()["deactivated_at"] is not None


def test_the_budget_is_per_licence_and_frees_up_as_time_passes(
    client: FlaskClient, factory: Factory
) -> None:
    lic, other = factory.license(seats=1), factory.license(seats=1)
    for n in (1, 2):
        assert _move(client, lic, n)[1].status_code == 200
    act, r = _move(client, lic, 3)
    assert r.status_code == 409
    assert _move(client, other, 1)[1].status_code == 200  # another licence: its own budget

    # 29 days later the first two are still in the window...
    _age_events(timedelta(days=29))
    assert deactivate(client, act["activation_id"], act["activation_token"]).status_code == 409
    # ...two more days, and they have left it
    _age_events(timedelta(days=2))
    assert deactivate(client, act["activation_id"], act["activation_token"]).status_code == 200


def _age_events(by: timedelta) -> None:
    """Time passes for the history: every event happened ``by`` earlier."""
    events = db.session.scalars(select(Event)).all()
    assert events
    for event in events:
        event.at = event.at - by
    db.session.commit()


def test_portal_deactivations_count_and_the_refusal_is_a_readable_page(
    make_account: AccountMaker, browser: Browser, client: FlaskClient, admin: AdminClient
) -> None:
    acc = make_account(activations=2)
    lic = acc.licenses[0]
    browser.login(acc.emails["technical"])
    first, second = acc.activations
    # one by the client, one through the portal: the budget of two is spent
    r = deactivate(client, first["activation_id"], first["activation_token"])
    assert r.status_code == 200
    path = f"/portal/licenses/{lic.id}/installations/{{}}/deactivate"
    r = browser.post(path.format(second["activation_id"]), {"reason": "new laptop"})
    assert r.status_code == 302
    third = activated(client, by_key(lic), iid="acme-install-0003", mn="ACME-PC-03")
    browser.get(path.format(third["activation_id"]))
    r = browser.post(path.format(third["activation_id"]), {"reason": "another one"})
    assert r.status_code == 409
    page = text_of(r)
    assert "deactivated 2 time(s) in the last 30 days" in page
    assert "your vendor can deactivate it sooner" in page
    assert checkin(client, third["activation_id"], third["activation_token"]).status_code == 200
    refused = [e for e in _kinds(admin, lic) if e["kind"] == "activation.deactivation_refused"]
    assert [e["actor"] for e in refused] == [{"type": "user", "id": acc.emails["technical"]}]


def test_no_budget_when_zero(request: pytest.FixtureRequest, app_config: dict[str, Any]) -> None:
    app_config["DEACTIVATION_BUDGET"] = 0  # the default
    client: FlaskClient = request.getfixturevalue("client")
    factory: Factory = request.getfixturevalue("factory")
    lic = factory.license(seats=1)
    for n in range(1, 6):
        assert _move(client, lic, n)[1].status_code == 200
