"""Paddle Billing through real HTTP to a real app: every step Paddle reports
(purchase, renewal, quantity change, dunning that gave up, chargeback and its
reversal, partial and full refund, cancellation), repeats, and a transaction
whose buyer's email arrives in a later customer event."""

from __future__ import annotations

from typing import Any

from tests.mail import SmtpServer, body_text
from tests.stores import fixtures as f
from tests.stores.helpers import events, licence, make_integration, outcome
from tests.support.factory import AdminClient


def _paused(eid: str, sub: str) -> dict[str, Any]:
    ev = f.paddle_subscription(eid, "subscription.updated", sub)
    ev["data"]["status"] = "paused"
    return ev


def test_paddle_lifecycle(smtp: SmtpServer, admin: AdminClient, product: str, send: Any) -> None:
    integ = make_integration(admin, "paddle")
    assert outcome(send(integ, f.paddle_transaction("evt_01p", "txn_01p", quantity=2))) == "applied"
    lic_id = events(admin, integ)[0]["licenses"][0]
    lic = licence(admin, lic_id)
    assert lic["seats"] == 4 and lic["expires_at"].startswith("2031-01-01")
    msg = smtp.wait_for(1)[0]
    assert msg["To"] == "paddle.buyer@example.net" and lic_id in body_text(msg)
    # a repeat changes nothing
    again = send(integ, f.paddle_transaction("evt_01p", "txn_01p", quantity=2))
    assert again.get_json()["received"][0]["repeat"] is True
    assert len(admin.get("/api/v1/licenses").get_json()["items"]) == 1

    renewal = f.paddle_transaction(
        "evt_02p", "txn_02p", origin="subscription_recurring", ends_at="2031-02-01T00:00:00Z"
    )
    assert outcome(send(integ, renewal)) == "applied"
    assert licence(admin, lic_id)["expires_at"].startswith("2031-02-01")

    change = f.paddle_subscription("evt_03p", "subscription.updated", "sub_01hruler", quantity=3)
    send(integ, change)
    assert licence(admin, lic_id)["seats"] == 6

    send(integ, _paused("evt_04p", "sub_01hruler"))
    assert licence(admin, lic_id)["status"] == "suspended"
    send(
        integ,
        f.paddle_transaction(
            "evt_05p", "txn_05p", origin="subscription_recurring", ends_at="2031-03-01T00:00:00Z"
        ),
    )
    assert licence(admin, lic_id)["status"] == "active"

    send(integ, f.paddle_adjustment("evt_06p", "txn_01p", action="chargeback"))
    assert licence(admin, lic_id)["status"] == "suspended"
    send(integ, f.paddle_adjustment("evt_07p", "txn_01p", action="chargeback_reverse"))
    assert licence(admin, lic_id)["status"] == "active"

    assert outcome(send(integ, f.paddle_adjustment("evt_08p", "txn_01p", kind="partial"))) == (
        "applied"
    )
    assert licence(admin, lic_id)["status"] == "active"

    cancel = f.paddle_subscription(
        "evt_09p", "subscription.updated", "sub_01hruler", cancel_at="2031-03-01T00:00:00Z"
    )
    send(integ, cancel)
    assert licence(admin, lic_id)["expires_at"].startswith("2031-03-01")
    late = f.paddle_transaction(
        "evt_10p", "txn_10p", origin="subscription_recurring", ends_at="2031-04-01T00:00:00Z"
    )
    send(integ, late)
    assert licence(admin, lic_id)["expires_at"].startswith("2031-03-01")  # never past it

    send(integ, f.paddle_adjustment("evt_11p", "txn_01p"))
    assert licence(admin, lic_id)["status"] == "revoked"  # on_refund: revoke
    history = admin.get(f"/api/v1/licenses/{lic_id}/events").get_json()["items"]
    assert {h["data"].get("store_event") for h in history} >= {"evt_01p", "evt_11p"}
    assert all(h["actor"]["type"] == "system" for h in history)


def test_paddle_canceled_event_ends_the_licence(
    admin: AdminClient, product: str, send: Any
) -> None:
    integ = make_integration(admin, "paddle")
    send(integ, f.paddle_transaction("evt_21p", "txn_21p"))
    lic_id = events(admin, integ)[0]["licenses"][0]
    ended = f.paddle_subscription(
        "evt_22p", "subscription.canceled", "sub_01hruler", cancel_at="2030-12-15T00:00:00Z"
    )
    assert outcome(send(integ, ended)) == "applied"
    assert licence(admin, lic_id)["expires_at"].startswith("2030-12-15")


def test_transaction_waits_for_its_customer_event(
    admin: AdminClient, product: str, send: Any
) -> None:
    integ = make_integration(admin, "paddle")
    first = send(integ, f.paddle_transaction("evt_31p", "txn_31p", email=None))
    assert outcome(first) == "failed"
    assert admin.get("/api/v1/licenses").get_json()["items"] == []
    customer = f.paddle_event(
        "evt_32p",
        "customer.created",
        {"id": "ctm_01hbuyer", "email": "Late.Buyer@example.net", "name": "Late Buyer"},
    )
    assert outcome(send(integ, customer)) == "applied"
    log = {e["event_id"]: e for e in events(admin, integ)}
    assert log["evt_31p"]["outcome"] == "applied" and log["evt_31p"]["licenses"]
    owner = admin.get("/api/v1/customers").get_json()["items"][0]
    assert owner["email"] == "late.buyer@example.net"
