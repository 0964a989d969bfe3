"""Forgotten passwords and invitations: emailed single-use links, through a
real SMTP server on loopback."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from licserver.extensions import db
from licserver.models import User, utcnow
from tests.mail import SmtpServer, body_text
from tests.support.portal import (
    PASSWORD,
    AccountMaker,
    Browser,
    BrowserMaker,
    Staff,
    link_in,
    path_of,
    text_of,
)

NEW = "my new long password"


def _ask(browser: Browser, email: str) -> str:
    r = browser.post("/portal/forgot", {"email": email})
    assert r.status_code == 200
    return text_of(r)


def test_forgot_password_answers_the_same_whether_or_not_the_address_exists(
    smtp: SmtpServer, make_account: AccountMaker, browser: Browser
) -> None:
    acc = make_account()
    known = _ask(browser, acc.emails["basic"])
    unknown = _ask(browser, "nobody@acme.test")
    assert "Check your email" in known
    assert known.replace(acc.emails["basic"], "X") == unknown.replace("nobody@acme.test", "X")
    # only the real address got mail
    msgs = smtp.wait_for(1)
    assert [m["To"] for m in msgs] == [acc.emails["basic"]]


def test_reset_email_and_link_work_once(
    smtp: SmtpServer, make_account: AccountMaker, browser: Browser, new_browser: BrowserMaker
) -> None:
    acc = make_account()
    _ask(browser, acc.emails["technical"])
    (msg,) = smtp.wait_for(1)
    assert msg["Subject"] == "Reset your licence portal password"
    body = body_text(msg)
    assert "Hello Technical User" in body
    assert "works once, for 60 minutes" in body
    link = link_in(msg)
    assert link.startswith("http://licserver.test/portal/reset/")

    page = browser.get(path_of(link))
    assert page.status_code == 200
    assert acc.emails["technical"] in text_of(page)
    r = browser.post(path_of(link), {"password": NEW, "confirm": NEW})
    assert r.status_code == 302  # logged in with the new password
    assert browser.get("/portal/licenses").status_code == 200

    # the old password is gone, the new one works
    assert new_browser().login(acc.emails["technical"]).status_code == 401
    assert new_browser().login(acc.emails["technical"], NEW).status_code == 302
    # a security notice tells the user
    changed = smtp.wait_for(2)[1]
    assert changed["To"] == acc.emails["technical"]
    assert changed["Subject"] == "Your licence portal password was changed"

    # the link is spent: neither showing nor using it works again
    other = new_browser()
    assert other.get(path_of(link)).status_code == 404
    r = other.post(
        path_of(link), {"password": "yet another password", "confirm": "yet another password"}
    )
    assert r.status_code == 404
    assert "not valid" in text_of(r)
    assert new_browser().login(acc.emails["technical"], "yet another password").status_code == 401


def test_an_expired_reset_link_does_not_work(
    smtp: SmtpServer, make_account: AccountMaker, browser: Browser, new_browser: BrowserMaker
) -> None:
    acc = make_account()
    _ask(browser, acc.emails["owner"])
    link = link_in(smtp.wait_for(1)[0])
    # an hour and a bit later
    db.session.rollback()  # end the test's read transaction before writing
    db.session.execute(
        update(User)
        .where(User.email == acc.emails["owner"])
        .values(reset_expires_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    assert browser.get(path_of(link)).status_code == 404
    r = browser.post(path_of(link), {"password": NEW, "confirm": NEW})
    assert r.status_code == 404
    assert new_browser().login(acc.emails["owner"]).status_code == 302  # password unchanged


def test_the_link_is_valid_for_an_hour(
    smtp: SmtpServer, make_account: AccountMaker, browser: Browser
) -> None:
    acc = make_account()
    before = utcnow()
    _ask(browser, acc.emails["owner"])
    db.session.rollback()
    expires = db.session.scalar(
        select(User.reset_expires_at).where(User.email == acc.emails["owner"])
    )
    assert expires is not None
    assert timedelta(minutes=59) < expires - before <= timedelta(minutes=60, seconds=5)


def test_a_newer_reset_link_replaces_the_older(
    smtp: SmtpServer, make_account: AccountMaker, browser: Browser
) -> None:
    acc = make_account()
    _ask(browser, acc.emails["owner"])
    _ask(browser, acc.emails["owner"])
    first, second = (link_in(m) for m in smtp.wait_for(2))
    assert first != second
    assert browser.get(path_of(first)).status_code == 404
    assert browser.get(path_of(second)).status_code == 200


def test_new_password_must_be_long_enough_and_typed_twice(
    smtp: SmtpServer, make_account: AccountMaker, browser: Browser
) -> None:
    acc = make_account()
    _ask(browser, acc.emails["owner"])
    path = path_of(link_in(smtp.wait_for(1)[0]))
    r = browser.post(path, {"password": "short", "confirm": "short"})
    assert r.status_code == 200 and "At least 10 characters." in text_of(r)
    r = browser.post(path, {"password": NEW, "confirm": NEW + "x"})
    assert r.status_code == 200 and "The two passwords differ." in text_of(r)
    # the link still works after those mistakes
    assert browser.post(path, {"password": NEW, "confirm": NEW}).status_code == 302


def test_forged_tokens_are_not_found(browser: Browser) -> None:
    for token in ("x", "A" * 43, "../../etc/passwd"):
        assert browser.get(f"/portal/reset/{token}").status_code == 404
        assert browser.get(f"/portal/invitation/{token}").status_code == 404


# ---- invitations ---------------------------------------------------------------------


def test_invited_owner_sets_a_password_from_the_emailed_link(
    smtp: SmtpServer, staff: Staff, browser: Browser, new_browser: BrowserMaker
) -> None:
    """API.md: a new customer's email becomes its first owner, invited by email."""
    r = staff.post("/api/v1/customers", json={"name": "Zeta GmbH", "email": "boss@zeta.test"})
    assert r.status_code == 201
    (msg,) = smtp.wait_for(1)
    assert msg["To"] == "boss@zeta.test"
    link = link_in(msg)
    assert "/portal/invitation/" in link

    page = browser.get(path_of(link))
    assert page.status_code == 200
    assert "boss@zeta.test" in text_of(page)
    r = browser.post(path_of(link), {"password": NEW, "confirm": NEW})
    assert r.status_code == 302
    page = text_of(browser.get("/portal/licenses"))
    assert "Zeta GmbH" in page and "owner" in page

    # once only
    assert new_browser().get(path_of(link)).status_code == 404
    assert new_browser().login("boss@zeta.test", NEW).status_code == 302


def test_an_expired_invitation_does_not_work(
    smtp: SmtpServer, make_account: AccountMaker, browser: Browser
) -> None:
    acc = make_account()
    owner = browser
    owner.login(acc.emails["owner"])
    r = owner.post(
        "/portal/users/new", {"name": "Late Comer", "email": "late@acme.test", "role": "basic"}
    )
    assert r.status_code == 302
    link = link_in(smtp.wait_for(1)[0])
    db.session.rollback()  # end the test's read transaction before writing
    db.session.execute(
        update(User)
        .where(User.email == "late@acme.test")
        .values(invite_expires_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    owner.logout()
    assert owner.get(path_of(link)).status_code == 404

    # "send invitation again" makes a fresh link
    owner.login(acc.emails["owner"])
    uid = db.session.scalar(select(User.id).where(User.email == "late@acme.test"))
    assert owner.post(f"/portal/users/{uid}/invitation").status_code == 302
    fresh = link_in(smtp.wait_for(2)[1])
    assert fresh != link
    owner.logout()
    assert owner.post(path_of(fresh), {"password": NEW, "confirm": NEW}).status_code == 302


def test_invited_user_may_use_forgot_password_instead(
    smtp: SmtpServer, make_account: AccountMaker, browser: Browser, new_browser: BrowserMaker
) -> None:
    acc = make_account()
    owner = new_browser()
    owner.login(acc.emails["owner"])
    owner.post("/portal/users/new", {"name": "Ina", "email": "ina@acme.test", "role": "basic"})
    _ask(browser, "ina@acme.test")
    reset = link_in(smtp.wait_for(2)[1])
    assert "/portal/reset/" in reset
    assert browser.post(path_of(reset), {"password": NEW, "confirm": NEW}).status_code == 302
    assert new_browser().login("ina@acme.test", NEW).status_code == 302
    assert new_browser().login(acc.emails["owner"], PASSWORD).status_code == 302
