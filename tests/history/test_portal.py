"""The customer portal's licence page says whether the licence's history verifies."""

from __future__ import annotations

from tests.history.helpers import event_ids, sql
from tests.support.portal import AccountMaker, Browser, text_of


def test_the_licence_page_shows_history_verified_then_where_the_check_fails(
    make_account: AccountMaker, browser: Browser
) -> None:
    acc = make_account()  # a licence with an activation: two events
    lic = acc.licenses[0]
    browser.login(acc.emails["basic"])

    page = text_of(browser.get(f"/portal/licenses/{lic.id}"))
    assert "History verified" in page
    assert "History check failed" not in page

    ids = event_ids(lic.id)
    sql("UPDATE events SET machine_name = 'SOMEONE-ELSE' WHERE id = :id", id=ids[-1])

    page = text_of(browser.get(f"/portal/licenses/{lic.id}"))
    assert f"History check failed at event {ids[-1]}" in page
    assert "History verified" not in page
    # the customer's other licence is unaffected
    assert "History verified" in text_of(browser.get(f"/portal/licenses/{acc.licenses[1].id}"))
