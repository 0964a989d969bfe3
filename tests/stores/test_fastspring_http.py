"""FastSpring through real HTTP to a real app: every step FastSpring reports
(order, subscription charge, partial and full return, deactivation), several
events in one post, repeats."""

from __future__ import annotations

from typing import Any

from tests.mail import SmtpServer, body_text
from tests.stores import fixtures as f
from tests.stores.helpers import events, licence, make_integration, outcome
from tests.support.factory import AdminClient

ITEMS = [{"store_item": "ruler-pro", "product": "ruler", "seats_per_unit": 2, "duration_days": 30}]


def test_fastspring_lifecycle(
    smtp: SmtpServer, admin: AdminClient, product: str, send: Any
) -> None:
    integ = make_integration(admin, "fastspring", items=ITEMS)
    assert outcome(send(integ, f.fastspring(f.fs_order("fs_e1", "ORD-000001", quantity=2)))) == (
        "applied"
    )
    lic_id = events(admin, integ)[0]["licenses"][0]
    assert licence(admin, lic_id)["seats"] == 4
    msg = smtp.wait_for(1)[0]
    assert msg["To"] == "FEN@example.com" and lic_id in body_text(msg)
    assert admin.get("/api/v1/customers").get_json()["items"][0]["email"] == "fen@example.com"
    repeat = send(integ, f.fastspring(f.fs_order("fs_e1", "ORD-000001", quantity=2)))
    assert repeat.get_json()["received"][0]["repeat"] is True

    charge = f.fs_charge("fs_e2", "fs-sub-1", "ORD-000002", next_ms=f.unix(2031, 2, 1) * 1000)
    assert outcome(send(integ, f.fastspring(charge))) == "applied"
    assert licence(admin, lic_id)["expires_at"].startswith("2031-02-01")

    assert outcome(send(integ, f.fastspring(f.fs_return("fs_e3", "ORD-000001", total=5.0)))) == (
        "applied"
    )
    assert licence(admin, lic_id)["status"] == "active"  # partial: recorded only

    ended = f.fs_deactivated("fs_e4", "fs-sub-1", end_ms=f.unix(2031, 1, 20) * 1000)
    send(integ, f.fastspring(ended))
    assert licence(admin, lic_id)["expires_at"].startswith("2031-01-20")
    late = f.fs_charge("fs_e5", "fs-sub-1", "ORD-000003", next_ms=f.unix(2031, 3, 1) * 1000)
    send(integ, f.fastspring(late))
    assert licence(admin, lic_id)["expires_at"].startswith("2031-01-20")

    send(integ, f.fastspring(f.fs_return("fs_e6", "ORD-000001")))
    assert licence(admin, lic_id)["status"] == "revoked"
    orders = admin.get("/api/v1/orders").get_json()["items"]
    assert "ORD-000001" in [o["number"] for o in orders]


def test_several_events_in_one_post_each_recorded(
    admin: AdminClient, product: str, send: Any
) -> None:
    integ = make_integration(admin, "fastspring", items=ITEMS)
    post = f.fastspring(
        f.fs_order("fs_m1", "ORD-000010", sub="fs-sub-10"),
        f.fs_event("fs_m2", "subscription.activated", {"id": "fs-sub-10"}),
        f.fs_order("fs_m3", "ORD-000011", sub=None),
    )
    resp = send(integ, post)
    got = resp.get_json()["received"]
    assert [(g["event_id"], g["outcome"]) for g in got] == [
        ("fs_m1", "applied"),
        ("fs_m2", "ignored"),
        ("fs_m3", "applied"),
    ]
    assert len(admin.get("/api/v1/licenses").get_json()["items"]) == 2
    # the same post again: every event a repeat
    assert all(g["repeat"] for g in send(integ, post).get_json()["received"])
    assert len(events(admin, integ)) == 3
