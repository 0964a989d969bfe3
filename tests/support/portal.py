"""Portal fixtures: accounts with a user of every role, and a test client that
behaves like a browser on HTTPS (session cookie, CSRF token, Referer).

CSRF protection stays ON in these tests: every POST carries the token a page
of the portal handed out, as a browser's would.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any
from urllib.parse import urljoin

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from licserver.crypto import hash_password
from licserver.extensions import db
from licserver.models import Customer, User
from licserver.runtime import context
from licserver.services import customers as customer_service
from tests.mail import SmtpServer, body_text, with_smtp
from tests.support.factory import Factory, IssuedLicense

BASE = "https://portal.test"
PASSWORD = "correct horse battery"
ROLES = ("basic", "billing", "technical", "manager", "owner")
COMPANY_PASSWORD = "company-password-1"

_HASH: dict[str, str] = {}


def password_hash(password: str = PASSWORD) -> str:
    """One argon2id hash per password for the whole run: hashing is slow on purpose."""
    if password not in _HASH:
        _HASH[password] = hash_password(password)
    return _HASH[password]


CSRF_RE = re.compile(r'name="(?:[\w-]*-)?csrf_token" type="hidden" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF_RE.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


_FRESH_SESSION = ("/portal/login", "/portal/logout", "/portal/invitation/", "/portal/reset/")


class Browser:
    """The Flask test client as a browser on HTTPS: it keeps the cookies,
    sends the CSRF token the last page gave, and a same-origin Referer.

    Each request runs in an app context of its own, as it does when served:
    the test's own context (the ``app`` fixture keeps one open) would
    otherwise share ``g`` — where Flask-Login and Flask-WTF keep the request's
    user and token — across requests.

    The staff console's ``Console`` is the same browser on another site: it
    sets the three class attributes below."""

    base = BASE
    login_page = "/portal/login"
    fresh_session: tuple[str, ...] = _FRESH_SESSION

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.token: str | None = None

    def _open(self, method: str, path: str, **kw: Any) -> TestResponse:
        with self.client.application.app_context():
            resp: TestResponse = self.client.open(
                path, method=method, base_url=self.base, buffered=True, **kw
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
            # the log-in form, or (logged in) the page it sends on to
            self.get(self.login_page, follow_redirects=True)
        assert self.token is not None
        return self.token

    def post(
        self, path: str, data: dict[str, Any] | None = None, *, csrf: bool = True, **kw: Any
    ) -> TestResponse:
        form = dict(data or {})
        if csrf:
            form.setdefault("csrf_token", self.csrf())
        headers = {"Referer": urljoin(self.base, path), **kw.pop("headers", {})}
        resp = self._open("POST", path, data=form, headers=headers, **kw)
        if resp.status_code == 302 and path.startswith(self.fresh_session):
            self.token = None  # logging in or out starts a new session, with a new token
        return resp

    def logout(self) -> TestResponse:
        return self.post("/portal/logout")

    def login(self, login: str, password: str = PASSWORD) -> TestResponse:
        resp = self.post("/portal/login", {"login": login, "password": password})
        if resp.status_code == 302:
            self.get("/portal/licenses")
        return resp


@dataclass
class Account:
    number: str
    customer_id: int
    emails: dict[str, str]  # role -> email
    licenses: list[IssuedLicense]
    activations: list[dict[str, Any]] = field(default_factory=list)

    def user_id(self, role: str) -> int:
        uid = db.session.scalar(select(User.id).where(User.email == self.emails[role]))
        assert uid is not None
        return int(uid)


def activate(client: FlaskClient, lic: IssuedLicense, machine: str, iid: str) -> dict[str, Any]:
    """What the product does on a customer's machine: the real client API."""
    resp = client.post(
        "/api/v1/activations",
        json={
            "license_id": lic.id,
            "activation_password": lic.activation_password,
            "installation_id": iid,
            "machine_name": machine,
            "client": {"app_version": "2.1.0", "os": "Windows 11"},
        },
    )
    assert resp.status_code == 201, resp.get_json()
    body: dict[str, Any] = resp.get_json()
    return body


def set_password(email: str) -> None:
    user = db.session.scalars(select(User).where(User.email == email)).one()
    user.password_hash = password_hash()
    user.invite_token_hash = None
    db.session.commit()


AccountMaker = Callable[..., Account]


@pytest.fixture
def make_account(app: Flask, factory: Factory, client: FlaskClient) -> AccountMaker:
    """``make_account("acme")``: a customer with a user of every role (passwords
    set), two licences of one product and one active installation on the first."""

    def make(
        tag: str = "acme",
        *,
        company_password: str | None = COMPANY_PASSWORD,
        activations: int = 1,
    ) -> Account:
        product = factory.product(f"{tag}-cad", name=f"{tag.title()} CAD")
        number = factory.customer(email=f"owner@{tag}.test", name=f"{tag.title()} Ltd")
        emails = {"owner": f"owner@{tag}.test"}
        for role in ROLES[:-1]:
            emails[role] = f"{role}@{tag}.test"
            customer_service.add_user(
                context(),
                number,
                email=emails[role],
                name=f"{role.title()} User",
                role=role,
                licenses=None,
                invitation_ttl_hours=72,
            )
        for email in emails.values():
            set_password(email)
        lics = [factory.license(product, number, seats=3), factory.license(product, number)]
        cust = db.session.scalars(select(Customer).where(Customer.number == number)).one()
        if company_password:
            cust.company_password_hash = password_hash(company_password)
            db.session.commit()
        acc = Account(number, cust.id, emails, lics)
        for i in range(activations):
            acc.activations.append(
                activate(client, lics[0], f"{tag.upper()}-PC-{i + 1:02d}", f"{tag}-install-{i:04d}")
            )
        return acc

    return make


@pytest.fixture
def browser(app: Flask) -> Browser:
    return Browser(app.test_client())


BrowserMaker = Callable[[], Browser]


@pytest.fixture
def new_browser(app: Flask) -> BrowserMaker:
    return lambda: Browser(app.test_client())


def text_of(resp: TestResponse) -> str:
    return resp.get_data(as_text=True)


@pytest.fixture
def smtp(app_config: dict[str, Any], smtp_server: SmtpServer) -> SmtpServer:
    """The app's mail goes to a real SMTP server on loopback. Ask for this
    fixture before ``app`` (or anything using it) in a test's arguments."""
    with_smtp(app_config, smtp_server)
    return smtp_server


LINK_RE = re.compile(r"https?://\S+/portal/(?:invitation|reset)/[\w-]+")


def link_in(msg: EmailMessage) -> str:
    found = LINK_RE.search(body_text(msg))
    assert found, body_text(msg)
    return found.group(0)


def path_of(link: str) -> str:
    return "/" + link.split("/", 3)[3]


def mails_to(server: SmtpServer, address: str) -> list[EmailMessage]:
    return [m for m in server.messages if m["To"] == address]


class Staff:
    """The admin API with a full-scope token, each request in an app context
    of its own (a fresh database session), as a separate client would be."""

    def __init__(self, client: FlaskClient, token: str) -> None:
        self.client, self.token = client, token

    def _open(self, method: str, path: str, **kw: Any) -> TestResponse:
        headers = {"Authorization": f"Bearer {self.token}", **kw.pop("headers", {})}
        with self.client.application.app_context():
            resp: TestResponse = self.client.open(
                path, method=method, headers=headers, buffered=True, **kw
            )
            return resp

    def get(self, path: str, **kw: Any) -> TestResponse:
        return self._open("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> TestResponse:
        return self._open("POST", path, **kw)


@pytest.fixture
def portal_staff(app: Flask, admin_token: str) -> Staff:
    """The admin API through the test client (``staff`` in tests/portal and the
    folders that alias it; ``staff`` elsewhere is tests/support/sdk.py's)."""
    return Staff(app.test_client(), admin_token)
