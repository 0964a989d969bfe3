"""Account: company details and contacts, own email, password and notices;
the security notices that always go out."""

from __future__ import annotations

import re
from email.message import EmailMessage

from tests.mail import SmtpServer, body_text
from tests.support.portal import (
    PASSWORD,
    AccountMaker,
    Browser,
    BrowserMaker,
    Staff,
    mails_to,
    text_of,
)


def _text(msg: EmailMessage) -> str:
    return body_text(msg).replace("\r\n", "\n")


def _company(**fields: str) -> dict[str, str]:
    base = {"company-name": "Acme Ltd", "company-email": "owner@acme.test"}
    base.update({f"company-{k}": v for k, v in fields.items()})
    return base


def test_owner_edits_company_details(
    make_account: AccountMaker, staff: Staff, browser: Browser
) -> None:
    acc = make_account()
    browser.login(acc.emails["owner"])
    r = browser.post(
        "/portal/account/company",
        _company(
            name="Acme Holdings",
            address="1 Main Street\nSpringfield",
            phone="+1 555 0100",
            vat_id="US123",
            billing_name="Paula Payable",
            billing_email="ap@acme.test",
        ),
    )
    assert r.status_code == 302
    cust = staff.get(f"/api/v1/customers/{acc.number}").get_json()
    assert cust["name"] == "Acme Holdings"
    page = text_of(browser.get("/portal/account"))
    assert "1 Main Street\nSpringfield" in page and "ap@acme.test" in page
    # an invalid address is refused with the field named
    r = browser.post("/portal/account/company", _company(billing_email="not an address"))
    assert r.status_code == 422
    assert "Billing contact email: Not a valid email address." in text_of(r)


def test_others_see_company_details_but_cannot_edit(
    make_account: AccountMaker, browser: Browser
) -> None:
    acc = make_account()
    browser.login(acc.emails["manager"])
    page = text_of(browser.get("/portal/account"))
    assert "Owners can change these." in page
    assert "company-name" not in page
    assert browser.post("/portal/account/company", _company(name="Hijacked")).status_code == 403


def test_contact_email_changes_tell_old_and_new_address(
    smtp: SmtpServer, make_account: AccountMaker, browser: Browser
) -> None:
    acc = make_account()
    browser.login(acc.emails["owner"])
    browser.post("/portal/account/company", _company(billing_email="ap@acme.test"))
    assert smtp.messages == []  # a first billing address is not a change
    r = browser.post(
        "/portal/account/company",
        _company(email="contact@acme.test", billing_email="payables@acme.test"),
    )
    assert r.status_code == 302
    smtp.wait_for(4)
    sent = sorted((m["To"], m["Subject"]) for m in smtp.messages)
    assert sent == [
        ("ap@acme.test", "Licence portal: billing contact email changed"),
        ("contact@acme.test", "Licence portal: main contact email changed"),
        ("owner@acme.test", "Licence portal: main contact email changed"),
        ("payables@acme.test", "Licence portal: billing contact email changed"),
    ]
    (old,) = mails_to(smtp, "ap@acme.test")
    assert "from ap@acme.test\nto   payables@acme.test" in _text(old)


def test_user_changes_own_email_and_both_addresses_are_told(
    smtp: SmtpServer, make_account: AccountMaker, browser: Browser, new_browser: BrowserMaker
) -> None:
    acc = make_account()
    browser.login(acc.emails["owner"])
    r = browser.post(
        "/portal/account/email", {"email-email": "olga@acme.test", "email-password": "wrong!"}
    )
    assert r.status_code == 422 and "The current password is wrong." in text_of(r)
    r = browser.post(
        "/portal/account/email", {"email-email": acc.emails["basic"], "email-password": PASSWORD}
    )
    assert r.status_code == 422 and "already used" in text_of(r)
    assert smtp.messages == []

    r = browser.post(
        "/portal/account/email", {"email-email": "Olga@Acme.test", "email-password": PASSWORD}
    )
    assert r.status_code == 302
    smtp.wait_for(2)
    assert sorted(m["To"] for m in smtp.messages) == ["olga@acme.test", acc.emails["owner"]]
    assert "from owner@acme.test\nto   olga@acme.test" in _text(smtp.messages[0])
    assert new_browser().login("olga@acme.test").status_code == 302
    assert new_browser().login(acc.emails["owner"]).status_code == 401


def test_password_change_sends_a_security_notice(
    smtp: SmtpServer, make_account: AccountMaker, browser: Browser
) -> None:
    acc = make_account()
    browser.login(acc.emails["basic"])
    # the basic user turned every notice off; security notices go out all the same
    browser.get("/portal/account")
    browser.post("/portal/account/profile", {"profile-name": "Basic User"})
    r = browser.post(
        "/portal/account/password",
        {
            "password-current": PASSWORD,
            "password-password": "a better password",
            "password-confirm": "a better password",
        },
    )
    assert r.status_code == 302
    (msg,) = smtp.wait_for(1)
    assert msg["To"] == acc.emails["basic"]
    assert msg["Subject"] == "Your licence portal password was changed"
    assert "/portal/forgot" in body_text(msg)


def test_notice_choices_are_saved(make_account: AccountMaker, browser: Browser) -> None:
    acc = make_account()
    browser.login(acc.emails["technical"])
    page = text_of(browser.get("/portal/account"))
    # defaults: product updates on; expiry reminders (owners and billing users)
    # and deactivations (owners) off
    assert _boxes(page) == {"expiry": False, "deactivations": False, "updates": True}
    r = browser.post(
        "/portal/account/profile",
        {"profile-name": "Tess Tech", "profile-notify_deactivations": "y"},
    )
    assert r.status_code == 302
    page = text_of(browser.get("/portal/account"))
    assert 'value="Tess Tech"' in page
    assert _boxes(page) == {"expiry": False, "deactivations": True, "updates": False}


def _boxes(page: str) -> dict[str, bool]:
    found = re.findall(r'<input( checked)? id="profile-notify_(\w+)"', page)
    return {name: bool(checked) for checked, name in found}


def test_an_outside_contact_does_not_see_the_company_contacts(
    make_account: AccountMaker, new_browser: BrowserMaker
) -> None:
    acc = make_account()
    owner = new_browser()
    owner.login(acc.emails["owner"])
    details = _company(
        **{"billing_name": "Bill Payer", "billing_email": "billing@acme.test", "phone": "+44 1"}
    )
    assert owner.post("/portal/account/company", details).status_code == 302
    who = acc.user_id("technical")
    r = owner.post(f"/portal/users/{who}", {"role": "technical", "licenses": [acc.licenses[1].id]})
    assert r.status_code == 302

    inside = new_browser()
    inside.login(acc.emails["manager"])
    page = text_of(inside.get("/portal/account"))
    assert "billing@acme.test" in page and "owner@acme.test" in page

    outside = new_browser()
    outside.login(acc.emails["technical"])
    page = text_of(outside.get("/portal/account"))
    assert acc.number in page  # their own account's number, and their own settings
    for secret in ("owner@acme.test", "billing@acme.test", "Bill Payer", "+44 1"):
        assert secret not in page
