"""The console in headless Chromium against a real gunicorn: the lost-machine
case, from the search and from the customer's page."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest

from tests.live import LiveServer
from tests.support.browser import CHROMIUM, new_page, staff_login
from tests.support.console import PASSWORD, StaffMaker
from tests.support.portal import AccountMaker

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM) and os.environ.get("CI") != "true",
        reason="chromium is not installed (apt-get install chromium); CI runs these",
    ),
]


def test_search_a_machine_deactivate_it_and_see_it_gone(
    live_server: Callable[..., LiveServer],
    make_account: AccountMaker,
    make_staff: StaffMaker,
    chromium: Any,  # noqa: F811
) -> None:
    server = live_server(workers=4)
    acc = make_account("acme", activations=3)
    lic = acc.licenses[0]
    support = make_staff("support")
    page = new_page(chromium, javascript=False)
    try:
        page.goto(f"{server.url}/admin/")
        page.wait_for_url(f"{server.url}/admin/login**")
        page.fill("#email", support.email)
        page.fill("#password", PASSWORD)
        page.click("button.primary")
        page.wait_for_url(f"{server.url}/admin/")

        # one search...
        page.fill("#q", "acme-pc-01")
        page.click("form.search button")
        page.locator("#installations").wait_for()
        # ...and one click to the licence page, where the machine has its button
        page.click("#installations a:text('ACME-PC-01')")
        page.wait_for_url(f"{server.url}/admin/licenses/{lic.id}#act-*")
        row = page.locator("#active-installations tr", has_text="ACME-PC-01")
        row.locator("input[name=reason]").fill("laptop stolen")
        row.locator("button.danger").click()
        page.wait_for_url(f"{server.url}/admin/licenses/{lic.id}")
        assert "ACME-PC-01 is deactivated; its seat is free." in page.inner_text(".flash")
        active = page.inner_text("#active-installations")
        assert "ACME-PC-01" not in active and "ACME-PC-02" in active
        assert "laptop stolen" in page.inner_text("#past-installations")
        assert "2 used of 3" in page.inner_text("#seats-used")

        # from the customer's page: another machine, same two clicks
        page.click("p.crumbs a")
        page.wait_for_url(f"{server.url}/admin/customers/{acc.number}")
        page.click(f"#customer-licenses a:text('{lic.id}')")
        row = page.locator("#active-installations tr", has_text="ACME-PC-03")
        row.locator("button.danger").click()
        page.wait_for_url(f"{server.url}/admin/licenses/{lic.id}")
        active = page.inner_text("#active-installations")
        assert "ACME-PC-03" not in active and "ACME-PC-02" in active
        assert "staff:" + support.email in page.inner_text("#events")

        # and the search now shows it deactivated
        page.goto(f"{server.url}/admin/?q=ACME-PC-03")
        assert "deactivated" in page.inner_text("#installations")
    finally:
        page.context.close()


def test_onboard_a_customer_issue_a_licence_and_change_its_seats(
    live_server: Callable[..., LiveServer],
    make_staff: StaffMaker,
    factory: Any,
    chromium: Any,  # noqa: F811
) -> None:
    server = live_server(workers=2)
    factory.product("cad", name="CAD Pro")
    admin = make_staff("admin")
    page = new_page(chromium, javascript=False)
    try:
        staff_login(page, server.url, admin.email, PASSWORD)
        page.goto(f"{server.url}/admin/customers")
        page.click("#new-customer")
        page.fill("#name", "Acme Ltd")
        page.fill("#email", "it@acme.test")
        page.click("#customer-form button.primary")
        page.wait_for_url(f"{server.url}/admin/customers/C-*")
        assert "Customer C-" in page.inner_text(".flash")
        assert "it@acme.test" in page.inner_text("#customer-users")

        page.select_option("#product", "cad")
        page.fill("#seats", "2")
        page.click("#issue")
        page.locator("#license-key").wait_for()
        assert "0 used of 2" in page.inner_text("#seats-used")

        page.click("#edit-license")
        page.fill("#seats", "5")
        page.click("#license-form button.primary")
        page.wait_for_url(f"{server.url}/admin/licenses/L-*")
        assert "0 used of 5" in page.inner_text("#seats-used")
        assert "staff:" + admin.email in page.inner_text("#events")
    finally:
        page.context.close()
