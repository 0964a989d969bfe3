"""Paddle Billing's events as commands. A Paddle notification is
``{event_id, event_type, occurred_at, data}``. Transactions name their buyer
by ``customer_id`` only; the email comes from ``data.customer.email`` when
present, else ``custom_data.email``, else the ``customer.created`` /
``customer.updated`` events the store sends (recorded, and a transaction
waiting for its customer is applied when it arrives). Amounts are strings in
the currency's smallest unit."""

from __future__ import annotations

from typing import Any

from licserver.domain.stores import (
    Command,
    Line,
    from_rfc3339,
    ignored,
    load_json,
    obj,
    part,
    quantity,
    text,
    whole_cents,
)


def _lines(items: Any, where: str) -> tuple[Line, ...]:
    out = []
    for i, raw in enumerate(items or []):
        item = obj(raw, f"{where}.{i}")
        price = obj(item.get("price") or {}, f"{where}.{i}.price").get("id") or item.get("price_id")
        if isinstance(price, str) and price:
            out.append(Line(price, quantity(item.get("quantity"), f"{where}.{i}.quantity")))
    return tuple(out)


def _period_end(data: dict[str, Any], key: str) -> Any:
    period = data.get(key)
    return (
        from_rfc3339(period.get("ends_at"), f"data.{key}.ends_at")
        if isinstance(period, dict)
        else None
    )


def _transaction(eid: str, etype: str, t: dict[str, Any]) -> Command:
    customer = part(t.get("customer"))
    custom = part(t.get("custom_data"))
    email = customer.get("email") or custom.get("email")
    totals = (t.get("details") or {}).get("totals") or {}
    sub = text(t.get("subscription_id"), "data.subscription_id", required=False)
    return Command(
        "renewal" if sub and t.get("origin") == "subscription_recurring" else "purchase",
        eid,
        etype,
        email=email if isinstance(email, str) and email else None,
        name=customer.get("name") if isinstance(customer.get("name"), str) else None,
        order=text(t.get("id"), "data.id"),
        refs=tuple(
            str(t["invoice_number"]) for _ in [0] if isinstance(t.get("invoice_number"), str)
        ),
        subscription=sub,
        lines=_lines(t.get("items"), "data.items"),
        period_end=_period_end(t, "billing_period") if sub else None,
        amount_cents=whole_cents(totals.get("total"), "data.details.totals.total"),
        currency=str(t.get("currency_code") or totals.get("currency_code") or "USD").upper(),
        store_customer=t.get("customer_id") if isinstance(t.get("customer_id"), str) else None,
    )


def _subscription(eid: str, etype: str, s: dict[str, Any]) -> Command:
    sid = text(s.get("id"), "data.id")
    change = s.get("scheduled_change") if isinstance(s.get("scheduled_change"), dict) else None
    if etype == "subscription.canceled" or s.get("status") == "canceled":
        end = from_rfc3339(s.get("canceled_at"), "data.canceled_at") or _period_end(
            s, "current_billing_period"
        )
        return Command("cancel", eid, etype, subscription=sid, period_end=end)
    if change and change.get("action") == "cancel":
        end = from_rfc3339(change.get("effective_at"), "data.scheduled_change.effective_at")
        return Command("cancel", eid, etype, subscription=sid, period_end=end)
    if s.get("status") == "paused" and change is None:
        # Paddle pauses a subscription whose dunning ran out when set to.
        return Command("payment_failed", eid, etype, subscription=sid, gave_up=True)
    return Command(
        "quantity_change", eid, etype, subscription=sid, lines=_lines(s.get("items"), "data.items")
    )


def _adjustment(eid: str, etype: str, a: dict[str, Any]) -> Command:
    action = a.get("action")
    txn = text(a.get("transaction_id"), "data.transaction_id")
    if a.get("status") not in (None, "approved"):
        return ignored(eid, etype, f"An adjustment still '{a.get('status')}' changes nothing yet.")
    if action == "refund":
        return Command("refund", eid, etype, order=txn, full=a.get("type") == "full")
    stages = {"chargeback": "opened", "chargeback_warning": "opened", "chargeback_reverse": "won"}
    if action in stages:
        return Command("chargeback", eid, etype, order=txn, stage=stages[action])
    return ignored(eid, etype, f"An adjustment of action '{action}' changes nothing.")


def parse(body: bytes) -> list[Command]:
    event = obj(load_json(body), "body")
    eid = text(event.get("event_id"), "event_id")
    etype = text(event.get("event_type"), "event_type")
    assert eid is not None and etype is not None
    data = obj(event.get("data"), "data")
    if etype == "transaction.completed":
        return [_transaction(eid, etype, data)]
    if etype in ("subscription.updated", "subscription.canceled"):
        return [_subscription(eid, etype, data)]
    if etype == "adjustment.created":
        return [_adjustment(eid, etype, data)]
    if etype in ("customer.created", "customer.updated"):
        email = text(data.get("email"), "data.email")
        return [
            Command(
                "ignored",
                eid,
                etype,
                email=email,
                name=data.get("name") if isinstance(data.get("name"), str) else None,
                store_customer=text(data.get("id"), "data.id"),
                reason="The customer's email is noted for their transactions.",
            )
        ]
    return [ignored(eid, etype)]
