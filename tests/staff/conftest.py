"""Staff console fixtures: staff accounts of each role and a test client that
behaves like a browser on HTTPS (cookies, the CSRF token the last page gave,
a same-origin Referer). CSRF protection stays ON."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from licserver.extensions import db
from licserver.services import staff as staff_service
from tests.e2e.conftest import _live_servers, live_server  # noqa: F401  (fixtures)
from tests.portal.conftest import make_account  # noqa: F401  (fixture)

BASE = "https://console.test"
PASSWORD = "staff password 1"
CSRF_RE = re.compile(r'name="(?:[\w-]*-)?csrf_token" type="hidden" value="([^"]+)"')


class Console:
    """The Flask test client as a browser on the console. Each request runs in
    an app context of its own, as it does when served (``g`` is per request)."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.token: str | None = None

    def _open(self, method: str, path: str, **kw: Any) -> TestResponse:
        with self.client.application.app_context():
            resp: TestResponse = self.client.open(
                path, method=method, base_url=BASE, buffered=True, **kw
            )
            return resp

    def get(self, path: str, **kw: Any) -> TestResponse:
        resp = self._open("GET", path, **kw)
        if resp.status_code == 200 and resp.mimetype == "text/html":
            found = CSRF_RE.search(resp.get_data(as_text=True))
            if found:
                self.token = found.group(1)
        return resp

    def csrf(self) -> str:
        if self.token is None:
            self.get("/admin/login", follow_redirects=True)
        assert self.token is not None
        return self.token

    def post(
        self, path: str, data: dict[str, Any] | None = None, *, csrf: bool = True, **kw: Any
    ) -> TestResponse:
        form = dict(data or {})
        if csrf:
            form.setdefault("csrf_token", self.csrf())
        headers = {"Referer": urljoin(BASE, path), **kw.pop("headers", {})}
        resp = self._open("POST", path, data=form, headers=headers, **kw)
        if resp.status_code == 302 and path.startswith(("/admin/login", "/admin/logout")):
            self.token = None  # a new session, a new token
        return resp

    def login(self, email: str, password: str = PASSWORD) -> TestResponse:
        resp = self.post("/admin/login", {"email": email, "password": password})
        if resp.status_code == 302 and resp.location.endswith("/admin/"):
            self.get("/admin/")
        return resp

    def logout(self) -> TestResponse:
        return self.post("/admin/logout")

    def text(self, path: str) -> str:
        resp = self.get(path)
        assert resp.status_code == 200, resp.status_code
        return resp.get_data(as_text=True)


@dataclass
class StaffAccount:
    email: str
    role: str
    public_id: str


StaffMaker = Callable[..., StaffAccount]


@pytest.fixture
def make_staff(app: Flask) -> StaffMaker:
    n = 0

    def make(role: str = "admin", email: str | None = None) -> StaffAccount:
        nonlocal n
        n += 1
        row = staff_service.create(
            db.session(),
            email=email or f"{role}{n}@vendor.test",
            name=f"{role.title()} {n}",
            role=role,
            password=PASSWORD,
        )
        acc = StaffAccount(row.email, row.role, row.public_id)
        db.session.remove()  # no read transaction left open in the test's context
        return acc

    return make


@pytest.fixture
def console(app: Flask) -> Console:
    return Console(app.test_client())


@pytest.fixture
def new_console(app: Flask) -> Callable[[], Console]:
    return lambda: Console(app.test_client())


@pytest.fixture
def admin_console(console: Console, make_staff: StaffMaker) -> Console:
    acc = make_staff("admin")
    assert console.login(acc.email).status_code == 302
    return console


@pytest.fixture
def support_console(new_console: Callable[[], Console], make_staff: StaffMaker) -> Console:
    acc = make_staff("support")
    c = new_console()
    assert c.login(acc.email).status_code == 302
    return c
