"""The console's pages and actions, through the test client with CSRF on:
search, the licence and customer pages, every licence action, role refusals,
and API tokens made in the console used against the admin API."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy import select

from licserver.extensions import db
from licserver.models import Event
from tests.support.console import Console
from tests.support.factory import Factory
from tests.support.portal import AccountMaker


def _events(kind: str) -> list[Event]:
    db.session.remove()
    return list(db.session.scalars(select(Event).where(Event.kind == kind)).all())


def test_lost_machine_one_search_one_click(
    admin_console: Console, make_account: AccountMaker, client: FlaskClient
) -> None:
    acc = make_account("acme", activations=2)
    lic = acc.licenses[0]
    found = admin_console.text("/admin/?q=acme-pc-01")
    rows = re.findall(r"<tr[^>]*>.*?</tr>", found.split('id="installations"')[1], re.S)
    assert len(rows) == 2  # header and the one machine
    link = re.search(r'href="(/admin/licenses/[^"#]+)#act-([^"]+)"', rows[1])
    assert link and link.group(1) == f"/admin/licenses/{lic.id}"
    act_id = link.group(2)

    page = admin_console.text(link.group(1))
    assert f'id="act-{act_id}"' in page and "ACME-PC-02" in page
    resp = admin_console.post(
        f"/admin/licenses/{lic.id}/installations/{act_id}/deactivate", {"reason": "stolen"}
    )
    assert resp.status_code == 302
    page = admin_console.text(f"/admin/licenses/{lic.id}")
    assert "ACME-PC-01 is deactivated; its seat is free." in page
    active = page.split('id="active-installations"')[1].split("</table>")[0]
    assert "ACME-PC-01" not in active and "ACME-PC-02" in active
    assert "1 used of" in page

    (ev,) = _events("activation.deactivated")
    assert ev.actor_type == "admin" and ev.actor_id == "staff:admin1@vendor.test"
    assert ev.reason == "stolen" and ev.machine_name == "ACME-PC-01"
    # again: the installation is no longer offered, and a replayed post is a no-op
    resp = admin_console.post(
        f"/admin/licenses/{lic.id}/installations/{act_id}/deactivate", {"reason": "x"}
    )
    assert resp.status_code == 302 and len(_events("activation.deactivated")) == 1


def test_a_form_for_one_licence_never_deactivates_anothers_installation(
    admin_console: Console, make_account: AccountMaker
) -> None:
    acc = make_account("acme", activations=1)
    act_id = acc.activations[0]["activation_id"]
    other = acc.licenses[1].id
    resp = admin_console.post(f"/admin/licenses/{other}/installations/{act_id}/deactivate")
    assert resp.status_code == 404
    assert _events("activation.deactivated") == []


def test_search_finds_customers_licences_and_installations(
    admin_console: Console, make_account: AccountMaker, factory: Factory
) -> None:
    acc = make_account("globex")
    lic = acc.licenses[0]
    for q in (acc.number, acc.number.lower(), "GLOBEX", acc.emails["billing"]):
        page = admin_console.text(f"/admin/?q={q}")
        assert f"/admin/customers/{acc.number}" in page, q
    for q in (lic.id, lic.key):
        page = admin_console.text(f"/admin/?q={q}")
        assert 'id="licenses"' in page and f"/admin/licenses/{lic.id}" in page, q
    for q in ("globex-install-0000", "pc-01"):
        page = admin_console.text(f"/admin/?q={q}")
        assert "GLOBEX-PC-01" in page.split('id="installations"')[1], q
    assert 'id="no-results"' in admin_console.text("/admin/?q=nothing-like-this%25_")
    # a forged key finds nothing
    forged = lic.key[:-4] + ("AAAA" if not lic.key.endswith("AAAA") else "BBBB")
    assert f'/admin/licenses/{lic.id}"' not in admin_console.text(f"/admin/?q={forged}")


def test_customer_page_shows_licences_users_orders_and_history(
    admin_console: Console, make_account: AccountMaker
) -> None:
    acc = make_account("initech")
    page = admin_console.text(f"/admin/customers/{acc.number}")
    for lic in acc.licenses:
        assert f"/admin/licenses/{lic.id}" in page
    for email in acc.emails.values():
        assert email in page
    assert "license.created" in page and "activation.created" in page or "activation" in page
    assert admin_console.get("/admin/customers/C-ZZZZZZ").status_code == 404


def test_admin_licence_actions_record_who_did_them(
    admin_console: Console, make_account: AccountMaker, client: FlaskClient
) -> None:
    acc = make_account("acme")
    lic = acc.licenses[0]
    base = f"/admin/licenses/{lic.id}"
    admin_console.get(base)

    resp = admin_console.post(f"{base}/terms", {"seats": "7", "expires_on": "2031-12-31"})
    assert resp.status_code == 302
    page = admin_console.text(base)
    assert "1 used of 7" in page and "2031-12-31 23:59 UTC" in page

    resp = admin_console.post(f"{base}/password")
    assert resp.status_code == 200
    new_password = re.search(r'id="activation-password">([^<]+)<', resp.get_data(as_text=True))
    assert new_password
    r = client.post(
        "/api/v1/activations",
        json={
            "license_id": lic.id,
            "activation_password": lic.activation_password,
            "installation_id": "old-pass-0001",
            "machine_name": "X",
        },
    )
    assert r.status_code == 401

    resp = admin_console.post(f"{base}/key")
    assert resp.status_code == 200 and 'id="license-key">LK1' in resp.get_data(as_text=True)

    assert admin_console.post(f"{base}/status/suspend", {"reason": "unpaid"}).status_code == 302
    assert "suspended" in admin_console.text(base)
    assert admin_console.post(f"{base}/status/reinstate").status_code == 302
    assert admin_console.post(f"{base}/status/revoke", {"reason": "fraud"}).status_code == 302
    assert "badge-revoked" in admin_console.text(base)
    # a revoked licence is not reinstated
    assert admin_console.post(f"{base}/status/reinstate").status_code == 409

    kinds = [
        "license.updated",
        "license.password_regenerated",
        "license.key_reissued",
        "license.suspended",
        "license.reinstated",
        "license.revoked",
    ]
    for kind in kinds:
        (ev,) = _events(kind)
        assert (ev.actor_type, ev.actor_id) == ("admin", "staff:admin1@vendor.test"), kind
    page = admin_console.text(base)
    assert "staff:admin1@vendor.test" in page and "fraud" in page


def test_admin_issues_a_licence_for_a_customer(
    admin_console: Console, make_account: AccountMaker
) -> None:
    acc = make_account("acme")
    admin_console.get(f"/admin/customers/{acc.number}")
    resp = admin_console.post(
        f"/admin/customers/{acc.number}/licenses",
        {"product": "acme-cad", "seats": "2", "expires_on": ""},
    )
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    lid = re.search(r"Licence (L-[0-9A-Z]{4}-[0-9A-Z]{4}) issued", html)
    assert lid and 'id="license-key">LK1' in html and 'id="activation-password">' in html
    assert "0 used of 2" in html and "never (perpetual)" in html
    (ev,) = [e for e in _events("license.created") if e.actor_id != "tests"]
    assert ev.actor_id == "staff:admin1@vendor.test"
    resp = admin_console.post(
        f"/admin/customers/{acc.number}/licenses", {"product": "nope", "seats": "2"}
    )
    assert resp.status_code == 422


def test_support_may_help_but_not_revoke_change_terms_or_manage_tokens(
    support_console: Console, make_account: AccountMaker
) -> None:
    acc = make_account("acme")
    lic = acc.licenses[0]
    base = f"/admin/licenses/{lic.id}"
    page = support_console.text(base)
    assert 'id="suspend"' in page and 'id="revoke"' not in page
    assert 'id="save-terms"' not in page and "API tokens" not in page

    for path, data in [
        (f"{base}/status/revoke", {}),
        (f"{base}/terms", {"seats": "9"}),
        ("/admin/tokens", {"name": "mine", "scope": "full"}),
        (f"/admin/customers/{acc.number}/licenses", {"product": "acme-cad"}),
        ("/admin/staff", {"email": "x@y.test", "name": "X", "role": "admin"}),
    ]:
        resp = support_console.post(path, data)
        assert resp.status_code == 403, path
        assert "may not do this" in resp.get_data(as_text=True)
    assert support_console.get("/admin/tokens").status_code == 403
    assert support_console.get("/admin/staff").status_code == 403
    assert _events("license.revoked") == [] and _events("license.updated") == []

    # what support may do
    assert support_console.post(f"{base}/status/suspend").status_code == 302
    assert support_console.post(f"{base}/status/reinstate").status_code == 302
    act = acc.activations[0]["activation_id"]
    resp = support_console.post(f"{base}/installations/{act}/deactivate", {"reason": "new PC"})
    assert resp.status_code == 302
    assert support_console.post(f"{base}/key").status_code == 200


def test_token_made_in_the_console_works_on_the_admin_api_until_revoked(
    admin_console: Console, client: FlaskClient, factory: Factory
) -> None:
    admin_console.get("/admin/tokens")
    resp = admin_console.post("/admin/tokens", {"name": "reporting", "scope": "read"})
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    token = re.search(r'id="new-token">(lsa_[^<]+)<', html)
    assert token
    auth = {"Authorization": f"Bearer {token.group(1)}"}
    r0 = client.get("/api/v1/licenses", headers=auth)
    assert r0.status_code == 200, r0.get_json()
    # read scope: no writes
    r = client.post("/api/v1/products", json={"code": "x", "name": "X"}, headers=auth)
    assert r.status_code == 403
    # shown once: the list shows the id, never the secret again
    listing = admin_console.text("/admin/tokens")
    assert token.group(1) not in listing and "reporting" in listing

    public_id = token.group(1).split("_")[1]
    resp = admin_console.post(f"/admin/tokens/{public_id}/revoke")
    assert resp.status_code == 302
    assert client.get("/api/v1/licenses", headers=auth).status_code == 401
    assert [e.actor_id for e in _events("admin_token.created")] == ["staff:admin1@vendor.test"]
    assert len(_events("admin_token.revoked")) == 1


def test_admin_creates_a_staff_account_that_can_log_in(
    admin_console: Console, new_console: Callable[[], Console]
) -> None:
    admin_console.get("/admin/staff")
    data = {
        "email": "New.Person@vendor.test",
        "name": "New Person",
        "role": "support",
        "password": "a good long password",
        "confirm": "a good long password",
    }
    assert admin_console.post("/admin/staff", data).status_code == 302
    assert "new.person@vendor.test" in admin_console.text("/admin/staff")
    again = admin_console.post("/admin/staff", data)
    assert again.status_code == 409 and "exists already" in again.get_data(as_text=True)
    short = admin_console.post(
        "/admin/staff", {**data, "email": "b@v.test", "password": "short", "confirm": "short"}
    )
    assert short.status_code == 422
    other = new_console()
    assert other.login("new.person@vendor.test", "a good long password").status_code == 302
