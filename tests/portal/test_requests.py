"""Portal "ask for more": a manager or owner requests more seats or a renewal;
staff approve (the licence changes, the requester is emailed) or decline with a
reason in the console's queue; a product may send them to its store instead."""

from __future__ import annotations

from typing import Any

import pytest

from licserver.runtime import context
from licserver.services import products as product_service
from tests.mail import SmtpServer, body_text
from tests.support.console import Console
from tests.support.factory import AdminClient
from tests.support.portal import Account, AccountMaker, Browser, mails_to, text_of


@pytest.fixture
def acc(smtp: SmtpServer, make_account: AccountMaker) -> Account:
    return make_account()


def _ask(browser: Browser, acc: Account, role: str, **form: Any) -> Any:
    browser.login(acc.emails[role])
    lic = acc.licenses[0].id
    assert browser.get(f"/portal/licenses/{lic}/more").status_code == 200
    return browser.post(f"/portal/licenses/{lic}/more", form)


def _request_id(console: Console) -> str:
    page = console.text("/admin/requests")
    return page.split('id="request-', 1)[1].split('"', 1)[0]


def test_more_seats_approved_in_the_console(
    acc: Account, smtp: SmtpServer, browser: Browser, admin_console: Console, admin: AdminClient
) -> None:
    lic = acc.licenses[0].id
    r = _ask(browser, acc, "manager", kind="seats", seats="2", note="PO-1234")
    assert r.status_code == 302, text_of(r)
    assert "Your request is sent" in text_of(browser.get(r.location))

    queue = admin_console.text("/admin/requests")
    assert lic in queue and "2 more seats" in queue and "PO-1234" in queue
    assert "manager@acme.test" in queue
    rid = _request_id(admin_console)
    r = admin_console.post(f"/admin/requests/{rid}/approve")
    assert r.status_code == 302
    assert admin.get(f"/api/v1/licenses/{lic}").get_json()["seats"] == 5
    updated = admin.get(f"/api/v1/licenses/{lic}/events").get_json()["items"]
    change = [e for e in updated if e["kind"] == "license.updated"][-1]
    assert change["data"]["seats"] == {"from": 3, "to": 5}
    assert change["actor"]["type"] == "admin" and change["actor"]["id"].startswith("staff:")

    smtp.wait_for(1)
    (msg,) = mails_to(smtp, "manager@acme.test")
    assert "approved" in msg["Subject"]
    assert "5 seats" in body_text(msg) and lic in body_text(msg)
    # decided once: a second click is refused, the licence is not changed again
    assert admin_console.post(f"/admin/requests/{rid}/approve").status_code == 409
    assert admin.get(f"/api/v1/licenses/{lic}").get_json()["seats"] == 5
    assert "No pending requests" in admin_console.text("/admin/requests")
    assert lic in admin_console.text("/admin/requests?status=approved")


def test_renewal_declined_with_a_reason(
    acc: Account, smtp: SmtpServer, browser: Browser, admin_console: Console, admin: AdminClient
) -> None:
    lic = acc.licenses[0].id
    before = admin.get(f"/api/v1/licenses/{lic}").get_json()["expires_at"]
    assert _ask(browser, acc, "owner", kind="renewal").status_code == 302
    rid = _request_id(admin_console)
    r = admin_console.post(f"/admin/requests/{rid}/decline", {"reason": ""})
    assert r.status_code == 422  # a decline says why
    r = admin_console.post(f"/admin/requests/{rid}/decline", {"reason": "Contract ends in May."})
    assert r.status_code == 302
    assert admin.get(f"/api/v1/licenses/{lic}").get_json()["expires_at"] == before
    (msg,) = mails_to(smtp, "owner@acme.test")[-1:]
    assert "declined" in msg["Subject"] and "Contract ends in May." in body_text(msg)
    assert "Contract ends in May." in admin_console.text("/admin/requests?status=declined")


def test_renewal_approved_extends_expiry(
    acc: Account, browser: Browser, admin_console: Console, admin: AdminClient
) -> None:
    lic = acc.licenses[0].id
    admin.patch(f"/api/v1/licenses/{lic}", json={"expires_at": "2030-01-01T00:00:00Z"})
    assert _ask(browser, acc, "owner", kind="renewal").status_code == 302
    assert (
        admin_console.post(f"/admin/requests/{_request_id(admin_console)}/approve").status_code
        == 302
    )
    assert admin.get(f"/api/v1/licenses/{lic}").get_json()["expires_at"] == "2031-01-01T00:00:00Z"


@pytest.mark.parametrize("role", ["basic", "billing", "technical"])
def test_lower_roles_may_not_ask(acc: Account, browser: Browser, role: str) -> None:
    browser.login(acc.emails[role])
    lic = acc.licenses[0].id
    assert browser.get(f"/portal/licenses/{lic}/more").status_code == 403
    r = browser.post(f"/portal/licenses/{lic}/more", {"kind": "seats", "seats": "1"})
    assert r.status_code == 403
    assert "order-more" not in text_of(browser.get(f"/portal/licenses/{lic}"))


def test_bad_requests_are_refused(acc: Account, browser: Browser, admin_console: Console) -> None:
    r = _ask(browser, acc, "owner", kind="seats", seats="")
    assert r.status_code == 422 and "1 to 10000 more seats" in text_of(r)
    r = browser.post(f"/portal/licenses/{acc.licenses[0].id}/more", {"kind": "seats", "seats": "0"})
    assert r.status_code == 422 and "1 to 10000 more seats" in text_of(r)
    assert "No pending requests" in admin_console.text("/admin/requests")


def test_support_staff_see_the_queue_but_do_not_decide(
    acc: Account, browser: Browser, support_console: Console
) -> None:
    assert _ask(browser, acc, "owner", kind="renewal").status_code == 302
    page = support_console.text("/admin/requests")
    assert acc.licenses[0].id in page and "approve-" not in page
    rid = page.split('id="request-', 1)[1].split('"', 1)[0]
    assert support_console.post(f"/admin/requests/{rid}/approve").status_code == 403


def test_a_store_checkout_url_replaces_the_form(acc: Account, browser: Browser) -> None:
    lic = acc.licenses[0]
    product_service.update(context(), lic.product, {"checkout_url": "https://shop.test/cad"})
    browser.login(acc.emails["owner"])
    page = text_of(browser.get(f"/portal/licenses/{lic.id}"))
    assert 'href="https://shop.test/cad"' in page
    more = text_of(browser.get(f"/portal/licenses/{lic.id}/more"))
    assert "https://shop.test/cad" in more and "send-request" not in more
