"""licserver.domain.stores: signatures and each store's mapping, no server."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from licserver.domain.stores import Malformed, SignatureInvalid
from licserver.domain.stores import fastspring as fs_map
from licserver.domain.stores import generic as generic_map
from licserver.domain.stores import paddle as paddle_map
from licserver.domain.stores import stripe as stripe_map
from licserver.domain.stores.signatures import HEADERS, sign, verify
from tests.stores import fixtures as f

SECRET = "whsec_unit_test_secret"
BODY = b'{"id": "evt_1", "type": "x"}'


@pytest.mark.parametrize("provider", ["stripe", "paddle", "fastspring", "generic"])
def test_a_fresh_signature_verifies(provider: str) -> None:
    now = int(time.time())
    verify(provider, SECRET, {HEADERS[provider]: sign(provider, SECRET, BODY, now)}, BODY, now)


@pytest.mark.parametrize("provider", ["stripe", "paddle", "fastspring", "generic"])
def test_wrong_secret_changed_body_or_missing_header_refused(provider: str) -> None:
    now = int(time.time())
    good = {HEADERS[provider]: sign(provider, SECRET, BODY, now)}
    with pytest.raises(SignatureInvalid):
        verify(provider, "other", good, BODY, now)
    with pytest.raises(SignatureInvalid):
        verify(provider, SECRET, good, BODY + b" ", now)
    with pytest.raises(SignatureInvalid):
        verify(provider, SECRET, {}, BODY, now)
    with pytest.raises(SignatureInvalid):
        verify(provider, None, good, BODY, now)


@pytest.mark.parametrize("provider", ["stripe", "paddle", "generic"])
@pytest.mark.parametrize("offset", [-301, 301])
def test_timestamps_beyond_300_seconds_either_way_refused(provider: str, offset: int) -> None:
    now = int(time.time())
    header = {HEADERS[provider]: sign(provider, SECRET, BODY, now + offset)}
    with pytest.raises(SignatureInvalid):
        verify(provider, SECRET, header, BODY, now)
    verify(
        provider,
        SECRET,
        {HEADERS[provider]: sign(provider, SECRET, BODY, now + offset // 2)},
        BODY,
        now,
    )


def test_header_name_in_any_case_and_paddle_rotation_with_two_h1() -> None:
    now = int(time.time())
    verify(
        "fastspring", SECRET, {"x-fs-signature": sign("fastspring", SECRET, BODY, now)}, BODY, now
    )
    old = sign("paddle", "old-secret", BODY, now).split(";")[1]
    verify(
        "paddle",
        SECRET,
        {"paddle-signature": sign("paddle", SECRET, BODY, now) + ";" + old},
        BODY,
        now,
    )


def test_stripe_invoice_paid_first_and_cycle() -> None:
    first = stripe_map.parse(f.dumps(f.stripe_invoice_paid("evt_a", "in_1", quantity=3)))[0]
    assert (
        first.kind == "purchase" and first.order == "in_1" and first.subscription == "sub_ruler_1"
    )
    assert first.lines[0].item == "price_ruler_pro" and first.lines[0].quantity == 3
    assert first.email == "Dana@Example.Org" and first.amount_cents == 4900
    assert first.period_end == datetime(2031, 1, 1, tzinfo=UTC)
    assert "ch_in_1" in first.refs
    cycle = stripe_map.parse(
        f.dumps(f.stripe_invoice_paid("evt_b", "in_2", reason="subscription_cycle"))
    )[0]
    assert cycle.kind == "renewal"


def test_stripe_failed_refund_dispute_subscription() -> None:
    failed = stripe_map.parse(f.dumps(f.stripe_payment_failed("e", "in_1", "sub_1", gave_up=True)))[
        0
    ]
    assert failed.kind == "payment_failed" and failed.gave_up
    retrying = stripe_map.parse(
        f.dumps(f.stripe_payment_failed("e", "in_1", "sub_1", gave_up=False))
    )[0]
    assert not retrying.gave_up
    assert stripe_map.parse(f.dumps(f.stripe_charge_refunded("e", "in_1")))[0].full is True
    assert (
        stripe_map.parse(f.dumps(f.stripe_charge_refunded("e", "in_1", full=False)))[0].full
        is False
    )
    opened = stripe_map.parse(
        f.dumps(f.stripe_dispute("e", "in_1", "charge.dispute.created", "needs_response"))
    )[0]
    assert (opened.kind, opened.stage, opened.refs[0]) == ("chargeback", "opened", "ch_in_1")
    lost = stripe_map.parse(
        f.dumps(f.stripe_dispute("e", "in_1", "charge.dispute.closed", "lost"))
    )[0]
    assert lost.stage == "lost"
    cancel = stripe_map.parse(
        f.dumps(f.stripe_subscription("e", "customer.subscription.updated", "sub_1", cancel=True))
    )[0]
    assert cancel.kind == "cancel" and cancel.period_end == datetime(2031, 1, 1, tzinfo=UTC)
    qty = stripe_map.parse(
        f.dumps(f.stripe_subscription("e", "customer.subscription.updated", "sub_1", quantity=5))
    )[0]
    assert qty.kind == "quantity_change" and qty.lines[0].quantity == 5
    other = stripe_map.parse(f.dumps(f.stripe_event("e", "customer.created", {"id": "cus_1"})))[0]
    assert other.kind == "ignored"


def test_paddle_mapping() -> None:
    t = paddle_map.parse(f.dumps(f.paddle_transaction("evt_01a", "txn_01a", quantity=2)))[0]
    assert (t.kind, t.order, t.subscription, t.lines[0].quantity) == (
        "purchase",
        "txn_01a",
        "sub_01hruler",
        2,
    )
    assert t.email == "paddle.buyer@example.net" and t.amount_cents == 2900
    r = paddle_map.parse(
        f.dumps(f.paddle_transaction("evt_01b", "txn_01b", origin="subscription_recurring"))
    )[0]
    assert r.kind == "renewal"
    adj = paddle_map.parse(f.dumps(f.paddle_adjustment("evt_01c", "txn_01a", kind="partial")))[0]
    assert adj.kind == "refund" and adj.full is False
    cb = paddle_map.parse(f.dumps(f.paddle_adjustment("evt_01d", "txn_01a", action="chargeback")))[
        0
    ]
    assert cb.kind == "chargeback" and cb.stage == "opened"
    c = paddle_map.parse(
        f.dumps(
            f.paddle_subscription(
                "evt_01e", "subscription.canceled", "sub_1", cancel_at="2031-01-01T00:00:00Z"
            )
        )
    )[0]
    assert c.kind == "cancel" and c.period_end == datetime(2031, 1, 1, tzinfo=UTC)


def test_fastspring_mapping_several_events_in_one_post() -> None:
    body = f.fastspring(
        f.fs_order("fsev1", "ORD000001", quantity=2),
        f.fs_return("fsev2", "ORD000001"),
        f.fs_charge("fsev3", "fs-sub-1", "ORD000002", next_ms=1924992000000),
        f.fs_deactivated("fsev4", "fs-sub-1", end_ms=1924992000000),
    )
    order, ret, charge, deact = fs_map.parse(f.dumps(body))
    assert (order.kind, order.order, order.lines[0].item, order.subscription) == (
        "purchase",
        "ORD000001",
        "ruler-pro",
        "fs-sub-1",
    )
    assert (
        order.email == "FEN@example.com"
        and order.amount_cents == 3900
        and order.name == "Fen Spring"
    )
    assert (ret.kind, ret.order, ret.amount_cents, ret.full) == ("refund", "ORD000001", 3900, None)
    assert charge.kind == "renewal" and charge.period_end == datetime(2031, 1, 1, tzinfo=UTC)
    assert deact.kind == "cancel"


def test_generic_mapping_and_its_refusals() -> None:
    paid = generic_map.parse(
        f.dumps(
            f.generic(
                "g1",
                "order.paid",
                email="a@b.example",
                order="O-1",
                items=[{"item": "pro", "quantity": 2}],
                period_end="2031-01-01T00:00:00Z",
            )
        )
    )[0]
    assert (paid.kind, paid.order, paid.lines[0].quantity) == ("purchase", "O-1", 2)
    with pytest.raises(Malformed):
        generic_map.parse(f.dumps(f.generic("g2", "order.paid", order="O-1", items=[])))  # no email
    with pytest.raises(Malformed):
        generic_map.parse(f.dumps(f.generic("g3", "order.shipped", order="O-1")))
    with pytest.raises(Malformed):
        generic_map.parse(b"not json")
    with pytest.raises(Malformed):
        generic_map.parse(
            f.dumps(
                f.generic("g4", "order.paid", email="a@b.example", order="O", period_end="tomorrow")
            )
        )
