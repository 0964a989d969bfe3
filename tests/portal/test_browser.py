"""The portal in a real browser: headless Chromium (Debian's ``chromium``,
driven by Playwright) against a real gunicorn serving the test database.

Skipped only where chromium is absent and CI is not "true": under CI they run
(``.ci/run`` installs chromium). Screenshots of the main pages are saved in the
test's temporary folder, and into ``docs/screenshots/`` when
``UPDATE_SCREENSHOTS=1`` (run that after changing how a page looks).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.live import LiveServer
from tests.support import loopback
from tests.support.browser import CHROMIUM, new_page
from tests.support.portal import COMPANY_PASSWORD, PASSWORD, AccountMaker, activate

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM) and os.environ.get("CI") != "true",
        reason="chromium is not installed (apt-get install chromium); CI runs these",
    ),
]

XSS = "<script>alert(1)</script><img src=x onerror=alert(2)>"


@pytest.fixture
def shots(tmp_path: Path) -> Callable[[Any, str], Path]:
    def take(page: Any, name: str) -> Path:
        path = tmp_path / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        if os.environ.get("UPDATE_SCREENSHOTS") == "1":
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, SCREENSHOTS / f"{name}.png")
        return path

    return take


def _login(page: Any, base: str, login: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/portal/login")
    page.fill("#login", login)
    page.fill("#password", password)
    page.click("button.primary")
    page.wait_for_url(f"{base}/portal/licenses")


def test_log_in_open_a_licence_deactivate_a_machine_and_see_it_gone(
    live_server: Callable[..., LiveServer],
    make_account: AccountMaker,
    chromium: Any,
    shots: Callable[[Any, str], Path],
) -> None:
    server = live_server(workers=4)
    acc = make_account(activations=2)
    lic = acc.licenses[0]
    # pages work without JavaScript: this whole flow runs with it off
    page = new_page(chromium, javascript=False)
    try:
        page.goto(f"{server.url}/portal/login")
        shots(page, "login")
        _login(page, server.url, acc.emails["technical"])
        assert page.locator("h1").inner_text() == "Licences & Activations"

        page.click(f"text={lic.id}")
        page.wait_for_url(f"{server.url}/portal/licenses/{lic.id}")
        rows = page.locator("table.list tbody tr")
        assert rows.count() == 2
        assert "ACME-PC-01" in page.locator("table.list").inner_text()

        row = page.locator("tr", has_text="ACME-PC-01")
        row.locator("text=Deactivate…").click()
        assert "dead, lost or stolen" in page.content()
        page.fill("#reason", "laptop stolen")
        shots(page, "deactivate")
        page.click("button.danger")
        page.wait_for_url(f"{server.url}/portal/licenses/{lic.id}")

        assert "ACME-PC-01 is deactivated; its seat is free." in page.inner_text(".flash")
        table = page.locator("table.list").inner_text()
        assert "ACME-PC-01" not in table and "ACME-PC-02" in table
        assert "1 used of 3" in page.content()
    finally:
        page.context.close()

    # and the machine's next check-in, over real HTTP, is refused
    act = acc.activations[0]
    r = loopback.post(
        f"{server.url}/api/v1/activations/{act['activation_id']}/checkin",
        json={"activation_token": act["activation_token"]},
        timeout=30,
    )
    assert r.status_code == 410 and r.json()["code"] == "DEACTIVATED"


def test_owner_tour_of_the_main_pages(
    live_server: Callable[..., LiveServer],
    make_account: AccountMaker,
    client: FlaskClient,
    staff: Any,
    chromium: Any,
    shots: Callable[[Any, str], Path],
) -> None:
    server = live_server(workers=4)
    acc = make_account(activations=2)
    lic = acc.licenses[0]
    activate(client, acc.licenses[1], XSS, "xss-install-0001")
    r = staff.post(
        "/api/v1/orders",
        json={
            "customer": acc.number,
            "number": "INV-2026-0042",
            "date": "2026-11-20",
            "amount": "1499.90",
            "currency": "EUR",
            "po_number": "PO-77",
            "items": [
                {"description": "Acme CAD, 3 seats", "amount": "1200.00", "license_id": lic.id},
                {"description": "Support, 1 year", "amount": "299.90"},
            ],
        },
    )
    assert r.status_code == 201
    page = new_page(chromium)
    try:
        _login(page, server.url, acc.emails["owner"])
        shots(page, "licenses")

        page.goto(f"{server.url}/portal/licenses/{lic.id}")
        page.click("text=Reveal key and activation password")
        assert page.inner_text("#activation-password") == lic.activation_password
        shots(page, "license")

        page.goto(f"{server.url}/portal/licenses/{acc.licenses[1].id}")
        # the attacker's machine name is text, never markup: no dialog, no image
        assert page.locator("td.machine").first.inner_text() == XSS
        assert page.locator("img").count() == 0

        page.goto(f"{server.url}/portal/history")
        assert XSS in page.locator("table.history").inner_text()
        shots(page, "history")

        page.goto(f"{server.url}/portal/users")
        assert acc.emails["basic"] in page.content()
        shots(page, "users")

        page.goto(f"{server.url}/portal/account")
        shots(page, "account")

        page.goto(f"{server.url}/portal/payments")
        shots(page, "payments")
        page.click("a:text('Invoice')")
        assert "1499.90 EUR" in page.inner_text("table.items")
        shots(page, "invoice")
        assert page.dialogs == []
    finally:
        page.context.close()


def test_company_login_and_basic_user_see_what_their_roles_allow(
    live_server: Callable[..., LiveServer], make_account: AccountMaker, chromium: Any
) -> None:
    server = live_server(workers=4)
    acc = make_account()
    page = new_page(chromium)
    try:
        _login(page, server.url, acc.emails["basic"])
        nav = page.locator("nav").inner_text()
        assert "Payment history" not in nav and "Users" not in nav
        page.click(f"text={acc.licenses[0].id}")
        assert "Reveal" not in page.content() and "Deactivate" not in page.content()
        page.click("button:text('Log out')")
        page.wait_for_url(f"{server.url}/portal/login")

        _login(page, server.url, acc.number, COMPANY_PASSWORD)
        assert "(company login)" in page.inner_text("header")
        page.click(f"text={acc.licenses[0].id}")
        assert page.locator("text=Deactivate…").count() == 1  # technical by default
    finally:
        page.context.close()
