"""Policies in the staff console: list, create (with readable errors), change
with a dry run shown before saving, and a licence's model on its page (policy,
renew, trial conversion). Support reads; admins change."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import select, update

from licserver.extensions import db
from licserver.models import Activation, License, utcnow
from licserver.models.policy import Policy
from tests.support.console import Console
from tests.support.factory import Factory
from tests.support.portal import AccountMaker


def _policy(name: str) -> Policy:
    db.session.remove()
    return db.session.scalars(select(Policy).where(Policy.name == name)).one()


def test_create_and_list_policies(admin_console: Console, factory: Factory) -> None:
    product = factory.product("cad-pro")
    page = admin_console.text(f"/admin/policies?product={product}")
    assert "No policies yet." in page and "Every setting, its default and meaning" in page

    r = admin_console.post(
        f"/admin/policies/{product}",
        {"name": "broken", "settings": "model = rental\nlease_ttl = 5"},
    )
    assert r.status_code == 422
    text = html.unescape(r.get_data(as_text=True))
    assert "model: One of: node_locked, floating." in text
    assert "lease_ttl:" in text
    assert db.session.scalars(select(Policy)).first() is None

    r = admin_console.post(
        f"/admin/policies/{product}",
        {"name": "float-5", "settings": 'model = "floating"\nlease_ttl = 600\nfeatures = ["pro"]'},
    )
    assert r.status_code == 302, r.get_data(as_text=True)
    pol = _policy("float-5")
    assert pol.settings["model"] == "floating" and pol.settings["lease_ttl"] == 600
    listing = admin_console.text(f"/admin/policies?product={product}")
    row = listing.split('id="policy-float-5"', 1)[1].split("</tr>", 1)[0]
    assert "floating" in row and "lease 600 s" in row


def test_support_reads_but_cannot_change(
    support_console: Console, factory: Factory, admin_console: Console
) -> None:
    product = factory.product("cad-pro")
    admin_console.post(f"/admin/policies/{product}", {"name": "std", "settings": ""})
    pol = _policy("std")
    page = support_console.text(f"/admin/policies/p/{pol.public_id}")
    assert "Preview the change" not in page
    r = support_console.post(
        f"/admin/policies/p/{pol.public_id}", {"name": "std", "settings": "trial = true"}
    )
    assert r.status_code == 403
    r = support_console.post(f"/admin/policies/{product}", {"name": "mine", "settings": ""})
    assert r.status_code == 403
    assert _policy("std").settings == {}


def test_change_shows_the_dry_run_then_saves(
    admin_console: Console, make_account: AccountMaker, client: FlaskClient
) -> None:
    acc = make_account("acme", activations=2)
    lic = acc.licenses[0]
    admin_console.post(f"/admin/policies/{lic.product}", {"name": "office", "settings": ""})
    pol = _policy("office")
    db.session.execute(update(License).where(License.public_id == lic.id).values(policy_id=pol.id))
    then = utcnow() - timedelta(days=5)
    db.session.execute(
        update(Activation)
        .where(Activation.public_id == acc.activations[0]["activation_id"])
        .values(activated_at=then, last_checkin_at=then)
    )
    db.session.commit()

    wanted = "heartbeat_required = true\ninactive_after = 86400\nfree_seat_when_inactive = true"
    r = admin_console.post(
        f"/admin/policies/p/{pol.public_id}", {"name": "office", "settings": wanted}
    )
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "Before you save: what this change does" in page
    changed = re.search(r'id="changed">([^<]+)<', page)
    assert changed and set(changed.group(1).split(", ")) == {
        "free_seat_when_inactive",
        "heartbeat_required",
        "inactive_after",
    }
    affected = page.split('id="affected"', 1)[1].split("</table>", 1)[0]
    assert "ACME-PC-01" in affected and "seat freed" in affected
    assert "ACME-PC-02" not in affected
    assert _policy("office").settings == {}  # the preview saved nothing

    r = admin_console.post(
        f"/admin/policies/p/{pol.public_id}", {"name": "office", "settings": wanted, "save": "1"}
    )
    assert r.status_code == 302
    assert _policy("office").settings["heartbeat_required"] is True
    page = admin_console.text(f"/admin/policies/p/{pol.public_id}")
    assert "1 machine(s) affected now" in page


def test_licence_page_policy_renew_and_convert(
    admin_console: Console, make_account: AccountMaker, client: FlaskClient
) -> None:
    acc = make_account("acme", activations=1)
    lic = acc.licenses[0]
    admin_console.post(
        f"/admin/policies/{lic.product}",
        {
            "name": "trial",
            "settings": "trial = true\nexpiry_basis = from_issue\nduration_days = 14",
        },
    )
    admin_console.post(
        f"/admin/policies/{lic.product}", {"name": "paid", "settings": 'features = ["pro"]'}
    )
    trial, paid = _policy("trial"), _policy("paid")
    page = admin_console.text(f"/admin/licenses/{lic.id}")
    assert "none (node-locked defaults)" in page and 'id="set-policy"' in page

    r = admin_console.post(f"/admin/licenses/{lic.id}/policy", {"policy": trial.public_id})
    assert r.status_code == 302
    page = admin_console.text(f"/admin/licenses/{lic.id}")
    assert "<strong>Trial</strong>" in page and 'id="convert"' in page

    r = admin_console.post(f"/admin/licenses/{lic.id}/renew", {"days": "30"})
    assert r.status_code == 302
    db.session.remove()
    row = db.session.scalars(select(License).where(License.public_id == lic.id)).one()
    assert row.expires_at is not None

    r = admin_console.post(f"/admin/licenses/{lic.id}/convert", {"policy": paid.public_id})
    assert r.status_code == 302
    page = admin_console.text(f"/admin/licenses/{lic.id}")
    assert "converted from a trial" in page and "ACME-PC-01" in page
    assert 'id="entitlements">pro<' in page
    db.session.remove()
    row = db.session.scalars(select(License).where(License.public_id == lic.id)).one()
    assert row.policy_id == paid.id and row.seats_used == 1
