"""Licences & Activations: what each page shows, secrets on request,
regeneration, manual deactivation (and what the machine sees next), escaping,
and users limited to chosen licences."""

from __future__ import annotations

from datetime import timedelta

from flask.testing import FlaskClient

from licserver.models import utcnow
from tests.mail import SmtpServer, body_text
from tests.support.factory import Factory
from tests.support.portal import (
    AccountMaker,
    Browser,
    BrowserMaker,
    Staff,
    activate,
    mails_to,
    text_of,
)

XSS = '<script>alert("pwned")</script><img src=x onerror=alert(1)>'


def _events(staff: Staff, license_id: str) -> list[dict[str, object]]:
    r = staff.get(f"/api/v1/licenses/{license_id}/events?limit=200")
    assert r.status_code == 200
    items: list[dict[str, object]] = r.get_json()["items"]
    return items


def test_licence_list_shows_seats_expiry_and_status(
    make_account: AccountMaker, factory: Factory, staff: Staff, browser: Browser
) -> None:
    acc = make_account()
    soon = factory.license(
        acc.licenses[0].product,
        acc.number,
        seats=2,
        expires_at=utcnow() + timedelta(days=10, hours=1),
    )
    gone = factory.license(
        acc.licenses[0].product, acc.number, seats=1, expires_at=utcnow() - timedelta(days=1)
    )
    staff.post(f"/api/v1/licenses/{acc.licenses[1].id}/suspend")
    browser.login(acc.emails["basic"])
    page = text_of(browser.get("/portal/licenses"))
    rows = {
        lic: page.split(lic, 1)[1].split("</tr>", 1)[0]
        for lic in (acc.licenses[0].id, acc.licenses[1].id, soon.id, gone.id)
    }
    assert "1 / 3" in rows[acc.licenses[0].id] and "never" in rows[acc.licenses[0].id]
    assert "badge-active" in rows[acc.licenses[0].id]
    assert "badge-suspended" in rows[acc.licenses[1].id]
    assert "0 / 2" in rows[soon.id] and "expires in 10 days" in rows[soon.id]
    assert "expired" in rows[gone.id] and "badge-expired" in rows[gone.id]
    assert "Acme CAD" in rows[soon.id]


def test_licence_detail_lists_installations(
    make_account: AccountMaker, client: FlaskClient, browser: Browser
) -> None:
    acc = make_account()
    browser.login(acc.emails["basic"])
    page = text_of(browser.get(f"/portal/licenses/{acc.licenses[0].id}"))
    assert "ACME-PC-01" in page
    assert "acme-install-0000" in page
    assert "app_version: 2.1.0" in page and "os: Windows 11" in page
    assert "1 used of 3" in page
    # a basic user sees neither secrets nor the buttons for them
    assert acc.licenses[0].activation_password not in page
    assert "Reveal" not in page and "Deactivate" not in page


def test_machine_names_are_escaped_everywhere(
    make_account: AccountMaker, client: FlaskClient, browser: Browser
) -> None:
    acc = make_account(activations=0)
    act = activate(client, acc.licenses[0], XSS, "evil-install-0001")
    browser.login(acc.emails["owner"])
    lic = acc.licenses[0].id
    for path in (
        f"/portal/licenses/{lic}",
        "/portal/history",
        f"/portal/licenses/{lic}/installations/{act['activation_id']}/deactivate",
    ):
        page = text_of(browser.get(path))
        assert "<script>" not in page and "<img src=x" not in page, path
        assert "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;" in page, path
    # deactivating it: the flash message and the emailed notice carry it as text
    r = browser.post(
        f"/portal/licenses/{lic}/installations/{act['activation_id']}/deactivate",
        {"reason": "<b>bold</b> reason"},
    )
    assert r.status_code == 302
    page = text_of(browser.get(f"/portal/licenses/{lic}?all=1"))
    assert "<script>" not in page and "<b>bold</b>" not in page
    assert "&lt;b&gt;bold&lt;/b&gt; reason" in page


def test_reveal_shows_the_secrets_and_records_an_event(
    make_account: AccountMaker, staff: Staff, browser: Browser
) -> None:
    acc = make_account()
    lic = acc.licenses[0]
    browser.login(acc.emails["technical"])
    page = text_of(browser.get(f"/portal/licenses/{lic.id}"))
    assert lic.key not in page and lic.activation_password not in page  # only on request
    r = browser.post(f"/portal/licenses/{lic.id}/reveal")
    assert r.status_code == 200
    assert lic.key in text_of(r) and lic.activation_password in text_of(r)
    assert r.headers["Cache-Control"] == "no-store"
    revealed = [e for e in _events(staff, lic.id) if e["kind"] == "license.secrets_revealed"]
    assert len(revealed) == 1
    assert revealed[0]["actor"] == {"type": "user", "id": acc.emails["technical"]}
    browser.post(f"/portal/licenses/{lic.id}/reveal")
    assert len([e for e in _events(staff, lic.id) if e["kind"] == "license.secrets_revealed"]) == 2


def test_regenerate_password_and_reissue_key(
    make_account: AccountMaker, staff: Staff, client: FlaskClient, browser: Browser
) -> None:
    acc = make_account()
    lic = acc.licenses[0]
    browser.login(acc.emails["manager"])
    confirm = browser.get(f"/portal/licenses/{lic.id}/activation-password")
    assert "stops working" in text_of(confirm)
    r = browser.post(f"/portal/licenses/{lic.id}/activation-password")
    assert r.status_code == 200
    new_password = staff.get(f"/api/v1/licenses/{lic.id}").get_json()["activation_password"]
    assert new_password != lic.activation_password
    assert new_password in text_of(r)
    # the old password no longer activates; the new one does
    body = {"license_id": lic.id, "installation_id": "fresh-install-01", "machine_name": "NEW"}
    r = client.post(
        "/api/v1/activations", json={**body, "activation_password": lic.activation_password}
    )
    assert r.status_code == 401 and r.get_json()["code"] == "INVALID_CREDENTIALS"
    r = client.post("/api/v1/activations", json={**body, "activation_password": new_password})
    assert r.status_code == 201

    r = browser.post(f"/portal/licenses/{lic.id}/key")
    assert r.status_code == 200
    new_key = staff.get(f"/api/v1/licenses/{lic.id}").get_json()["key"]
    assert new_key != lic.key and new_key in text_of(r)
    r = client.post(
        "/api/v1/activations",
        json={"license_key": lic.key, "installation_id": "fresh-install-02", "machine_name": "N2"},
    )
    assert r.status_code == 401
    kinds = [e["kind"] for e in _events(staff, lic.id)]
    assert "license.password_regenerated" in kinds and "license.key_reissued" in kinds


def test_deactivate_frees_the_seat_and_refuses_the_next_checkin(
    smtp: SmtpServer,
    make_account: AccountMaker,
    staff: Staff,
    client: FlaskClient,
    browser: Browser,
) -> None:
    acc = make_account()
    lic, act = acc.licenses[0], acc.activations[0]
    browser.login(acc.emails["technical"])
    path = f"/portal/licenses/{lic.id}/installations/{act['activation_id']}/deactivate"

    confirm = text_of(browser.get(path))
    assert "ACME-PC-01" in confirm and "dead, lost or stolen" in confirm
    # the confirmation needs a reason
    r = browser.post(path, {"reason": ""})
    assert r.status_code == 422
    assert staff.get(f"/api/v1/licenses/{lic.id}").get_json()["seats_used"] == 1

    r = browser.post(path, {"reason": "laptop stolen"})
    assert r.status_code == 302
    page = text_of(browser.get(f"/portal/licenses/{lic.id}"))
    assert "ACME-PC-01 is deactivated; its seat is free." in page
    assert "No active installations." in page
    assert staff.get(f"/api/v1/licenses/{lic.id}").get_json()["seats_used"] == 0

    # the machine's next check-in is refused
    r = client.post(
        f"/api/v1/activations/{act['activation_id']}/checkin",
        json={"activation_token": act["activation_token"]},
    )
    assert r.status_code == 410 and r.get_json()["code"] == "DEACTIVATED"

    (event,) = [e for e in _events(staff, lic.id) if e["kind"] == "activation.deactivated"]
    assert event["actor"] == {"type": "user", "id": acc.emails["technical"]}
    assert event["reason"] == "laptop stolen"
    assert event["machine_name"] == "ACME-PC-01"

    # the owner is told (owners get deactivation notices unless they opt out)
    smtp.wait_for(1)
    (notice,) = mails_to(smtp, acc.emails["owner"])
    text = body_text(notice)
    assert "ACME-PC-01" in text and "acme-install-0000" in text and "laptop stolen" in text
    assert f"Technical User <{acc.emails['technical']}>" in text
    assert f"http://licserver.test/portal/licenses/{lic.id}" in text
    assert [m["To"] for m in smtp.messages] == [acc.emails["owner"]]

    # deactivating again changes nothing and tells no one again
    assert browser.post(path, {"reason": "again"}).status_code == 200
    assert len([e for e in _events(staff, lic.id) if e["kind"] == "activation.deactivated"]) == 1
    assert len(smtp.messages) == 1


def test_deactivation_notice_follows_each_users_choice(
    smtp: SmtpServer, make_account: AccountMaker, new_browser: BrowserMaker
) -> None:
    acc = make_account(activations=2)
    owner = new_browser()
    owner.login(acc.emails["owner"])
    owner.get("/portal/account")
    owner.post("/portal/account/profile", {"profile-name": "Olga Owner"})  # every box unticked
    manager = new_browser()
    manager.login(acc.emails["manager"])
    manager.get("/portal/account")
    manager.post(
        "/portal/account/profile",
        {"profile-name": "Manager User", "profile-notify_deactivations": "y"},
    )
    act = acc.activations[1]
    r = manager.post(
        f"/portal/licenses/{acc.licenses[0].id}/installations/{act['activation_id']}/deactivate",
        {"reason": "dead disk"},
    )
    assert r.status_code == 302
    smtp.wait_for(1)
    assert [m["To"] for m in smtp.messages] == [acc.emails["manager"]]


# ---- users limited to chosen licences ----------------------------------------------


def test_a_limited_user_sees_and_acts_on_their_licences_only(
    make_account: AccountMaker, client: FlaskClient, new_browser: BrowserMaker
) -> None:
    acc = make_account()
    mine, other = acc.licenses[1], acc.licenses[0]
    activate(client, mine, "CONTRACTOR-PC", "contractor-0001")
    owner = new_browser()
    owner.login(acc.emails["owner"])
    r = owner.post(
        f"/portal/users/{acc.user_id('technical')}", {"role": "technical", "licenses": [mine.id]}
    )
    assert r.status_code == 302

    tech = new_browser()
    tech.login(acc.emails["technical"])
    page = text_of(tech.get("/portal/licenses"))
    assert mine.id in page and other.id not in page
    assert "(chosen licences)" in page
    assert tech.get(f"/portal/licenses/{mine.id}").status_code == 200
    assert tech.post(f"/portal/licenses/{mine.id}/reveal").status_code == 200
    # the other licence does not exist for them
    assert tech.get(f"/portal/licenses/{other.id}").status_code == 404
    assert tech.post(f"/portal/licenses/{other.id}/reveal").status_code == 404
    act = acc.activations[0]
    r = tech.post(
        f"/portal/licenses/{other.id}/installations/{act['activation_id']}/deactivate",
        {"reason": "x"},
    )
    assert r.status_code == 404
    history = text_of(tech.get("/portal/history"))
    assert "CONTRACTOR-PC" in history and "ACME-PC-01" not in history
    csv = text_of(tech.get("/portal/history.csv"))
    assert "CONTRACTOR-PC" in csv and "ACME-PC-01" not in csv
    assert tech.get(f"/portal/history?license={other.id}").status_code == 422
    # nothing account-wide either
    assert tech.get("/portal/users").status_code == 403


def test_an_owner_cannot_be_limited(make_account: AccountMaker, browser: Browser) -> None:
    acc = make_account()
    browser.login(acc.emails["owner"])
    r = browser.post(
        "/portal/users/new",
        {
            "name": "Second Owner",
            "email": "o2@acme.test",
            "role": "owner",
            "licenses": [acc.licenses[0].id],
        },
    )
    assert r.status_code == 422
    assert "An owner cannot be limited to chosen licences." in text_of(r)
