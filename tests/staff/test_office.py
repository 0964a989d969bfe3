"""Customers, their portal users, licences and orders created and changed from
the console: through the admin API's services, refusals at the fields with
nothing written, each change an event naming the staff user, the owner's and
users' invitations emailed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from licserver.extensions import db
from licserver.models import Customer, Event, License, Order, User
from licserver.runtime import context
from licserver.services import policies as policy_service
from tests.mail import SmtpServer
from tests.support.console import Console
from tests.support.factory import TEST_ORIGIN, Factory
from tests.support.portal import link_in

STAFF = "staff:admin1@vendor.test"


def _all(model: Any) -> list[Any]:
    db.session.remove()
    return list(db.session.scalars(select(model).order_by(model.id)).unique().all())


def _events(kind: str) -> list[Event]:
    return [e for e in _all(Event) if e.kind == kind]


def _html(resp: Any) -> str:
    return str(resp.get_data(as_text=True))


# ---- customers ------------------------------------------------------------------------


def test_create_a_customer_invites_the_owner(smtp: SmtpServer, admin_console: Console) -> None:
    assert "Create customer" in admin_console.text("/admin/customers/new")
    resp = admin_console.post("/admin/customers/new", {"name": "Acme Ltd", "email": "IT@Acme.test"})
    assert resp.status_code == 302
    (cust,) = _all(Customer)
    assert resp.location.endswith(f"/admin/customers/{cust.number}")
    assert (cust.name, cust.email, cust.company_password_hash) == ("Acme Ltd", "it@acme.test", None)
    (owner,) = _all(User)
    assert (owner.email, owner.role, owner.password_hash) == ("it@acme.test", "owner", None)
    (msg,) = smtp.wait_for(1)
    assert msg["To"] == "it@acme.test" and "invitation" in msg["Subject"].lower()
    assert "/portal/invitation/" in link_in(msg)
    (ev,) = _events("customer.created")
    assert (ev.actor_type, ev.actor_id, ev.customer_id) == ("admin", STAFF, cust.id)
    assert ev.data["email"] == "it@acme.test"
    page = admin_console.text(f"/admin/customers/{cust.number}")
    assert "An invitation went to it@acme.test" in page and "Acme Ltd" in page


def test_bad_customer_input_changes_nothing(smtp: SmtpServer, admin_console: Console) -> None:
    admin_console.get("/admin/customers/new")
    good = {"name": "Acme Ltd", "email": "it@acme.test"}
    cases = {
        "email": ("not-an-email", "Not a valid email address."),
        "name": ("", "This field is required."),
        "company_password": ("short", "8 to 256 characters."),
    }
    for key, (value, message) in cases.items():
        resp = admin_console.post("/admin/customers/new", {**good, key: value})
        assert resp.status_code == 422, key
        assert message in _html(resp), key
    assert _all(Customer) == [] and _events("customer.created") == []
    assert admin_console.post("/admin/customers/new", good).status_code == 302
    # the same owner email again: refused at the email field
    resp = admin_console.post("/admin/customers/new", {**good, "name": "Other"})
    assert resp.status_code == 409 and "already exists" in _html(resp)
    assert [c.name for c in _all(Customer)] == ["Acme Ltd"]
    assert len(smtp.wait_for(1)) == 1


def test_edit_a_customer(smtp: SmtpServer, admin_console: Console, factory: Factory) -> None:
    number = factory.customer(email="it@acme.test")
    db.session.remove()
    page = admin_console.text(f"/admin/customers/{number}/edit")
    assert 'value="Acme Ltd"' in page and 'value="it@acme.test"' in page
    resp = admin_console.post(
        f"/admin/customers/{number}/edit",
        {"name": "Acme GmbH", "email": "office@acme.test", "company_password": "company pass 1"},
    )
    assert resp.status_code == 302
    (cust,) = _all(Customer)
    assert (cust.name, cust.email) == ("Acme GmbH", "office@acme.test")
    assert cust.company_password_hash is not None
    (ev,) = _events("customer.updated")
    assert ev.actor_id == STAFF and ev.customer_id == cust.id
    assert ev.data["name"] == {"from": "Acme Ltd", "to": "Acme GmbH"}
    assert ev.data["company_password"] == {"from": "off", "to": "set"}
    assert "company pass 1" not in str(ev.data)
    # both addresses hear of the new contact email, as from the API
    assert {m["To"] for m in smtp.wait_for(2)} == {"it@acme.test", "office@acme.test"}
    resp = admin_console.post(
        f"/admin/customers/{number}/edit", {"name": "", "email": "office@acme.test"}
    )
    assert resp.status_code == 422 and "This field is required." in _html(resp)
    resp = admin_console.post(
        f"/admin/customers/{number}/edit",
        {"name": "Acme GmbH", "email": "office@acme.test", "company_password_off": "y"},
    )
    assert resp.status_code == 302
    (cust,) = _all(Customer)
    assert cust.name == "Acme GmbH" and cust.company_password_hash is None
    assert admin_console.get("/admin/customers/C-NOPE00/edit").status_code == 404


def test_support_may_not_create_or_edit(support_console: Console, factory: Factory) -> None:
    number = factory.customer()
    db.session.remove()
    for path in ("/admin/customers/new", f"/admin/customers/{number}/edit"):
        assert support_console.get(path).status_code == 403
    resp = support_console.post("/admin/customers/new", {"name": "X", "email": "x@x.test"})
    assert resp.status_code == 403
    assert len(_all(Customer)) == 1


# ---- portal users ---------------------------------------------------------------------


def test_invite_change_and_remove_a_portal_user(
    smtp: SmtpServer, admin_console: Console, factory: Factory
) -> None:
    number = factory.customer(email="owner@acme.test")
    lic = factory.license(customer=number)
    db.session.remove()
    page = admin_console.text(f"/admin/customers/{number}/users/new")
    assert lic.id in page and "Permission level" in page
    resp = admin_console.post(
        f"/admin/customers/{number}/users/new",
        {"email": "tess@acme.test", "name": "Tess", "role": "technical", "licenses": [lic.id]},
    )
    assert resp.status_code == 302
    user = next(u for u in _all(User) if u.email == "tess@acme.test")
    assert user.role == "technical" and [x.public_id for x in user.licenses] == [lic.id]
    (msg,) = smtp.wait_for(1)
    assert msg["To"] == "tess@acme.test" and "/portal/invitation/" in link_in(msg)
    (ev,) = _events("user.invited")
    assert ev.actor_id == STAFF and ev.data["role"] == "technical"

    # an owner limited to chosen licences: refused, nothing changed
    resp = admin_console.post(
        f"/admin/customers/{number}/users/{user.id}", {"role": "owner", "licenses": [lic.id]}
    )
    assert resp.status_code == 422 and "An owner cannot be limited" in _html(resp)
    assert next(u for u in _all(User) if u.id == user.id).role == "technical"

    resp = admin_console.post(f"/admin/customers/{number}/users/{user.id}", {"role": "manager"})
    assert resp.status_code == 302
    changed = next(u for u in _all(User) if u.id == user.id)
    assert changed.role == "manager" and changed.licenses == []
    (ev,) = _events("user.updated")
    assert ev.actor_id == STAFF and ev.data["role"] == {"from": "technical", "to": "manager"}

    assert admin_console.text(f"/admin/customers/{number}/users/{user.id}")
    resp = admin_console.post(f"/admin/customers/{number}/users/{user.id}/invite")
    assert resp.status_code == 302
    assert smtp.wait_for(2)[1]["To"] == "tess@acme.test"

    resp = admin_console.post(f"/admin/customers/{number}/users/{user.id}/remove")
    assert resp.status_code == 302
    assert [u.email for u in _all(User)] == ["owner@acme.test"]
    (ev,) = _events("user.removed")
    assert ev.actor_id == STAFF and ev.data["email"] == "tess@acme.test"


def test_the_last_owner_stays(smtp: SmtpServer, admin_console: Console, factory: Factory) -> None:
    number = factory.customer(email="owner@acme.test")
    db.session.remove()
    (owner,) = _all(User)
    admin_console.get(f"/admin/customers/{number}/users/{owner.id}")
    resp = admin_console.post(f"/admin/customers/{number}/users/{owner.id}", {"role": "basic"})
    assert resp.status_code == 409 and "last owner" in _html(resp)
    resp = admin_console.post(f"/admin/customers/{number}/users/{owner.id}/remove")
    assert resp.status_code == 409
    (owner,) = _all(User)
    assert owner.role == "owner"
    assert _events("user.updated") == [] and _events("user.removed") == []
    # a duplicate email and a bad role are refused at their fields
    resp = admin_console.post(
        f"/admin/customers/{number}/users/new",
        {"email": "owner@acme.test", "name": "Again", "role": "basic"},
    )
    assert resp.status_code == 409 and "already exists" in _html(resp)
    resp = admin_console.post(
        f"/admin/customers/{number}/users/new",
        {"email": "new@acme.test", "name": "New", "role": "god"},
    )
    assert resp.status_code == 422 and "Not a valid choice" in _html(resp)
    assert len(_all(User)) == 1


# ---- licences -------------------------------------------------------------------------


def test_edit_a_licence(admin_console: Console, factory: Factory) -> None:
    factory.product("cad")
    lic = factory.license(product="cad", seats=2)
    pol = policy_service.create(context(), TEST_ORIGIN, product="cad", name="yearly", settings={})
    pol_id = pol.public_id
    db.session.remove()
    path = f"/admin/licenses/{lic.id}/edit"
    assert f'<option value="{pol_id}">yearly</option>' in admin_console.text(path)
    resp = admin_console.post(
        path,
        {
            "seats": "7",
            "expires_on": "2031-05-01",
            "features": "export\nplugins, export",
            "policy": pol_id,
        },
    )
    assert resp.status_code == 302
    (row,) = _all(License)
    assert row.seats == 7 and row.features == ["export", "plugins"]
    assert row.expires_at is not None and row.expires_at.date().isoformat() == "2031-05-01"
    assert row.policy is not None and row.policy.public_id == pol_id
    (ev,) = _events("license.updated")
    assert ev.actor_id == STAFF and ev.data["seats"] == {"from": 2, "to": 7}
    assert ev.data["features"] == {"from": [], "to": ["export", "plugins"]}
    # bad input: readable, nothing changed
    for data, message in (
        ({"seats": "0"}, "between 1 and 1000000"),
        ({"seats": "3", "expires_on": "31/02/2031"}, "Not a valid date value"),
        ({"seats": "3", "features": "x" * 65}, "longer than 64 characters"),
        ({"seats": "3", "policy": "P-NOPE"}, "Not a valid choice"),
    ):
        resp = admin_console.post(path, data)
        assert resp.status_code == 422 and message in _html(resp), data
    (row,) = _all(License)
    assert row.seats == 7 and len(_events("license.updated")) == 1
    assert admin_console.get("/admin/licenses/L-NOPE-NOPE/edit").status_code == 404


def test_support_may_not_edit_licences(support_console: Console, factory: Factory) -> None:
    lic = factory.license(seats=2)
    db.session.remove()
    assert support_console.get(f"/admin/licenses/{lic.id}/edit").status_code == 403
    assert support_console.post(f"/admin/licenses/{lic.id}/edit", {"seats": "9"}).status_code == 403
    assert _all(License)[0].seats == 2


# ---- orders ---------------------------------------------------------------------------

ORDER = {
    "number": "INV-2026-0042",
    "date": "2026-11-22",
    "amount": "1200.00",
    "currency": "eur",
    "po_number": "PO-7",
    "items-0-description": "CAD Pro, 2 seats",
    "items-0-amount": "1000.00",
    "items-1-description": "Support",
    "items-1-amount": "200",
}


def test_record_an_order(admin_console: Console, factory: Factory) -> None:
    lic = factory.license(seats=2)
    number = lic.customer_number
    db.session.remove()
    assert "Record order" in admin_console.text(f"/admin/customers/{number}/orders/new")
    resp = admin_console.post(
        f"/admin/customers/{number}/orders/new", {**ORDER, "items-0-license_id": lic.id}
    )
    assert resp.status_code == 302
    (order,) = _all(Order)
    assert (order.number, order.amount_cents, order.currency, order.po_number) == (
        "INV-2026-0042",
        120000,
        "EUR",
        "PO-7",
    )
    assert [(i.description, i.amount_cents) for i in order.items] == [
        ("CAD Pro, 2 seats", 100000),
        ("Support", 20000),
    ]
    assert order.items[0].license is not None and order.items[0].license.public_id == lic.id
    (ev,) = _events("order.created")
    assert ev.actor_id == STAFF and ev.data == {
        "number": "INV-2026-0042",
        "amount": "1200.00",
        "currency": "EUR",
    }
    assert "INV-2026-0042" in admin_console.text(f"/admin/customers/{number}")
    # the same number again: refused at the number field
    resp = admin_console.post(f"/admin/customers/{number}/orders/new", ORDER)
    assert resp.status_code == 409 and "recorded already" in _html(resp)
    assert len(_all(Order)) == 1


def test_bad_orders_change_nothing(admin_console: Console, factory: Factory) -> None:
    number = factory.customer()
    db.session.remove()
    path = f"/admin/customers/{number}/orders/new"
    admin_console.get(path)
    for data, message in (
        ({"amount": "1300.00"}, "The items add up to 1200.00, not 1300.00."),
        ({"items-1-amount": "200.001"}, "At most two decimal places."),
        ({"items-1-amount": ""}, "A line needs an amount."),
        ({"currency": "euro"}, "A three-letter ISO 4217 code."),
        ({"number": "-x"}, "starting with a letter or digit"),
        ({"date": "tomorrow"}, "Not a valid date value"),
    ):
        resp = admin_console.post(path, {**ORDER, **data})
        assert resp.status_code == 422 and message in _html(resp), data
    only_total = {k: v for k, v in ORDER.items() if not k.startswith("items")}
    resp = admin_console.post(path, only_total)
    assert resp.status_code == 422 and "at least one line" in _html(resp)
    assert _all(Order) == [] and _events("order.created") == []
