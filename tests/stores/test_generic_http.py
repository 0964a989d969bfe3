"""The generic format through real HTTP to a real app: every type it has,
repeats, a refund before its order."""

from __future__ import annotations

from typing import Any

from tests.mail import SmtpServer, body_text
from tests.stores import fixtures as f
from tests.stores.helpers import events, licence, make_integration, outcome
from tests.support.factory import AdminClient

LINE = [{"item": "ruler-pro", "quantity": 3}]


def test_generic_lifecycle(smtp: SmtpServer, admin: AdminClient, product: str, send: Any) -> None:
    integ = make_integration(admin, "generic")
    paid = f.generic(
        "g-1",
        "order.paid",
        email="Gen@Example.com",
        name="Gen Eric",
        order="G-1001",
        subscription="gsub-1",
        items=LINE,
        period_end="2031-01-01T00:00:00Z",
    )
    assert outcome(send(integ, paid)) == "applied"
    lic_id = events(admin, integ)[0]["licenses"][0]
    lic = licence(admin, lic_id)
    assert lic["seats"] == 6 and lic["expires_at"].startswith("2031-01-01")
    msg = smtp.wait_for(1)[0]
    text = body_text(msg)
    assert msg["To"] == "Gen@Example.com" and lic_id in text and "/portal/invitation/" in text
    assert send(integ, paid).get_json()["received"][0]["repeat"] is True

    renewed = f.generic(
        "g-2", "subscription.renewed", subscription="gsub-1", period_end="2031-02-01T00:00:00Z"
    )
    assert outcome(send(integ, renewed)) == "applied"
    assert licence(admin, lic_id)["expires_at"].startswith("2031-02-01")

    send(integ, f.generic("g-3", "subscription.payment_failed", subscription="gsub-1"))
    assert licence(admin, lic_id)["status"] == "suspended"
    renewed = f.generic(
        "g-4", "subscription.renewed", subscription="gsub-1", period_end="2031-03-01T00:00:00Z"
    )
    send(integ, renewed)
    assert licence(admin, lic_id)["status"] == "active"

    ended = f.generic(
        "g-5", "subscription.canceled", subscription="gsub-1", period_end="2031-02-15T00:00:00Z"
    )
    send(integ, ended)
    assert licence(admin, lic_id)["expires_at"].startswith("2031-02-15")

    send(integ, f.generic("g-6", "order.refunded", order="G-1001"))
    assert licence(admin, lic_id)["status"] == "revoked"


def test_generic_refund_before_its_order(admin: AdminClient, product: str, send: Any) -> None:
    integ = make_integration(admin, "generic", on_refund="suspend")
    assert outcome(send(integ, f.generic("g-r", "order.refunded", order="G-2"))) == "failed"
    paid = f.generic("g-p", "order.paid", email="x@example.com", order="G-2", items=LINE)
    send(integ, paid)
    log = {e["event_id"]: e for e in events(admin, integ)}
    assert log["g-r"]["outcome"] == "applied"
    assert licence(admin, log["g-p"]["licenses"][0])["status"] == "suspended"
