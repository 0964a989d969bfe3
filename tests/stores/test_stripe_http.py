"""Stripe through real HTTP to a real app: every lifecycle step, repeats,
out-of-order events, signatures, malformed bodies, the buyer's email."""

from __future__ import annotations

import time
from typing import Any

from flask import Flask

from tests.mail import SmtpServer, body_text
from tests.stores import fixtures as f
from tests.stores.helpers import events as _events
from tests.stores.helpers import licence as _licence
from tests.stores.helpers import make_integration
from tests.support.factory import AdminClient


def test_purchase_issues_one_licence_and_emails_the_buyer(
    smtp: SmtpServer, app: Flask, admin: AdminClient, product: str, send: Any
) -> None:
    integ = make_integration(admin, "stripe")
    assert integ["webhook_url"].endswith(f"/api/v1/integrations/{integ['id']}/events")
    assert "signing_secret" not in integ
    resp = send(integ, f.stripe_invoice_paid("evt_1", "in_1", quantity=3))
    assert resp.status_code == 200, resp.get_json()
    got = resp.get_json()["received"][0]
    assert got["outcome"] == "applied"
    ev = _events(admin, integ)[0]
    assert ev["event_id"] == "evt_1" and ev["outcome"] == "applied"
    lic = _licence(admin, ev["licenses"][0])
    assert lic["seats"] == 6 and lic["expires_at"].startswith("2031-01-01")
    # a repeat changes nothing
    again = send(integ, f.stripe_invoice_paid("evt_1", "in_1", quantity=3))
    assert again.status_code == 200 and again.get_json()["received"][0]["repeat"] is True
    assert len(_events(admin, integ)) == 1
    customers = admin.get("/api/v1/customers").get_json()["items"]
    assert [c["email"] for c in customers] == ["dana@example.org"]
    orders = admin.get(f"/api/v1/orders?customer={customers[0]['number']}").get_json()["items"]
    assert [o["number"] for o in orders] == ["in_1"]
    msg = smtp.wait_for(1)[0]
    text = body_text(msg)
    assert msg["To"] == "Dana@Example.Org"
    assert lic["id"] in text and "Activation password:" in text and "/portal/invitation/" in text
    history = admin.get(f"/api/v1/licenses/{lic['id']}/events").get_json()["items"]
    created = [h for h in history if h["kind"] == "license.created"][0]
    assert created["actor"]["type"] == "system" and created["data"]["store_event"] == "evt_1"


def test_renewal_refund_dispute_cancel_quantity(
    admin: AdminClient, product: str, send: Any
) -> None:
    integ = make_integration(admin, "stripe", on_refund="suspend")
    send(integ, f.stripe_invoice_paid("evt_a", "in_a"))
    lic_id = _events(admin, integ)[0]["licenses"][0]
    later = f.unix(2031, 2, 1)
    send(
        integ, f.stripe_invoice_paid("evt_b", "in_b", reason="subscription_cycle", period_end=later)
    )
    assert _licence(admin, lic_id)["expires_at"].startswith("2031-02-01")
    # an older period never shortens it
    send(
        integ,
        f.stripe_invoice_paid(
            "evt_b0", "in_b0", reason="subscription_cycle", period_end=f.unix(2030, 1, 1)
        ),
    )
    assert _licence(admin, lic_id)["expires_at"].startswith("2031-02-01")
    send(
        integ,
        f.stripe_subscription("evt_q", "customer.subscription.updated", "sub_ruler_1", quantity=4),
    )
    assert _licence(admin, lic_id)["seats"] == 8
    send(integ, f.stripe_payment_failed("evt_f1", "in_c", "sub_ruler_1", gave_up=False))
    assert _licence(admin, lic_id)["status"] == "active"
    send(integ, f.stripe_payment_failed("evt_f2", "in_c", "sub_ruler_1", gave_up=True))
    assert _licence(admin, lic_id)["status"] == "suspended"
    send(
        integ,
        f.stripe_invoice_paid(
            "evt_c", "in_c", reason="subscription_cycle", period_end=f.unix(2031, 3, 1)
        ),
    )
    assert _licence(admin, lic_id)["status"] == "active"
    send(integ, f.stripe_dispute("evt_d1", "in_a", "charge.dispute.created", "needs_response"))
    assert _licence(admin, lic_id)["status"] == "suspended"
    send(integ, f.stripe_dispute("evt_d2", "in_a", "charge.dispute.closed", "won"))
    assert _licence(admin, lic_id)["status"] == "active"
    send(integ, f.stripe_charge_refunded("evt_r1", "in_a", full=False))
    assert _licence(admin, lic_id)["status"] == "active"
    send(
        integ,
        f.stripe_subscription(
            "evt_x",
            "customer.subscription.updated",
            "sub_ruler_1",
            cancel=True,
            end=f.unix(2031, 3, 1),
        ),
    )
    assert _licence(admin, lic_id)["expires_at"].startswith("2031-03-01")
    send(
        integ,
        f.stripe_invoice_paid(
            "evt_late", "in_late", reason="subscription_cycle", period_end=f.unix(2031, 4, 1)
        ),
    )
    assert _licence(admin, lic_id)["expires_at"].startswith(
        "2031-03-01"
    )  # never past a cancellation
    send(integ, f.stripe_charge_refunded("evt_r2", "in_a"))
    assert _licence(admin, lic_id)["status"] == "suspended"  # on_refund


def test_refund_before_purchase_ends_revoked(admin: AdminClient, product: str, send: Any) -> None:
    integ = make_integration(admin, "stripe")
    first = send(integ, f.stripe_charge_refunded("evt_r", "in_z"))
    assert first.status_code == 200 and first.get_json()["received"][0]["outcome"] == "failed"
    send(integ, f.stripe_invoice_paid("evt_p", "in_z", sub=None))
    events = {e["event_id"]: e for e in _events(admin, integ)}
    assert events["evt_r"]["outcome"] == "applied"
    assert _licence(admin, events["evt_p"]["licenses"][0])["status"] == "revoked"


def test_renewal_before_first_invoice_ends_at_the_later_period(
    admin: AdminClient, product: str, send: Any
) -> None:
    integ = make_integration(admin, "stripe")
    send(
        integ,
        f.stripe_invoice_paid(
            "evt_2", "in_2", reason="subscription_cycle", period_end=f.unix(2031, 2, 1)
        ),
    )
    send(integ, f.stripe_invoice_paid("evt_1", "in_1", period_end=f.unix(2031, 1, 1)))
    events = _events(admin, integ)
    ids = {lic for e in events for lic in e["licenses"]}
    assert len(ids) == 1
    assert _licence(admin, ids.pop())["expires_at"].startswith("2031-02-01")


def test_signatures_refused_record_nothing(admin: AdminClient, product: str, send: Any) -> None:
    integ = make_integration(admin, "stripe")
    body = f.stripe_invoice_paid("evt_s", "in_s")
    for resp in (
        send(integ, body, secret="whsec_wrong"),
        send(integ, body, headers={}),
        send(integ, body, at=int(time.time()) - 400),
        send(integ, body, at=int(time.time()) + 400),
    ):
        assert resp.status_code == 400
        assert resp.get_json()["code"] == "SIGNATURE_INVALID"
        assert resp.headers["Content-Type"].startswith("application/problem+json")
    assert _events(admin, integ) == []
    admin.patch(f"/api/v1/integrations/{integ['id']}", json={"signing_secret": "whsec_rotated"})
    assert send(integ, body).status_code == 400  # the old secret
    assert send(integ, body, secret="whsec_rotated").status_code == 200


def test_malformed_json_with_a_valid_signature(admin: AdminClient, product: str, send: Any) -> None:
    integ = make_integration(admin, "stripe")
    resp = send(integ, None, raw=b"{not json")
    assert resp.status_code == 400 and resp.get_json()["code"] == "MALFORMED_REQUEST"
    assert _events(admin, integ) == []


def test_unknown_item_recorded_nothing_issued_then_reapplied_after_mapping(
    admin: AdminClient, product: str, send: Any
) -> None:
    integ = make_integration(admin, "stripe")
    resp = send(integ, f.stripe_invoice_paid("evt_u", "in_u", price="price_unknown"))
    assert resp.get_json()["received"][0]["outcome"] == "failed"
    ev = _events(admin, integ)[0]
    assert "price_unknown" in ev["detail"] and ev["licenses"] == []
    assert admin.get("/api/v1/licenses").get_json()["items"] == []


def test_no_secret_yet_and_scope(admin: AdminClient, product: str, send: Any) -> None:
    resp = admin.post("/api/v1/integrations", json={"provider": "paddle", "name": "P", "items": []})
    integ = resp.get_json()
    assert integ["signing_secret_set"] is False
    assert (
        send(integ, f.paddle_transaction("evt_01", "txn_01")).get_json()["code"]
        == "SIGNATURE_INVALID"
    )
