"""Logging in and out of the console, the TOTP second factor, CSRF, and the
wall between console and portal sessions."""

from __future__ import annotations

import time
from collections.abc import Callable

from licserver.domain import staff as rules
from tests.support.console import PASSWORD, Console, StaffMaker
from tests.support.portal import AccountMaker, Browser


def test_not_logged_in_goes_to_the_login_page(console: Console) -> None:
    resp = console.get("/admin/")
    assert resp.status_code == 302 and "/admin/login" in resp.location
    resp = console.get("/admin/licenses/L-AAAA-BBBB")
    assert resp.status_code == 302
    assert "next=/admin/licenses/L-AAAA-BBBB" in resp.location


def test_login_then_logout_and_the_old_cookie_is_refused(
    console: Console, make_staff: StaffMaker
) -> None:
    acc = make_staff("support")
    assert console.login(acc.email, "wrong password!").status_code == 401
    resp = console.login(acc.email)
    assert resp.status_code == 302
    page = console.text("/admin/")
    assert "Support 1" in page and "Log out" in page

    # a copy of the cookie, as a thief would keep it
    stolen = console.client.get_cookie("licserver_console", domain="console.test")
    assert stolen is not None
    assert console.logout().status_code == 302
    assert console.get("/admin/").status_code == 302

    console.client.set_cookie(stolen.key, stolen.value, domain="console.test")
    resp = console.get("/admin/")
    assert resp.status_code == 302 and "/admin/login" in resp.location


def test_login_keeps_to_next_inside_the_console_only(
    console: Console, make_staff: StaffMaker
) -> None:
    acc = make_staff("support")
    resp = console.post(
        "/admin/login?next=/admin/customers/C-000000",
        {"email": acc.email, "password": PASSWORD},
    )
    assert resp.location.endswith("/admin/customers/C-000000")
    console.logout()
    resp = console.post(
        "/admin/login?next=//evil.test/x", {"email": acc.email, "password": PASSWORD}
    )
    assert resp.location.endswith("/admin/")


def test_a_disabled_account_can_no_longer_log_in_and_its_sessions_end(
    admin_console: Console, new_console: Callable[[], Console], make_staff: StaffMaker
) -> None:
    acc = make_staff("support")
    other = new_console()
    assert other.login(acc.email).status_code == 302
    assert other.get("/admin/").status_code == 200

    page = admin_console.text("/admin/staff")
    assert acc.email in page
    resp = admin_console.post(f"/admin/staff/{acc.public_id}/disable")
    assert resp.status_code == 302

    assert other.get("/admin/").status_code == 302
    assert new_console().login(acc.email).status_code == 401


def test_totp_enrolment_then_login_asks_for_a_code_that_works_once(
    console: Console, new_console: Callable[[], Console], make_staff: StaffMaker
) -> None:
    acc = make_staff("admin")
    console.login(acc.email)
    page = console.text("/admin/account")
    secret = page.split('id="totp-secret">')[1].split("<")[0]
    assert "otpauth://totp/licserver%3A" in page

    wrong = console.post("/admin/account/totp", {"code": "000000"})
    assert wrong.status_code == 302
    assert "does not match" in console.text("/admin/account")
    code = rules.totp(secret, time.time())
    if code == "000000":  # pragma: no cover - one in a million
        return
    assert console.post("/admin/account/totp", {"code": code}).status_code == 302
    assert "Second factor on" in console.text("/admin/account")
    # the session that turned it on goes on; others made before it end

    second = new_console()
    resp = second.login(acc.email)
    assert resp.status_code == 302 and resp.location.endswith("/admin/login/code")
    # the password alone does not open the console
    assert second.get("/admin/").status_code == 302
    second.get("/admin/login/code")
    # the code used to enrol was used: the same step is refused
    resp = second.post("/admin/login/code", {"code": code})
    assert resp.status_code == 401
    assert "wrong or was used" in resp.get_data(as_text=True)
    nxt = rules.totp(secret, time.time() + 30)
    resp = second.post("/admin/login/code", {"code": nxt})
    assert resp.status_code == 302 and resp.location.endswith("/admin/")
    assert second.get("/admin/").status_code == 200
    # and once more: replay of the code is refused
    third = new_console()
    third.login(acc.email)
    third.get("/admin/login/code")
    assert third.post("/admin/login/code", {"code": nxt}).status_code == 401


def test_posts_without_the_csrf_token_are_refused(admin_console: Console, factory: object) -> None:
    resp = admin_console.post("/admin/tokens", {"name": "ci", "scope": "read"}, csrf=False)
    assert resp.status_code == 400
    assert "Form expired" in resp.get_data(as_text=True)
    resp = admin_console.post(
        "/admin/tokens", {"name": "ci", "scope": "read", "csrf_token": "forged"}
    )
    assert resp.status_code == 400
    assert "No tokens." in admin_console.text("/admin/tokens")
    # logging in is a form too
    fresh = Console(admin_console.client.application.test_client())
    resp = fresh.post("/admin/login", {"email": "a@b.test", "password": "x" * 12}, csrf=False)
    assert resp.status_code == 400


def test_portal_user_cannot_reach_admin_and_staff_cannot_reach_portal(
    app: object, make_account: AccountMaker, make_staff: StaffMaker, console: Console
) -> None:
    acc = make_account("acme")
    portal = Browser(console.client.application.test_client())
    assert portal.login(acc.emails["owner"]).status_code == 302
    assert portal.get("/portal/licenses").status_code == 200
    for path in ("/admin/", "/admin/tokens", f"/admin/customers/{acc.number}"):
        resp = portal.get(path)
        assert resp.status_code == 302 and "/admin/login" in resp.location, path
    # the same email as a portal user is no staff login either
    assert console.login(acc.emails["owner"]).status_code == 401

    staff = make_staff("admin")
    assert console.login(staff.email).status_code == 302
    resp = console.get("/portal/licenses")
    assert resp.status_code == 302 and "/portal/login" in resp.location


def test_portal_and_console_sessions_on_one_host_are_independent(
    app: object, make_account: AccountMaker, make_staff: StaffMaker, console: Console
) -> None:
    # one browser, one host serving both sites: two cookies, two sessions
    client = console.client.application.test_client()
    portal = Browser(client)
    admin = Console(client)
    admin.base = portal.base
    acc = make_account("acme")
    staff = make_staff("admin")

    assert portal.login(acc.emails["owner"]).status_code == 302
    resp = admin.get("/admin/")  # the portal's login opens no console
    assert resp.status_code == 302 and "/admin/login" in resp.location
    assert admin.login(staff.email).status_code == 302
    assert admin.get("/admin/").status_code == 200
    assert portal.get("/portal/licenses").status_code == 200  # still logged in there
    for name in ("licserver_portal", "licserver_console"):
        assert client.get_cookie(name, domain="portal.test") is not None, name

    portal.token = None
    assert portal.logout().status_code == 302  # leaving the portal...
    resp = portal.get("/portal/licenses")
    assert resp.status_code == 302 and "/portal/login" in resp.location
    assert admin.get("/admin/").status_code == 200  # ...leaves the console open

    admin.token = None
    assert admin.logout().status_code == 302
    resp = admin.get("/admin/")
    assert resp.status_code == 302 and "/admin/login" in resp.location
    resp = portal.get("/portal/licenses")  # and a console log-in never opened the portal
    assert resp.status_code == 302 and "/portal/login" in resp.location
