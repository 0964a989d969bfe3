"""Offline activation fixtures: the portal as a browser uses it (tests/portal),
the SDK on a "machine" without a network (its own state folder and
installation ID), and, for the online round trip, the SDK tests' gunicorn."""

from __future__ import annotations

import html
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from licclient import LicenseClient

from tests.portal.conftest import Browser, text_of
from tests.portal.conftest import browser as browser  # noqa: F401  (fixtures)
from tests.portal.conftest import make_account as make_account  # noqa: F401
from tests.sdk.conftest import _sdk_servers, clock, server  # noqa: F401
from tests.staff.conftest import console as console  # noqa: F401
from tests.staff.conftest import make_staff as make_staff  # noqa: F401

OFFLINE_URL = "http://licserver.invalid"  # an air-gapped machine never reaches it


@pytest.fixture
def keys(client: FlaskClient) -> dict[str, str]:
    """The server's public keys, as a vendor pins them in the product."""
    r = client.get("/api/v1/keys")
    assert r.status_code == 200
    return {k["kid"]: k["public_key"] for k in r.get_json()["keys"]}


Machine = Callable[..., LicenseClient]


@pytest.fixture
def machine(tmp_path: Path, keys: dict[str, str]) -> Machine:
    """``machine(product, name="lab-1")``: the SDK on one offline machine (its own
    state folder and installation ID per name)."""

    def make(product: str, name: str = "lab-1", **kw: Any) -> LicenseClient:
        kw.setdefault("public_keys", keys)
        kw.setdefault("installation_id", f"{name}-{secrets.token_hex(6)}")
        kw.setdefault("state_dir", tmp_path / f"state-{name}")
        return LicenseClient(kw.pop("server_url", OFFLINE_URL), product=product, **kw)

    return make


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
