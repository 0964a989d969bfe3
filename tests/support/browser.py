"""Fixture ``chromium``: headless Chromium (Debian's ``chromium``, driven by
Playwright), one per test module; ``new_page(chromium)`` opens a page in a
fresh context that records the dialogs it dismissed (a plugin, registered in
``tests/conftest.py``). Browser test modules skip where chromium is absent and
CI is not "true", and so does a test taking ``chromium`` (``CHROMIUM`` names
the executable)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM) and os.environ.get("CI") != "true":
        pytest.skip("chromium is not installed (apt-get install chromium); CI runs these")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def new_page(chromium: Any, *, javascript: bool = True, bypass_csp: bool = False) -> Any:
    """``bypass_csp``: for a test that injects its own script (axe-core), which the
    pages' Content-Security-Policy rightly refuses."""
    context = chromium.new_context(
        viewport={"width": 1280, "height": 800},
        java_script_enabled=javascript,
        bypass_csp=bypass_csp,
    )
    page = context.new_page()
    page.set_default_timeout(15000)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.dialogs = dialogs
    return page


def staff_login(page: Any, base_url: str, email: str, password: str) -> None:
    """Log ``page`` in to the staff console (a staff account without TOTP)."""
    page.goto(f"{base_url}/admin/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button.primary")
    page.wait_for_url(f"{base_url}/admin/")
