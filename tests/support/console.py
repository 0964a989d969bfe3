"""Staff console fixtures: staff accounts of each role and a test client that
behaves like a browser on HTTPS (cookies, the CSRF token the last page gave,
a same-origin Referer). CSRF protection stays ON."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from licserver.extensions import db
from licserver.runtime import context
from licserver.services import staff as staff_service
from tests.support.portal import Browser

BASE = "https://console.test"
PASSWORD = "staff password 1"


class Console(Browser):
    """The portal's test browser (cookies, the CSRF token the last page gave, a
    same-origin Referer; an app context per request) on the console."""

    base = BASE
    login_page = "/admin/login"
    fresh_session = ("/admin/login", "/admin/logout")

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
            context(),
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
