"""Creating and changing from the console: products with their defaults, a
licence under a policy; good and bad input, events naming the staff user."""

from __future__ import annotations

from sqlalchemy import select

from licserver.extensions import db
from licserver.models import Event, License, Product
from licserver.runtime import context
from licserver.services import policies as policy_service
from tests.support.console import Console
from tests.support.factory import TEST_ORIGIN, Factory


def _products() -> list[Product]:
    db.session.remove()
    return list(db.session.scalars(select(Product).order_by(Product.code)).all())


def _events(kind: str) -> list[Event]:
    db.session.remove()
    return list(db.session.scalars(select(Event).where(Event.kind == kind)).all())


GOOD = {
    "code": "cad-pro",
    "name": "CAD Pro",
    "default_seats": "3",
    "default_duration_days": "365",
    "offline_grace_days": "7",
}


def test_create_a_product(admin_console: Console) -> None:
    assert "Create product" in admin_console.text("/admin/products/new")
    resp = admin_console.post("/admin/products/new", GOOD)
    assert resp.status_code == 302
    (p,) = _products()
    assert (p.code, p.name, p.default_seats, p.default_duration_days, p.offline_grace_days) == (
        "cad-pro",
        "CAD Pro",
        3,
        365,
        7,
    )
    (ev,) = _events("product.created")
    assert ev.actor_type == "admin" and ev.actor_id == "staff:admin1@vendor.test"
    assert ev.data["code"] == "cad-pro" and ev.license_id is None
    assert "cad-pro" in admin_console.text("/admin/products")
    # the same code again: refused at the code field, nothing written
    resp = admin_console.post("/admin/products/new", {**GOOD, "name": "Other"})
    assert resp.status_code == 409
    assert "already exists" in resp.get_data(as_text=True)
    assert [p.name for p in _products()] == ["CAD Pro"]


def test_bad_product_input_is_refused_readably(admin_console: Console) -> None:
    admin_console.get("/admin/products/new")
    cases = {
        "code": ("-bad code", "starting with a letter or digit"),
        "default_seats": ("0", "between 1 and 1000000"),
        "default_duration_days": ("x", "Not a valid integer value"),
        "offline_grace_days": ("99999", "between 1 and 3650"),
        "name": ("", "This field is required"),
    }
    for key, (value, message) in cases.items():
        resp = admin_console.post("/admin/products/new", {**GOOD, key: value})
        assert resp.status_code == 422, key
        assert message in resp.get_data(as_text=True), key
    assert _products() == [] and _events("product.created") == []


def test_edit_a_product(admin_console: Console, factory: Factory) -> None:
    factory.product("cad", name="CAD", default_seats=1)
    db.session.remove()
    page = admin_console.text("/admin/products/cad/edit")
    assert 'value="CAD"' in page
    resp = admin_console.post(
        "/admin/products/cad/edit",
        {"name": "CAD 2", "default_seats": "5", "offline_grace_days": "14"},
    )
    assert resp.status_code == 302
    (p,) = _products()
    assert (p.code, p.name, p.default_seats, p.default_duration_days) == ("cad", "CAD 2", 5, None)
    (ev,) = _events("product.updated")
    assert ev.actor_id == "staff:admin1@vendor.test"
    assert ev.data["default_seats"] == {"from": 1, "to": 5}
    resp = admin_console.post(
        "/admin/products/cad/edit", {"name": "", "default_seats": "5", "offline_grace_days": "14"}
    )
    assert resp.status_code == 422 and _products()[0].name == "CAD 2"
    assert admin_console.get("/admin/products/nope/edit").status_code == 404


def test_support_may_not_create_products(support_console: Console) -> None:
    assert support_console.get("/admin/products/new").status_code == 403
    assert support_console.post("/admin/products/new", GOOD).status_code == 403
    assert _products() == []


def test_issue_a_licence_under_a_policy(admin_console: Console, factory: Factory) -> None:
    factory.product("cad")
    factory.product("other")
    cust = factory.customer()
    pol = policy_service.create(context(), TEST_ORIGIN, product="cad", name="yearly", settings={})
    theirs = policy_service.create(
        context(), TEST_ORIGIN, product="other", name="trial", settings={}
    )
    pol_id, theirs_id = pol.public_id, theirs.public_id
    db.session.remove()
    page = admin_console.text(f"/admin/customers/{cust}")
    assert f'<option value="{pol_id}">yearly (cad)</option>' in page
    resp = admin_console.post(
        f"/admin/customers/{cust}/licenses", {"product": "cad", "seats": "2", "policy": pol_id}
    )
    assert resp.status_code == 200
    db.session.remove()
    (lic,) = db.session.scalars(select(License)).all()
    assert lic.policy is not None and lic.policy.public_id == pol_id
    (ev,) = _events("license.created")
    assert ev.actor_id == "staff:admin1@vendor.test" and ev.data["policy"] == pol_id
    # another product's policy: refused, nothing issued
    resp = admin_console.post(
        f"/admin/customers/{cust}/licenses", {"product": "cad", "seats": "2", "policy": theirs_id}
    )
    assert resp.status_code == 422 and "has no policy" in resp.get_data(as_text=True)
    db.session.remove()
    assert len(db.session.scalars(select(License)).all()) == 1
