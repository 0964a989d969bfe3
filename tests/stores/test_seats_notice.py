"""A quantity change below the seats in use changes nothing: the event is
recorded ``failed`` with the reason and every enabled staff account is told
by email (through the real SMTP test server)."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from licserver.extensions import db
from licserver.runtime import context
from licserver.services import staff as staff_service
from tests.mail import SmtpServer, body_text
from tests.stores import fixtures as f
from tests.stores.helpers import events, licence, make_integration, outcome
from tests.support.factory import AdminClient


def test_quantity_below_seats_in_use_fails_and_tells_staff(
    smtp: SmtpServer, client: FlaskClient, admin: AdminClient, product: str, send: Any
) -> None:
    for email in ("ops@vendor.test", "boss@vendor.test"):
        staff_service.create(
            context(), email=email, name=email, role="admin", password="staff password 1"
        )
    db.session.remove()
    integ = make_integration(admin, "stripe")
    send(integ, f.stripe_invoice_paid("evt_s1", "in_s1", quantity=2))  # 4 seats
    lic_id = events(admin, integ)[0]["licenses"][0]
    lic = licence(admin, lic_id)
    for i in range(3):
        resp = client.post(
            "/api/v1/activations",
            json={
                "license_key": lic["key"],
                "installation_id": f"seat-installation-{i:03d}",
                "machine_name": "PC",
            },
        )
        assert resp.status_code == 201, resp.get_json()
    smtp.wait_for(1)  # the buyer's email
    change = f.stripe_subscription(
        "evt_s2", "customer.subscription.updated", "sub_ruler_1", quantity=1
    )
    assert outcome(send(integ, change)) == "failed"
    ev = events(admin, integ)[0]
    assert ev["event_id"] == "evt_s2" and "3 seats in use" in ev["detail"]
    assert licence(admin, lic_id)["seats"] == 4
    notices = smtp.wait_for(3)[1:]
    assert sorted(m["To"] for m in notices) == ["boss@vendor.test", "ops@vendor.test"]
    text = body_text(notices[0])
    assert lic_id in text and f"/admin/integrations/{integ['id']}" in text
