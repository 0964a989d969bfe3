"""Every form is protected against cross-site requests: a post without the
session's CSRF token, with another session's token, or (over HTTPS) from
another site is refused and changes nothing."""

from __future__ import annotations

import pytest

from tests.support.portal import AccountMaker, Browser, BrowserMaker, Staff, text_of

pytestmark = pytest.mark.usefixtures("app")


def _seats_used(staff: Staff, license_id: str) -> int:
    used: int = staff.get(f"/api/v1/licenses/{license_id}").get_json()["seats_used"]
    return used


def test_post_without_token_is_refused(
    make_account: AccountMaker, staff: Staff, browser: Browser
) -> None:
    acc = make_account()
    lic, act = acc.licenses[0], acc.activations[0]
    browser.login(acc.emails["owner"])
    path = f"/portal/licenses/{lic.id}/installations/{act['activation_id']}/deactivate"
    r = browser.post(path, {"reason": "stolen"}, csrf=False)
    assert r.status_code == 400
    assert "Form expired" in text_of(r)
    assert _seats_used(staff, lic.id) == 1
    # with the page's token the same post goes through
    assert browser.post(path, {"reason": "stolen"}).status_code == 302
    assert _seats_used(staff, lic.id) == 0


def test_token_of_another_session_is_refused(
    make_account: AccountMaker, staff: Staff, new_browser: BrowserMaker
) -> None:
    acc = make_account()
    attacker = new_browser()
    attacker.login(acc.emails["basic"])
    stolen = attacker.csrf()
    victim = new_browser()
    victim.login(acc.emails["owner"])
    r = victim.post(f"/portal/licenses/{acc.licenses[0].id}/reveal", {"csrf_token": stolen})
    assert r.status_code == 400
    assert acc.licenses[0].activation_password not in text_of(r)


def test_cross_site_referer_is_refused_over_https(
    make_account: AccountMaker, browser: Browser
) -> None:
    acc = make_account()
    browser.login(acc.emails["owner"])
    r = browser.post(
        f"/portal/users/{acc.user_id('basic')}/remove",
        headers={"Referer": "https://evil.test/page"},
    )
    assert r.status_code == 400
    users = text_of(browser.get("/portal/users"))
    assert acc.emails["basic"] in users


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/portal/login", {"login": "owner@acme.test", "password": "correct horse battery"}),
        ("/portal/forgot", {"email": "owner@acme.test"}),
        ("/portal/logout", {}),
    ],
)
def test_forms_for_logged_out_visitors_need_the_token_too(
    make_account: AccountMaker, browser: Browser, path: str, form: dict[str, str]
) -> None:
    make_account()
    r = browser.post(path, form, csrf=False)
    assert r.status_code == 400
    assert browser.get("/portal/licenses").status_code == 302  # not logged in


def test_logout_needs_the_token(make_account: AccountMaker, browser: Browser) -> None:
    acc = make_account()
    browser.login(acc.emails["owner"])
    assert browser.post("/portal/logout", csrf=False).status_code == 400
    assert browser.get("/portal/licenses").status_code == 200  # still logged in


def test_the_json_api_is_not_affected(staff: Staff, make_account: AccountMaker) -> None:
    acc = make_account()
    r = staff.post(f"/api/v1/licenses/{acc.licenses[0].id}/suspend")
    assert r.status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "https://evil.test"},
    ],
)
def test_posts_from_another_site_are_refused_without_a_referer(
    make_account: AccountMaker, browser: Browser, headers: dict[str, str]
) -> None:
    """Every page is sent with Referrer-Policy: no-referrer; the browser's
    Sec-Fetch-Site and Origin headers say where a post comes from instead."""
    acc = make_account()
    browser.login(acc.emails["owner"])
    r = browser.post(
        f"/portal/users/{acc.user_id('basic')}/remove", headers={"Referer": "", **headers}
    )
    assert r.status_code == 400
    assert acc.emails["basic"] in text_of(browser.get("/portal/users"))
    # the same post as a browser under no-referrer sends it: accepted
    r = browser.post(
        f"/portal/users/{acc.user_id('basic')}/remove",
        headers={"Referer": "", "Origin": "null", "Sec-Fetch-Site": "same-origin"},
    )
    assert r.status_code == 302


@pytest.mark.parametrize("token", [None, "wapiti"])
def test_prefixed_forms_check_their_token(
    make_account: AccountMaker, browser: Browser, token: str | None
) -> None:
    """The Account page's forms carry their token as ``company-csrf_token``
    (one WTForms prefix per form); wapiti's csrf module knows only unprefixed
    names and reported them as without a token. A post without it, or with
    a wrong one, is refused and changes nothing."""
    acc = make_account()
    browser.login(acc.emails["owner"])
    assert 'name="company-csrf_token"' in browser.get("/portal/account").get_data(as_text=True)
    form = {"company-name": "Renamed By Forgery", "company-email": acc.emails["owner"]}
    if token is not None:
        form["company-csrf_token"] = token
    r = browser.post("/portal/account/company", form, csrf=False)
    assert r.status_code == 400
    assert "Renamed By Forgery" not in text_of(browser.get("/portal/account"))
    # the page's own token, under the form's prefix, goes through
    form["company-csrf_token"] = browser.csrf()
    assert browser.post("/portal/account/company", form, csrf=False).status_code == 302
    assert "Renamed By Forgery" in text_of(browser.get("/portal/account"))
