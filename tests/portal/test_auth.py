"""Logging in and out: users, the company login, sessions, cookies, rate limits."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from licserver import create_app
from licserver.extensions import db
from licserver.models import Customer
from licserver.runtime import context
from tests.support.portal import (
    COMPANY_PASSWORD,
    PASSWORD,
    AccountMaker,
    Browser,
    BrowserMaker,
    text_of,
)

WRONG = "The email (or customer number) or the password is wrong."


def test_login_with_email_any_case_and_logout(make_account: AccountMaker, browser: Browser) -> None:
    acc = make_account()
    r = browser.login(acc.emails["technical"].upper())
    assert r.status_code == 302
    assert r.headers["Location"] == "/portal/licenses"
    page = text_of(browser.get("/portal/licenses"))
    assert "Technical User" in page and acc.number in page and "technical" in page

    r = browser.logout()
    assert r.status_code == 302
    r = browser.get("/portal/licenses")
    assert r.status_code == 302
    assert r.headers["Location"].startswith("/portal/login")


def test_wrong_password_and_unknown_address_get_the_same_answer(
    make_account: AccountMaker, browser: Browser
) -> None:
    acc = make_account()
    answers = []
    for login, password in [
        (acc.emails["owner"], "wrong password!"),
        ("nobody@nowhere.test", PASSWORD),
        (acc.number, "wrong password!"),
        ("C-ZZZZZZ", COMPANY_PASSWORD),
    ]:
        r = browser.post("/portal/login", {"login": login, "password": password})
        assert r.status_code == 401
        body = text_of(r)
        assert WRONG in body
        # the same page but for the echoed login and the form's CSRF token
        answers.append(re.sub(r'value="[^"]*"', "", body))
    assert len(set(answers)) == 1
    assert browser.get("/portal/licenses").status_code == 302


def test_an_invited_user_without_a_password_cannot_log_in(
    make_account: AccountMaker, browser: Browser, app: Flask
) -> None:
    acc = make_account()
    from licserver.services import customers as customer_service

    customer_service.add_user(
        context(),
        acc.number,
        email="new@acme.test",
        name="New",
        role="owner",
        licenses=None,
        invitation_ttl_hours=72,
    )
    r = browser.post("/portal/login", {"login": "new@acme.test", "password": ""})
    assert r.status_code == 200  # an empty form is not even a log-in attempt
    r = browser.post("/portal/login", {"login": "new@acme.test", "password": "anything at all"})
    assert r.status_code == 401


def test_session_cookie_is_httponly_samesite_lax_and_secure(
    make_account: AccountMaker, browser: Browser
) -> None:
    acc = make_account()
    r = browser.login(acc.emails["owner"])
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("licserver_portal=")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" in cookie  # PUBLIC_URL is not a local http:// address


@pytest.mark.parametrize(
    ("public_url", "setting", "secure"),
    [
        ("http://127.0.0.1:8000", "auto", False),
        ("http://localhost:8000", "auto", False),
        ("https://lic.example.com", "auto", True),
        ("http://lic.example.com", "auto", True),
        ("http://127.0.0.1:8000", "true", True),
        ("https://lic.example.com", "false", False),
    ],
)
def test_secure_cookies_outside_development(
    app_config: dict[str, Any], public_url: str, setting: str, secure: bool
) -> None:
    app = create_app({**app_config, "PUBLIC_URL": public_url, "SESSION_COOKIE_SECURE": setting})
    with app.app_context():
        assert app.config["SESSION_COOKIE_SECURE"] is secure
        assert app.config["SESSION_COOKIE_HTTPONLY"] is True
        assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
        db.engine.dispose()


def test_pages_carry_protective_headers(browser: Browser) -> None:
    r = browser.get("/portal/login")
    assert r.status_code == 200
    assert "script-src" not in r.headers["Content-Security-Policy"]  # default-src 'none'
    assert "default-src 'none'" in r.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Cache-Control"] == "no-store"
    assert "<script" not in text_of(r)


def test_next_goes_only_to_portal_pages(make_account: AccountMaker, browser: Browser) -> None:
    acc = make_account()
    r = browser.post(
        "/portal/login?next=/portal/history",
        {"login": acc.emails["basic"], "password": PASSWORD},
    )
    assert r.headers["Location"] == "/portal/history"
    browser.logout()
    for target in ("https://evil.test/", "//evil.test/portal/", "/api/v1/licenses"):
        r = browser.post(
            f"/portal/login?next={target}", {"login": acc.emails["basic"], "password": PASSWORD}
        )
        assert r.status_code == 302
        assert r.headers["Location"] == "/portal/licenses", target
        browser.logout()


# ---- the company login --------------------------------------------------------------


def test_company_login_has_the_role_the_owner_chose(
    make_account: AccountMaker, new_browser: BrowserMaker
) -> None:
    acc = make_account()
    company = new_browser()
    r = company.login(acc.number.lower(), COMPANY_PASSWORD)
    assert r.status_code == 302
    page = text_of(company.get(f"/portal/licenses/{acc.licenses[0].id}"))
    assert "company login" in page and "technical" in page
    assert "Reveal key and activation password" in page  # technical may see secrets
    assert company.get("/portal/payments").status_code == 403

    owner = new_browser()
    owner.login(acc.emails["owner"])
    owner.get("/portal/account")
    r = owner.post("/portal/account/company-login", {"login-enabled": "y", "login-role": "billing"})
    assert r.status_code == 302

    # the company login's next page already has the new role
    assert company.get("/portal/payments").status_code == 200
    r = company.post(f"/portal/licenses/{acc.licenses[0].id}/reveal")
    assert r.status_code == 403


def test_company_login_cannot_be_made_owner(make_account: AccountMaker, browser: Browser) -> None:
    acc = make_account()
    browser.login(acc.emails["owner"])
    r = browser.post("/portal/account/company-login", {"login-enabled": "y", "login-role": "owner"})
    assert r.status_code == 422
    cust = db.session.scalars(select(Customer).where(Customer.number == acc.number)).one()
    assert cust.company_login_role == "technical"


def test_owner_turns_the_company_login_off(
    make_account: AccountMaker, new_browser: BrowserMaker
) -> None:
    acc = make_account()
    company = new_browser()
    assert company.login(acc.number, COMPANY_PASSWORD).status_code == 302

    owner = new_browser()
    owner.login(acc.emails["owner"])
    r = owner.post("/portal/account/company-login", {"login-role": "technical"})  # box unticked
    assert r.status_code == 302

    # the open company session has ended, and a new log-in is refused
    assert company.get("/portal/licenses").status_code == 302
    r = new_browser().post("/portal/login", {"login": acc.number, "password": COMPANY_PASSWORD})
    assert r.status_code == 401
    # the company password still activates products: only the log-in is off
    cust = db.session.scalars(select(Customer).where(Customer.number == acc.number)).one()
    assert cust.company_password_hash is not None


def test_a_new_company_password_ends_company_sessions(
    make_account: AccountMaker, new_browser: BrowserMaker, client: Any
) -> None:
    acc = make_account()
    company = new_browser()
    company.login(acc.number, COMPANY_PASSWORD)
    owner = new_browser()
    owner.login(acc.emails["owner"])
    r = owner.post(
        "/portal/account/company-login",
        {"login-enabled": "y", "login-role": "technical", "login-new_password": "new-company-pw"},
    )
    assert r.status_code == 302
    assert company.get("/portal/licenses").status_code == 302
    assert new_browser().login(acc.number, COMPANY_PASSWORD).status_code == 401
    assert new_browser().login(acc.number, "new-company-pw").status_code == 302
    # and it is the password products activate with
    r = client.post(
        "/api/v1/activations",
        json={
            "customer_number": acc.number,
            "company_password": "new-company-pw",
            "product": acc.licenses[0].product,
            "installation_id": "company-install-1",
            "machine_name": "NEW-PC",
        },
    )
    assert r.status_code == 201, r.get_json()


def test_company_password_off_refuses_the_company_login(
    make_account: AccountMaker, new_browser: BrowserMaker
) -> None:
    acc = make_account()
    owner = new_browser()
    owner.login(acc.emails["owner"])
    r = owner.post(
        "/portal/account/company-login",
        {"login-enabled": "y", "login-role": "technical", "login-turn_off_password": "y"},
    )
    assert r.status_code == 302
    assert new_browser().login(acc.number, COMPANY_PASSWORD).status_code == 401


def test_company_login_has_no_profile(make_account: AccountMaker, browser: Browser) -> None:
    acc = make_account()
    browser.login(acc.number, COMPANY_PASSWORD)
    page = text_of(browser.get("/portal/account"))
    assert "logged in with the customer number" in page
    assert "Your password" not in page


# ---- sessions end when they should ------------------------------------------------


def test_changing_the_password_ends_other_sessions(
    make_account: AccountMaker, new_browser: BrowserMaker
) -> None:
    acc = make_account()
    laptop, phone = new_browser(), new_browser()
    laptop.login(acc.emails["manager"])
    phone.login(acc.emails["manager"])
    r = laptop.post(
        "/portal/account/password",
        {
            "password-current": PASSWORD,
            "password-password": "another good password",
            "password-confirm": "another good password",
        },
    )
    assert r.status_code == 302
    assert laptop.get("/portal/licenses").status_code == 200  # this one goes on
    assert phone.get("/portal/licenses").status_code == 302  # the other has ended
    assert new_browser().login(acc.emails["manager"]).status_code == 401
    assert new_browser().login(acc.emails["manager"], "another good password").status_code == 302


def test_wrong_current_password_changes_nothing(
    make_account: AccountMaker, browser: Browser, new_browser: BrowserMaker
) -> None:
    acc = make_account()
    browser.login(acc.emails["basic"])
    r = browser.post(
        "/portal/account/password",
        {
            "password-current": "not my password",
            "password-password": "another good password",
            "password-confirm": "another good password",
        },
    )
    assert r.status_code == 422
    assert "The current password is wrong." in text_of(r)
    assert new_browser().login(acc.emails["basic"]).status_code == 302


def test_a_removed_user_is_logged_out(
    make_account: AccountMaker, new_browser: BrowserMaker
) -> None:
    acc = make_account()
    basic = new_browser()
    basic.login(acc.emails["basic"])
    owner = new_browser()
    owner.login(acc.emails["owner"])
    r = owner.post(f"/portal/users/{acc.user_id('basic')}/remove")
    assert r.status_code == 302
    assert basic.get("/portal/licenses").status_code == 302


def test_a_demoted_user_loses_the_right_at_once(
    make_account: AccountMaker, new_browser: BrowserMaker
) -> None:
    acc = make_account()
    tech = new_browser()
    tech.login(acc.emails["technical"])
    assert tech.post(f"/portal/licenses/{acc.licenses[0].id}/reveal").status_code == 200
    owner = new_browser()
    owner.login(acc.emails["owner"])
    owner.post(f"/portal/users/{acc.user_id('technical')}", {"role": "basic"})
    assert tech.post(f"/portal/licenses/{acc.licenses[0].id}/reveal").status_code == 403


# ---- rate limits -------------------------------------------------------------------


@pytest.fixture
def limited_config(app_config: dict[str, Any]) -> dict[str, Any]:
    app_config.update(
        RATE_LIMITS="on",
        PORTAL_LOGIN_LIMIT="3 per hour",
        PORTAL_IP_LIMIT="8 per minute",
        PORTAL_RESET_LIMIT="2 per hour",
    )
    return app_config


def test_failed_logins_are_limited_per_account(
    limited_config: dict[str, Any], make_account: AccountMaker, new_browser: BrowserMaker
) -> None:
    acc = make_account()
    b = new_browser()
    for _ in range(3):
        r = b.post("/portal/login", {"login": acc.emails["owner"], "password": "guess!"})
        assert r.status_code == 401
    # the account's allowance is spent: the right password gets the same 429
    r = b.post("/portal/login", {"login": acc.emails["owner"].upper(), "password": PASSWORD})
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) > 0
    assert "Too many attempts" in text_of(r)
    # another account from the same address is not locked
    assert b.login(acc.emails["basic"]).status_code == 302


def test_successful_logins_do_not_spend_the_account_allowance(
    limited_config: dict[str, Any], make_account: AccountMaker, new_browser: BrowserMaker
) -> None:
    acc = make_account()
    for _ in range(4):
        assert new_browser().login(acc.emails["owner"]).status_code == 302


def test_login_and_reset_requests_are_limited_per_ip(
    limited_config: dict[str, Any], browser: Browser
) -> None:
    for i in range(8):
        path, form = (
            ("/portal/login", {"login": f"u{i}@x.test", "password": "p"})
            if i % 2
            else ("/portal/forgot", {"email": f"u{i}@x.test"})
        )
        assert browser.post(path, form).status_code in (200, 401)
    r = browser.post("/portal/login", {"login": "other@x.test", "password": "p"})
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) > 0


def test_rate_limits_off_means_off(
    app_config: dict[str, Any], make_account: AccountMaker, browser: Browser
) -> None:
    app_config.update(RATE_LIMITS="off", PORTAL_LOGIN_LIMIT="1 per hour", PORTAL_IP_LIMIT="1/hour")
    acc = make_account()
    for _ in range(3):
        r = browser.post("/portal/login", {"login": acc.emails["owner"], "password": "guess!"})
        assert r.status_code == 401
    assert browser.login(acc.emails["owner"]).status_code == 302
