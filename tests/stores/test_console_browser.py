"""The console's integration page in headless Chromium (JavaScript off)
against a real gunicorn: add an integration, copy its URL, post a signed
event to it, see it in the log, re-apply it after fixing the mapping."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest

from licserver.extensions import db
from licserver.runtime import context
from licserver.services import staff as staff_service
from tests.live import LiveServer
from tests.stores import fixtures as f
from tests.support import loopback
from tests.support.browser import CHROMIUM, chromium, new_page  # noqa: F401  (fixture)
from tests.support.servers import _live_servers, live_server  # noqa: F401  (fixtures)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM) and os.environ.get("CI") != "true",
        reason="chromium is not installed (apt-get install chromium); CI runs these",
    ),
]
PASSWORD = "staff password 1"


def test_create_copy_receive_reapply(
    live_server: Callable[..., LiveServer],  # noqa: F811
    product: str,
    chromium: Any,  # noqa: F811
) -> None:
    server = live_server(workers=2)
    staff_service.create(
        context(), email="shop@vendor.test", name="Shop", role="admin", password=PASSWORD
    )
    db.session.remove()
    page = new_page(chromium, javascript=False)
    try:
        page.goto(f"{server.url}/admin/login")
        page.fill("#email", "shop@vendor.test")
        page.fill("#password", PASSWORD)
        page.click("button.primary")
        page.wait_for_url(f"{server.url}/admin/")
        page.click("nav >> text=Stores")
        page.select_option("#provider", "generic")
        page.fill("#name", "Own checkout")
        page.fill("#signing_secret", "browser-secret-1")
        page.click("#add")
        page.locator("#webhook-url").wait_for()
        url = page.input_value("#webhook-url")
        integ_id = url.split("/")[-2]
        assert url.endswith(f"/api/v1/integrations/{integ_id}/events")
        assert page.get_attribute("#webhook-url", "readonly") is not None
        page.click("#copy-url")
        assert "press Ctrl+C" in page.inner_text("#copy-hint")
        # the #webhook-url fragment moves the focus to the box: once the page has
        # loaded and scrolled to it, which a loaded machine can take a moment over
        page.wait_for_function("document.activeElement && document.activeElement.id")
        assert page.evaluate("document.activeElement.id") == "webhook-url"

        body = f.dumps(
            f.generic(
                "g-b1", "order.paid", email="b@example.com", order="B-1", items=[{"item": "rp"}]
            )
        )
        headers = f.headers("generic", "browser-secret-1", body)
        r = loopback.post(
            f"{server.url}/api/v1/integrations/{integ_id}/events", content=body, headers=headers
        )
        assert r.status_code == 200 and r.json()["received"][0]["outcome"] == "failed"

        page.reload()
        row = page.locator("#event-g-b1")
        assert "failed" in row.inner_text() and "Unknown store item" in row.inner_text()
        page.fill("#items-0-store_item", "rp")
        page.fill("#items-0-product", "ruler")
        page.click("#save")
        page.locator("#event-g-b1 button.reapply").click()
        page.locator("#event-g-b1 .outcome").wait_for()
        assert page.inner_text("#event-g-b1 .outcome") == "applied"
        assert "L-" in page.inner_text("#event-g-b1")
    finally:
        page.context.close()
