"""Ask for more in headless Chromium against a real gunicorn, JavaScript off: a
manager requests two more seats in the portal, an admin approves them in the
console's queue, and the manager sees the licence with the new seats."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest

from tests.live import LiveServer
from tests.support.browser import CHROMIUM, new_page
from tests.support.console import PASSWORD as STAFF_PASSWORD
from tests.support.console import StaffMaker
from tests.support.portal import PASSWORD, AccountMaker

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM) and os.environ.get("CI") != "true",
        reason="chromium is not installed (apt-get install chromium); CI runs these",
    ),
]


def test_request_more_seats_then_approve_in_the_console(
    live_server: Callable[..., LiveServer],
    make_account: AccountMaker,
    make_staff: StaffMaker,
    chromium: Any,
) -> None:
    server = live_server(workers=2)
    acc = make_account()
    lic = acc.licenses[0]
    admin = make_staff("admin")
    base = server.url
    page = new_page(chromium, javascript=False)
    try:
        page.goto(f"{base}/portal/login")
        page.fill("#login", acc.emails["manager"])
        page.fill("#password", PASSWORD)
        page.click("button.primary")
        page.wait_for_url(f"{base}/portal/licenses")
        page.goto(f"{base}/portal/licenses/{lic.id}")
        page.click("#order-more")
        page.wait_for_url(f"{base}/portal/licenses/{lic.id}/more")
        page.select_option("select#kind", "seats")
        page.fill("input#seats", "2")
        page.fill("textarea#note", "Two new hires")
        page.click("#send-request")
        page.wait_for_url(f"{base}/portal/licenses/{lic.id}")
        assert "Your request is sent" in page.content()

        staff = new_page(chromium, javascript=False)
        try:
            staff.goto(f"{base}/admin/login")
            staff.fill("#email", admin.email)
            staff.fill("#password", STAFF_PASSWORD)
            staff.click("button.primary")
            staff.wait_for_url(f"{base}/admin/")
            staff.click("nav >> text=Requests")
            staff.wait_for_url(f"{base}/admin/requests")
            row = staff.locator("#requests tbody tr").first
            assert lic.id in row.inner_text() and "2 more seats" in row.inner_text()
            row.locator("button", has_text="Approve").click()
            staff.wait_for_url(f"{base}/admin/requests")
            assert "No pending requests" in staff.content()
        finally:
            staff.context.close()

        page.goto(f"{base}/portal/licenses/{lic.id}")
        assert "1 used of 5" in page.inner_text("dl.facts")
    finally:
        page.context.close()
