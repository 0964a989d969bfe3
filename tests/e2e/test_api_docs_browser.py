"""/api/docs in headless Chromium against a real gunicorn: Swagger UI renders
the operations of our OpenAPI document, under our Content-Security-Policy,
with no request leaving the server's origin and no CSP violation."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.live import LiveServer
from tests.support.browser import CHROMIUM

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM) and os.environ.get("CI") != "true",
        reason="chromium is not installed (apt-get install chromium); CI runs these",
    ),
]


def test_swagger_ui_renders_under_our_csp(
    live_server: Callable[..., LiveServer], chromium: Any
) -> None:
    server = live_server(workers=1)
    origin = urlsplit(server.url).netloc
    requested: list[str] = []
    console: list[str] = []
    page = chromium.new_page()
    try:
        page.set_default_timeout(20000)
        page.on("request", lambda r: requested.append(r.url))
        page.on("console", lambda m: console.append(m.text))
        page.goto(f"{server.url}/api/docs")
        page.wait_for_selector(".opblock-summary-path")
        paths = page.locator(".opblock-summary-path").all_inner_texts()
    finally:
        page.close()

    assert any("/api/v1/activations" in text for text in paths)
    assert [u for u in requested if urlsplit(u).netloc not in (origin, "")] == []
    assert [m for m in console if "Content Security Policy" in m] == []
