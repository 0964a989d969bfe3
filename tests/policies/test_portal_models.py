"""Licence models in the customer portal: the model and features of a licence,
who holds a floating lease now (with a Release button for technical users and
up, refused to the others), licensed sites and inactive machines."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import update

from licserver.extensions import db
from licserver.models import Activation, utcnow
from tests.support.portal import AccountMaker, Browser, BrowserMaker, Staff, text_of


def _floating(staff: Staff, product: str, license_id: str) -> None:
    r = staff.post(
        f"/api/v1/products/{product}/policies",
        json={"name": "float", "settings": {"model": "floating", "features": ["render"]}},
    )
    assert r.status_code == 201, r.get_json()
    r = staff._open("PATCH", f"/api/v1/licenses/{license_id}", json={"policy": "float"})
    assert r.status_code == 200, r.get_json()


def _lease(client: FlaskClient, key: str, iid: str, machine: str) -> dict[str, Any]:
    r = client.post(
        "/api/v1/activations",
        json={"license_key": key, "installation_id": iid, "machine_name": machine},
    )
    assert r.status_code in (200, 201), r.get_json()
    body: dict[str, Any] = r.get_json()
    return body


def _key(staff: Staff, license_id: str) -> str:
    key: str = staff.get(f"/api/v1/licenses/{license_id}").get_json()["key"]
    return key


@pytest.fixture
def staff(portal_staff: Staff) -> Staff:
    """Here ``staff`` is the admin API through the test client."""
    return portal_staff


def test_floating_licence_shows_lease_holders_and_releases(
    make_account: AccountMaker, staff: Staff, client: FlaskClient, new_browser: BrowserMaker
) -> None:
    acc = make_account(activations=0)
    lic = acc.licenses[0]
    _floating(staff, lic.product, lic.id)
    held = _lease(client, _key(staff, lic.id), "render-node-0001", "RENDER-01")

    tech = new_browser()
    tech.login(acc.emails["technical"])
    page = text_of(tech.get(f"/portal/licenses/{lic.id}"))
    assert "Floating — 1 of 3 leases in use now" in page
    assert "Machines holding a lease now" in page and "Lease until" in page
    assert "RENDER-01" in page and "Release…" in page
    assert "render" in page.split('id="entitlements"', 1)[1][:100]
    listing = text_of(tech.get("/portal/licenses"))
    assert "floating" in listing.split(lic.id, 1)[1].split("</tr>", 1)[0]

    path = f"/portal/licenses/{lic.id}/installations/{held['activation_id']}/deactivate"
    # a billing user sees no button, and the server refuses the release
    billing = new_browser()
    billing.login(acc.emails["billing"])
    assert "Release…" not in text_of(billing.get(f"/portal/licenses/{lic.id}"))
    r = billing.post(path, {"reason": "not mine to free"})
    assert r.status_code in (403, 404)
    assert staff.get(f"/api/v1/licenses/{lic.id}").get_json()["seats_used"] == 1

    confirm = text_of(tech.get(path))
    assert "Release a lease" in confirm and "another machine may take it" in confirm
    r = tech.post(path, {"reason": "stuck render node"})
    assert r.status_code == 302
    page = text_of(tech.get(f"/portal/licenses/{lic.id}"))
    assert "RENDER-01 is released; its seat is free." in page
    assert staff.get(f"/api/v1/licenses/{lic.id}").get_json()["seats_used"] == 0
    events = staff.get(f"/api/v1/licenses/{lic.id}/events?limit=200").get_json()["items"]
    [released] = [e for e in events if e["kind"] == "activation.deactivated"]
    assert released["data"].get("lease") is True
    # a release does not spend the licence's transfer budget: the machine re-takes one
    assert _lease(client, _key(staff, lic.id), "render-node-0001", "RENDER-01")


def test_sites_and_inactive_machines_are_labelled(
    make_account: AccountMaker, staff: Staff, client: FlaskClient, browser: Browser
) -> None:
    acc = make_account(activations=1)
    lic = acc.licenses[0]
    r = client.post(
        "/api/v1/activations",
        json={"license_key": _key(staff, lic.id), "site_url": "HTTPS://Shop.Example.COM/<b>x</b>"},
    )
    assert r.status_code == 201, r.get_json()
    session = db.session()
    session.execute(
        update(Activation)
        .where(Activation.public_id == acc.activations[0]["activation_id"])
        .values(inactive_since=utcnow())
    )
    session.commit()
    browser.login(acc.emails["basic"])
    html = browser.get(f"/portal/licenses/{lic.id}").get_data(as_text=True)
    assert 'Site</span> <span class="site">https://shop.example.com/%3Cb%3Ex%3C/b%3E' in html or (
        "https://shop.example.com/&lt;b&gt;x&lt;/b&gt;" in html
    )
    assert "<b>x</b>" not in html
    assert "Inactive since" in html
    assert "Node-locked" in html
