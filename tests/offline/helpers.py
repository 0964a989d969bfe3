"""Helpers of tests/offline (not fixtures): moved out of its conftest so test
modules import them from here."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from licclient import LicenseClient

from tests.support.portal import Browser, text_of

OFFLINE_URL = "http://licserver.invalid"  # an air-gapped machine never reaches it


Machine = Callable[..., LicenseClient]


TEXTAREA_RE = re.compile(r'<textarea id="certificate-text"[^>]*>(.*?)</textarea>', re.S)


HIDDEN_RE = re.compile(r'name="certificate" type="hidden" value="([^"]+)"')


def issue(web: Browser, license_id: str, code: str) -> tuple[int, str, str | None]:
    """Paste a request code on the licence's offline page: (status, page, certificate text)."""
    url = f"/portal/licenses/{license_id}/offline"
    assert web.get(url).status_code == 200
    resp = web.post(url, {"request": code})
    page = text_of(resp)
    found = TEXTAREA_RE.search(page)
    return resp.status_code, page, html.unescape(found.group(1)) if found else None


def download(web: Browser, license_id: str, page: str) -> tuple[int, str, str]:
    """Press the page's download button: (status, Content-Disposition, file text)."""
    found = HIDDEN_RE.search(page)
    assert found, "no download form on the page"
    resp = web.post(
        f"/portal/licenses/{license_id}/offline/certificate",
        {"certificate": html.unescape(found.group(1))},
    )
    return resp.status_code, resp.headers.get("Content-Disposition", ""), text_of(resp)


def redeem(web: Browser, license_id: str, code: str) -> tuple[int, str]:
    """Paste a deactivation code on the licence's page: (status, page after redirects)."""
    url = f"/portal/licenses/{license_id}/offline/deactivate"
    assert web.get(url).status_code == 200
    resp = web.post(url, {"code": code})
    if resp.status_code == 302:
        follow = web.get(resp.headers["Location"])
        return 302, text_of(follow)
    return resp.status_code, text_of(resp)
