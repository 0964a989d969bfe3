"""Store webhook payloads shaped as each store's documentation shows them,
with our own values. Each builder returns the JSON-ready dict."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from licserver.domain.stores.signatures import HEADERS, sign


def dumps(payload: Any) -> bytes:
    return json.dumps(payload).encode()


def headers(provider: str, secret: str, body: bytes, at: int | None = None) -> dict[str, str]:
    now = int(time.time()) if at is None else at
    return {
        HEADERS[provider]: sign(provider, secret, body, now),
        "Content-Type": "application/json",
    }


def unix(y: int, m: int, d: int) -> int:
    return int(datetime(y, m, d, tzinfo=UTC).timestamp())


# ---- Stripe ---------------------------------------------------------------------


def stripe_event(eid: str, etype: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": eid,
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "livemode": False,
        "type": etype,
        "data": {"object": obj},
    }


def stripe_invoice_paid(
    eid: str,
    invoice: str,
    *,
    price: str = "price_ruler_pro",
    quantity: int = 1,
    sub: str | None = "sub_ruler_1",
    period_end: int | None = None,
    email: str = "Dana@Example.Org",
    reason: str = "subscription_create",
    amount: int = 4900,
) -> dict[str, Any]:
    end = period_end or unix(2031, 1, 1)
    return stripe_event(
        eid,
        "invoice.paid",
        {
            "id": invoice,
            "object": "invoice",
            "customer": "cus_dana",
            "customer_email": email,
            "customer_name": "Dana Ruler",
            "subscription": sub,
            "billing_reason": reason if sub else "manual",
            "charge": f"ch_{invoice}",
            "payment_intent": f"pi_{invoice}",
            "amount_paid": amount,
            "currency": "eur",
            "number": f"RUL-{invoice}",
            "lines": {
                "object": "list",
                "data": [
                    {
                        "id": f"il_{invoice}",
                        "price": {"id": price, "object": "price"},
                        "quantity": quantity,
                        "period": {"start": end - 30 * 86400, "end": end},
                    }
                ],
            },
        },
    )


def stripe_charge_refunded(eid: str, invoice: str, *, full: bool = True) -> dict[str, Any]:
    return stripe_event(
        eid,
        "charge.refunded",
        {
            "id": f"ch_{invoice}",
            "object": "charge",
            "invoice": invoice,
            "payment_intent": f"pi_{invoice}",
            "amount": 4900,
            "amount_refunded": 4900 if full else 1000,
            "refunded": full,
        },
    )


def stripe_dispute(eid: str, invoice: str, etype: str, status: str) -> dict[str, Any]:
    return stripe_event(
        eid,
        etype,
        {"id": f"dp_{invoice}", "object": "dispute", "charge": f"ch_{invoice}", "status": status},
    )


def stripe_subscription(
    eid: str, etype: str, sub: str, *, quantity: int = 1, cancel: bool = False, end: int = 0
) -> dict[str, Any]:
    return stripe_event(
        eid,
        etype,
        {
            "id": sub,
            "object": "subscription",
            "status": "active" if etype.endswith("updated") else "canceled",
            "cancel_at_period_end": cancel,
            "current_period_end": end or unix(2031, 1, 1),
            "ended_at": end or None if etype.endswith("deleted") else None,
            "items": {"data": [{"price": {"id": "price_ruler_pro"}, "quantity": quantity}]},
        },
    )


def stripe_payment_failed(eid: str, invoice: str, sub: str, *, gave_up: bool) -> dict[str, Any]:
    return stripe_event(
        eid,
        "invoice.payment_failed",
        {
            "id": invoice,
            "object": "invoice",
            "subscription": sub,
            "next_payment_attempt": None if gave_up else int(time.time()) + 86400,
        },
    )


# ---- Paddle Billing ---------------------------------------------------------------


def paddle_event(eid: str, etype: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "event_id": eid,
        "event_type": etype,
        "occurred_at": "2030-06-01T10:00:00.000000Z",
        "notification_id": "ntf_" + eid[4:],
        "data": data,
    }


def paddle_transaction(
    eid: str,
    txn: str,
    *,
    sub: str | None = "sub_01hruler",
    price: str = "pri_01hruler",
    quantity: int = 1,
    ends_at: str = "2031-01-01T00:00:00Z",
    origin: str = "web",
    email: str | None = "paddle.buyer@example.net",
) -> dict[str, Any]:
    return paddle_event(
        eid,
        "transaction.completed",
        {
            "id": txn,
            "status": "completed",
            "customer_id": "ctm_01hbuyer",
            "subscription_id": sub,
            "origin": origin,
            "currency_code": "USD",
            "invoice_number": f"3257-{txn[-4:]}",
            "custom_data": {"email": email} if email else None,
            "billing_period": {"starts_at": "2030-12-01T00:00:00Z", "ends_at": ends_at},
            "items": [{"price": {"id": price, "product_id": "pro_01hruler"}, "quantity": quantity}],
            "details": {"totals": {"total": "2900", "currency_code": "USD"}},
        },
    )


def paddle_adjustment(
    eid: str, txn: str, *, action: str = "refund", kind: str = "full"
) -> dict[str, Any]:
    return paddle_event(
        eid,
        "adjustment.created",
        {
            "id": "adj_" + eid[4:],
            "action": action,
            "transaction_id": txn,
            "type": kind,
            "status": "approved",
            "totals": {"total": "2900", "currency_code": "USD"},
        },
    )


def paddle_subscription(
    eid: str, etype: str, sub: str, *, quantity: int = 1, cancel_at: str | None = None
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": sub,
        "status": "canceled" if etype.endswith("canceled") else "active",
        "items": [{"price": {"id": "pri_01hruler"}, "quantity": quantity}],
        "current_billing_period": {"ends_at": "2031-01-01T00:00:00Z"},
        "scheduled_change": None,
    }
    if etype.endswith("canceled"):
        data["canceled_at"] = cancel_at
    elif cancel_at:
        data["scheduled_change"] = {"action": "cancel", "effective_at": cancel_at}
    return paddle_event(eid, etype, data)


# ---- FastSpring ------------------------------------------------------------------


def fastspring(*events: dict[str, Any]) -> dict[str, Any]:
    return {"events": list(events)}


def fs_event(eid: str, etype: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": eid,
        "type": etype,
        "live": False,
        "processed": False,
        "created": 1917000000000,
        "data": data,
    }


def fs_order(
    eid: str,
    order: str,
    *,
    path: str = "ruler-pro",
    quantity: int = 1,
    sub: str | None = "fs-sub-1",
) -> dict[str, Any]:
    return fs_event(
        eid,
        "order.completed",
        {
            "order": order,
            "id": order,
            "reference": f"RUL{order[-6:]}",
            "live": False,
            "currency": "USD",
            "total": 39.0,
            "customer": {"first": "Fen", "last": "Spring", "email": "FEN@example.com"},
            "items": [
                {"product": path, "quantity": quantity, "subtotal": 39.0, "subscription": sub}
            ],
        },
    )


def fs_charge(eid: str, sub: str, order: str, *, next_ms: int) -> dict[str, Any]:
    return fs_event(
        eid,
        "subscription.charge.completed",
        {
            "status": "successful",
            "total": 39.0,
            "currency": "USD",
            "order": {"id": order, "order": order, "reference": "RULREN"},
            "subscription": {
                "id": sub,
                "product": "ruler-pro",
                "quantity": 1,
                "nextChargeDate": next_ms,
            },
        },
    )


def fs_return(eid: str, order: str, *, total: float = 39.0) -> dict[str, Any]:
    return fs_event(
        eid,
        "return.created",
        {"return": "RET" + eid, "totalReturn": total, "original": {"id": order, "order": order}},
    )


def fs_deactivated(eid: str, sub: str, *, end_ms: int) -> dict[str, Any]:
    return fs_event(
        eid,
        "subscription.deactivated",
        {"id": sub, "subscription": sub, "state": "deactivated", "end": end_ms},
    )


# ---- generic --------------------------------------------------------------------


def generic(eid: str, etype: str, **fields: Any) -> dict[str, Any]:
    return {"id": eid, "type": etype, **fields}
