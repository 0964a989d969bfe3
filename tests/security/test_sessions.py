"""Server-side log-out: a portal session cookie, replayed after its log-out or
after a password change, no longer logs anyone in."""

from __future__ import annotations

from tests.support.portal import COMPANY_PASSWORD, PASSWORD, AccountMaker, Browser, BrowserMaker

DOMAIN = "portal.test"
COOKIE = "licserver_portal"


def _cookie(browser: Browser) -> str:
    cookie = browser.client.get_cookie(COOKIE, domain=DOMAIN)
    assert cookie is not None, "no session cookie"
    return cookie.value


def _replayed(new_browser: BrowserMaker, cookie: str) -> Browser:
    """Another browser (an attacker's) holding a copy of the cookie."""
    thief = new_browser()
    thief.client.set_cookie(COOKIE, cookie, domain=DOMAIN)
    return thief


def _logged_in(browser: Browser) -> bool:
    r = browser.get("/portal/licenses")
    if r.status_code == 200:
        return True
    assert r.status_code == 302 and "/portal/login" in r.headers["Location"]
    return False


def test_a_cookie_replayed_after_logout_is_refused(
    make_account: AccountMaker, browser: Browser, new_browser: BrowserMaker
) -> None:
    acc = make_account(activations=0)
    assert browser.login(acc.emails["owner"]).status_code == 302
    cookie = _cookie(browser)
    assert _logged_in(_replayed(new_browser, cookie))  # a copy works while the session lives

    assert browser.logout().status_code == 302
    assert not _logged_in(_replayed(new_browser, cookie))
    assert not _logged_in(browser)
    # logging in again makes a new session that works
    assert browser.login(acc.emails["owner"]).status_code == 302
    assert _logged_in(browser)
    assert not _logged_in(_replayed(new_browser, cookie))


def test_a_password_change_ends_the_other_sessions(
    make_account: AccountMaker, browser: Browser, new_browser: BrowserMaker
) -> None:
    acc = make_account(activations=0)
    other = new_browser()
    other.login(acc.emails["basic"])
    browser.login(acc.emails["basic"])
    old_cookie = _cookie(browser)
    browser.get("/portal/account")
    r = browser.post(
        "/portal/account/password",
        {
            "password-current": PASSWORD,
            "password-password": "a better password",
            "password-confirm": "a better password",
        },
    )
    assert r.status_code == 302
    assert _logged_in(browser)  # the one who changed it stays logged in
    assert not _logged_in(other)
    assert not _logged_in(_replayed(new_browser, old_cookie))


def test_the_company_login_logs_out_server_side_too(
    make_account: AccountMaker, browser: Browser, new_browser: BrowserMaker
) -> None:
    acc = make_account(activations=0)
    assert browser.login(acc.number, COMPANY_PASSWORD).status_code == 302
    cookie = _cookie(browser)
    assert _logged_in(_replayed(new_browser, cookie))
    browser.logout()
    assert not _logged_in(_replayed(new_browser, cookie))
