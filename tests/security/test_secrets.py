"""No secret leaves its own channel. A representative flow — customer and
licence created, activation, check-in, validation, refusals, invitation,
password reset, portal log-in and reveal, new activation password and key,
admin tokens — runs with every logger at DEBUG (SQL statements and their
parameters included, though SQL echo is off in production) and a real SMTP
server; then logs, every column of every event, every error body and every
email are searched for every secret made along the way."""

from __future__ import annotations

import logging
from email.message import EmailMessage
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from licserver.extensions import db
from licserver.models import Event
from tests.mail import SmtpServer, body_text
from tests.support.portal import Browser, link_in, mails_to, path_of

# aiosmtpd (tests/mail.py) logs the mail it receives at DEBUG.
TEST_SMTP_LOGGERS = ("mail.log", "asyncio")


class Recorder:
    """Every answer the flow gets, to search the error bodies afterwards."""

    def __init__(self) -> None:
        self.answers: list[TestResponse] = []

    def __call__(self, r: TestResponse) -> TestResponse:
        self.answers.append(r)
        return r

    def errors(self) -> list[str]:
        return [r.get_data(as_text=True) for r in self.answers if r.status_code >= 400]


def _other_last(text: str, choices: str) -> str:
    """``text`` with its last character changed (to one of two, never the same)."""
    return text[:-1] + (choices[0] if text[-1] != choices[0] else choices[1])


def _message_text(msg: EmailMessage) -> str:
    return f"{msg['Subject']}\n{msg['To']}\n{body_text(msg)}"


@pytest.fixture(
    params=[
        "text",
        "json",
    ]
)
def app_config(app_config: dict[str, Any], request: pytest.FixtureRequest) -> dict[str, Any]:
    """Both log formats: JSON adds a line per request (licserver.access)."""
    return {**app_config, "LOG_FORMAT": request.param}


def test_no_secret_leaves_its_channel(
    smtp: SmtpServer,
    app: Flask,
    client: FlaskClient,
    browser: Browser,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, SQL statements included
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)
    rec = Recorder()
    runner = app.test_cli_runner()
    secrets: dict[str, str] = {}  # name -> value
    own_mail: dict[str, str] = {}  # secret name -> the address whose email may carry it

    out = runner.invoke(args=["tokens", "create", "--name", "ops"])
    assert out.exit_code == 0, out.output
    token = secrets["admin token"] = out.output.strip()
    staff = {"Authorization": f"Bearer {token}"}

    def admin(method: str, path: str, **kw: Any) -> Any:
        r = rec(client.open(path, method=method, headers=staff, **kw))
        assert r.status_code in (200, 201), (path, r.get_json())
        return r.get_json()

    admin("POST", "/api/v1/products", json={"code": "cad", "name": "CAD"})
    secrets["company password"] = "Company-Pass-1234"
    cust = admin(
        "POST",
        "/api/v1/customers",
        json={"name": "Acme", "email": "owner@acme.test", "company_password": "Company-Pass-1234"},
    )
    lic = admin(
        "POST", "/api/v1/licenses", json={"product": "cad", "customer": cust["number"], "seats": 2}
    )
    secrets["licence key"], secrets["activation password"] = lic["key"], lic["activation_password"]

    # the product on a machine: activation, check-in, validation, refusals
    act = rec(
        client.post(
            "/api/v1/activations",
            json={
                "license_id": lic["id"],
                "activation_password": lic["activation_password"],
                "installation_id": "install-0001",
                "machine_name": "PC-1",
            },
        )
    ).get_json()
    secrets["activation token"] = act["activation_token"]
    r = rec(
        client.post(
            f"/api/v1/activations/{act['activation_id']}/checkin",
            json={"activation_token": act["activation_token"]},
        )
    )
    assert r.status_code == 200
    rec(client.post("/api/v1/validate", json={"license_key": lic["key"], "installation_id": "i-1"}))
    company = {"customer_number": cust["number"], "product": "cad"}
    again = rec(
        client.post(
            "/api/v1/activations",
            json={
                **company,
                "company_password": "Company-Pass-1234",
                "installation_id": "install-0002",
                "machine_name": "PC-2",
            },
        )
    )
    assert again.status_code == 201
    secrets["second activation token"] = again.get_json()["activation_token"]
    # wrong ones, carrying near-misses of the secrets: not echoed in the refusals
    near = {
        "near activation password": _other_last(lic["activation_password"], "01"),
        "near company password": "Company-Pass-12345",
        "near key": _other_last(lic["key"][:-10], "AB") + lic["key"][-10:],
    }
    secrets.update(near)
    for body in (
        {"license_id": lic["id"], "activation_password": near["near activation password"]},
        {**company, "company_password": near["near company password"]},
        {"license_key": near["near key"]},
    ):
        r = rec(
            client.post(
                "/api/v1/activations",
                json={**body, "installation_id": "install-0009", "machine_name": "X"},
            )
        )
        assert r.status_code == 401
    r = rec(
        client.post(
            f"/api/v1/activations/{act['activation_id']}/checkin",
            json={"activation_token": act["activation_token"][:-1] + "x"},
        )
    )
    assert r.status_code == 401

    # staff regenerate the secrets: new ones, old ones dead
    secrets["new activation password"] = admin(
        "POST", f"/api/v1/licenses/{lic['id']}/activation-password"
    )["activation_password"]
    secrets["new licence key"] = admin("POST", f"/api/v1/licenses/{lic['id']}/key")["key"]

    # the owner's invitation: its token is in that email only
    (invitation,) = mails_to(smtp, "owner@acme.test")
    link = link_in(invitation)
    secrets["invitation token"] = link.rsplit("/", 1)[1]
    own_mail["invitation token"] = "owner@acme.test"
    browser.get(path_of(link))
    secrets["owner password"] = "owner password one"
    r = rec(
        browser.post(
            path_of(link), {"password": "owner password one", "confirm": "owner password one"}
        )
    )
    assert r.status_code == 302, r.get_data(as_text=True)
    browser.logout()

    # a forgotten password: the reset token is in the reset email only
    browser.get("/portal/forgot")
    assert rec(browser.post("/portal/forgot", {"email": "owner@acme.test"})).status_code == 200
    reset = [m for m in mails_to(smtp, "owner@acme.test") if m is not invitation][-1]
    reset_link = link_in(reset)
    secrets["reset token"] = reset_link.rsplit("/", 1)[1]
    own_mail["reset token"] = "owner@acme.test"
    browser.get(path_of(reset_link))
    secrets["owner new password"] = "owner password two"
    r = rec(
        browser.post(
            path_of(reset_link), {"password": "owner password two", "confirm": "owner password two"}
        )
    )
    assert r.status_code == 302
    browser.logout()

    # portal log-in (a wrong password first) and the reveal of the licence's secrets
    rec(browser.post("/portal/login", {"login": "owner@acme.test", "password": "owner password"}))
    assert browser.login("owner@acme.test", "owner password two").status_code == 302
    r = rec(browser.post(f"/portal/licenses/{lic['id']}/reveal"))
    assert secrets["new activation password"] in r.get_data(as_text=True)  # its own channel

    # ---- the search -------------------------------------------------------------
    logs = "\n".join(
        f"{r.name} {r.levelname} {r.getMessage()} {r.__dict__!r}"
        for r in caplog.records
        if not r.name.startswith(TEST_SMTP_LOGGERS)  # the test's SMTP server, not ours
    )
    assert "activations" in logs  # the SQL log was really captured
    history = [
        " ".join(repr(getattr(e, c.key)) for c in Event.__table__.columns)
        for e in db.session.scalars(select(Event)).all()
    ]
    errors = rec.errors()
    assert len(errors) >= 5
    mails = {id(m): (m["To"], _message_text(m)) for m in smtp.messages}
    assert len(mails) >= 3  # invitation, reset, password changed

    for name, value in secrets.items():
        assert value not in logs, f"{name} in the logs"
        for line in history:
            assert value not in line, f"{name} in the history: {line}"
        for error in errors:
            assert value not in error, f"{name} in an error body: {error}"
        for to, text in mails.values():
            if own_mail.get(name) == to and (
                (name == "invitation token" and "invit" in text.lower())
                or (name == "reset token" and "reset" in text.lower() and "/reset/" in text)
            ):
                continue  # its own email
            assert value not in text, f"{name} in an email to {to}:\n{text}"
