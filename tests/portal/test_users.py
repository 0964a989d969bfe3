"""Users: invitations by email, roles up to one's own limit, the last owner."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.mail import SmtpServer, body_text
from tests.support.portal import (
    AccountMaker,
    Browser,
    BrowserMaker,
    Staff,
    link_in,
    mails_to,
    path_of,
    text_of,
)


def _roles(staff: Staff, number: str) -> dict[str, str]:
    users = staff.get(f"/api/v1/customers/{number}/users").get_json()["items"]
    return {u["email"]: u["role"] for u in users}


def test_invite_sends_an_email_that_lets_the_user_in(
    smtp: SmtpServer,
    make_account: AccountMaker,
    staff: Staff,
    browser: Browser,
    new_browser: BrowserMaker,
) -> None:
    acc = make_account()
    browser.login(acc.emails["manager"])
    form = text_of(browser.get("/portal/users/new"))
    assert 'value="manager"' in form and 'value="owner"' not in form  # up to manager
    r = browser.post(
        "/portal/users/new",
        {"name": "Carla Contractor", "email": "Carla@Partner.test", "role": "technical"},
    )
    assert r.status_code == 302
    assert "carla@partner.test is invited" in text_of(browser.get("/portal/users"))
    assert _roles(staff, acc.number)["carla@partner.test"] == "technical"

    (msg,) = smtp.wait_for(1)
    assert msg["To"] == "carla@partner.test"
    assert msg["Subject"] == "Your licence portal invitation"
    text = body_text(msg)
    assert "Hello Carla Contractor" in text
    assert "licence portal of Acme Ltd as technical" in text
    carla = new_browser()
    r = carla.post(
        path_of(link_in(msg)), {"password": "carla's password", "confirm": "carla's password"}
    )
    assert r.status_code == 302
    assert "Carla Contractor" in text_of(carla.get("/portal/licenses"))


def test_the_admin_api_invites_the_same_way(
    smtp: SmtpServer, make_account: AccountMaker, staff: Staff, browser: Browser
) -> None:
    acc = make_account()
    r = staff.post(
        f"/api/v1/customers/{acc.number}/users",
        json={
            "email": "books@acme.test",
            "name": "Bill Ing",
            "role": "billing",
            "licenses": [acc.licenses[1].id],
        },
    )
    assert r.status_code == 201
    link = link_in(smtp.wait_for(1)[0])
    r = browser.post(path_of(link), {"password": "bills password", "confirm": "bills password"})
    assert r.status_code == 302
    page = text_of(browser.get("/portal/licenses"))
    assert acc.licenses[1].id in page and acc.licenses[0].id not in page


def test_an_address_already_in_use_is_refused(make_account: AccountMaker, browser: Browser) -> None:
    acc = make_account()
    browser.login(acc.emails["owner"])
    r = browser.post(
        "/portal/users/new", {"name": "Dup", "email": acc.emails["basic"], "role": "basic"}
    )
    assert r.status_code == 422
    assert "already exists" in text_of(r)
    r = browser.post("/portal/users/new", {"name": "", "email": "", "role": "basic"})
    assert r.status_code == 422


def test_managers_work_up_to_manager(
    make_account: AccountMaker, staff: Staff, browser: Browser
) -> None:
    acc = make_account()
    browser.login(acc.emails["manager"])
    # cannot invite an owner
    r = browser.post("/portal/users/new", {"name": "X", "email": "x@acme.test", "role": "owner"})
    assert r.status_code == 422
    assert "x@acme.test" not in _roles(staff, acc.number)
    # cannot change or remove an owner, nor make anyone owner
    owner_id = acc.user_id("owner")
    assert browser.get(f"/portal/users/{owner_id}").status_code == 403
    assert browser.post(f"/portal/users/{owner_id}", {"role": "basic"}).status_code == 403
    assert browser.post(f"/portal/users/{owner_id}/remove").status_code == 403
    r = browser.post(f"/portal/users/{acc.user_id('basic')}", {"role": "owner"})
    assert r.status_code == 422
    assert _roles(staff, acc.number)[acc.emails["owner"]] == "owner"
    assert _roles(staff, acc.number)[acc.emails["basic"]] == "basic"
    # but may promote to manager and remove below
    assert (
        browser.post(f"/portal/users/{acc.user_id('basic')}", {"role": "manager"}).status_code
        == 302
    )
    assert browser.post(f"/portal/users/{acc.user_id('billing')}/remove").status_code == 302
    roles = _roles(staff, acc.number)
    assert roles[acc.emails["basic"]] == "manager"
    assert acc.emails["billing"] not in roles
    # the users page offers nothing for the owner's row
    page = text_of(browser.get("/portal/users"))
    assert f"/portal/users/{owner_id}/remove" not in page


def test_the_last_owner_stays(
    smtp: SmtpServer,
    make_account: AccountMaker,
    staff: Staff,
    new_browser: BrowserMaker,
) -> None:
    acc = make_account()
    owner = new_browser()
    owner.login(acc.emails["owner"])
    me = acc.user_id("owner")
    # the only owner can neither demote themselves nor be removed
    r = owner.post(f"/portal/users/{me}", {"role": "manager"})
    assert r.status_code == 422
    assert "last owner" in text_of(r)
    assert owner.post(f"/portal/users/{me}/remove").status_code == 403  # not oneself

    # with a second owner (whom the first is told of) either may go
    r = owner.post(f"/portal/users/{acc.user_id('manager')}", {"role": "owner"})
    assert r.status_code == 302
    (notice,) = mails_to(smtp, acc.emails["owner"])
    assert "Manager User <manager@acme.test> is now an owner of Acme Ltd" in body_text(notice)
    assert owner.post(f"/portal/users/{me}", {"role": "manager"}).status_code == 302
    assert _roles(staff, acc.number)[acc.emails["owner"]] == "manager"

    second = new_browser()
    second.login(acc.emails["manager"])
    # now the new owner is the last one
    r = second.post(f"/portal/users/{acc.user_id('manager')}", {"role": "technical"})
    assert r.status_code == 422
    assert _roles(staff, acc.number)[acc.emails["manager"]] == "owner"


def test_two_owners_removing_each_other_leave_one(
    make_account: AccountMaker, staff: Staff, new_browser: BrowserMaker
) -> None:
    acc = make_account()
    first = new_browser()
    first.login(acc.emails["owner"])
    first.post(f"/portal/users/{acc.user_id('manager')}", {"role": "owner"})
    second = new_browser()
    second.login(acc.emails["manager"])
    assert first.post(f"/portal/users/{acc.user_id('manager')}/remove").status_code == 302
    # the removed owner's session has ended; the remaining one is the last
    assert second.post(f"/portal/users/{acc.user_id('owner')}/remove").status_code == 302
    roles = _roles(staff, acc.number)
    assert list(roles.values()).count("owner") == 1


def test_users_page_lists_invited_and_limited_users(
    make_account: AccountMaker, staff: Staff, client: FlaskClient, browser: Browser
) -> None:
    acc = make_account()
    staff.post(
        f"/api/v1/customers/{acc.number}/users",
        json={
            "email": "x@partner.test",
            "name": "X",
            "role": "basic",
            "licenses": [acc.licenses[0].id],
        },
    )
    browser.login(acc.emails["owner"])
    page = text_of(browser.get("/portal/users"))
    row = page.split("x@partner.test", 1)[1].split("</tr>", 1)[0]
    assert "invited" in row and acc.licenses[0].id in row and "Send invitation again" in row
