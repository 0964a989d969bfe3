"""Another customer's licences, installations, users and invoices do not exist
for a portal user: every id of theirs answers 404, and nothing changes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from licserver.runtime import context
from licserver.services import orders as order_service
from tests.support.portal import Account, AccountMaker, Browser, Staff, text_of


@pytest.fixture
def two(make_account: AccountMaker) -> tuple[Account, Account]:
    return make_account("acme"), make_account("globex")


def _order(acc: Account) -> int:
    return order_service.create(
        context(),
        customer=acc.number,
        number=f"INV-{acc.number}",
        date=date(2026, 11, 1),
        amount=Decimal("10.00"),
        currency="EUR",
        po_number=None,
        items=[order_service.ItemIn("Seat", Decimal("10.00"))],
    ).id


def test_another_customers_ids_are_not_found(
    two: tuple[Account, Account], staff: Staff, browser: Browser
) -> None:
    mine, theirs = two
    their_lic, their_act = theirs.licenses[0], theirs.activations[0]
    my_lic = mine.licenses[0]
    their_order = _order(theirs)
    browser.login(mine.emails["owner"])

    gets = [
        f"/portal/licenses/{their_lic.id}",
        f"/portal/licenses/{their_lic.id}/activation-password",
        f"/portal/licenses/{their_lic.id}/key",
        f"/portal/licenses/{their_lic.id}/installations/{their_act['activation_id']}/deactivate",
        # their installation under my licence's id
        f"/portal/licenses/{my_lic.id}/installations/{their_act['activation_id']}/deactivate",
        f"/portal/payments/{their_order}",
        f"/portal/users/{theirs.user_id('basic')}",
        f"/portal/users/{theirs.user_id('basic')}/remove",
    ]
    for path in gets:
        r = browser.get(path)
        assert r.status_code == 404, path
        assert their_lic.activation_password not in text_of(r)

    posts: list[tuple[str, dict[str, str | list[str]]]] = [
        (f"/portal/licenses/{their_lic.id}/reveal", {}),
        (f"/portal/licenses/{their_lic.id}/activation-password", {}),
        (f"/portal/licenses/{their_lic.id}/key", {}),
        (
            f"/portal/licenses/{their_lic.id}/installations/{their_act['activation_id']}/deactivate",
            {"reason": "x"},
        ),
        (
            f"/portal/licenses/{my_lic.id}/installations/{their_act['activation_id']}/deactivate",
            {"reason": "x"},
        ),
        (f"/portal/users/{theirs.user_id('basic')}", {"role": "manager"}),
        (f"/portal/users/{theirs.user_id('basic')}/remove", {}),
        (f"/portal/users/{theirs.user_id('basic')}/invitation", {}),
        # limiting one of my users to their licence
        (f"/portal/users/{mine.user_id('basic')}", {"role": "basic", "licenses": [their_lic.id]}),
    ]
    before = staff.get(f"/api/v1/licenses/{their_lic.id}/events").get_json()["items"]
    for path, form in posts:
        r = browser.post(path, form)
        assert r.status_code in (404, 422), (path, r.status_code)
        assert their_lic.activation_password not in text_of(r)
        assert their_lic.key not in text_of(r)
    after = staff.get(f"/api/v1/licenses/{their_lic.id}/events").get_json()["items"]
    assert after == before
    assert staff.get(f"/api/v1/licenses/{their_lic.id}").get_json()["seats_used"] == 1
    users = staff.get(f"/api/v1/customers/{theirs.number}/users").get_json()["items"]
    assert {u["email"]: u["role"] for u in users}[theirs.emails["basic"]] == "basic"


def test_lists_show_only_the_own_account(two: tuple[Account, Account], browser: Browser) -> None:
    mine, theirs = two
    _order(theirs)
    browser.login(mine.emails["owner"])
    for path in ("/portal/licenses", "/portal/history", "/portal/history.csv", "/portal/users"):
        page = text_of(browser.get(path))
        assert "GLOBEX" not in page.upper(), path
        assert theirs.licenses[0].id not in page, path
    assert f"INV-{theirs.number}" not in text_of(browser.get("/portal/payments"))
    # filtering the history by their licence finds nothing to show
    r = browser.get(f"/portal/history?license={theirs.licenses[0].id}")
    assert r.status_code == 422
    assert "GLOBEX-PC" not in text_of(r)
