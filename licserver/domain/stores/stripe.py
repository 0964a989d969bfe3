"""Stripe's events as commands. A Stripe event is ``{id, type, created,
data: {object}}``; the fields read here are those of the API's Invoice,
Subscription, Charge and Dispute objects (older and newer API versions both:
an invoice's subscription is ``subscription`` or
``parent.subscription_details.subscription``, a line's price ``price.id`` or
``pricing.price_details.price``)."""

from __future__ import annotations

from typing import Any

from licserver.domain.stores import (
    Command,
    Line,
    Malformed,
    from_unix,
    ignored,
    load_json,
    obj,
    quantity,
    text,
    whole_cents,
)


def _subscription_of(invoice: dict[str, Any]) -> str | None:
    sub = invoice.get("subscription")
    if isinstance(sub, dict):
        sub = sub.get("id")
    if sub is None:
        parent = invoice.get("parent") or {}
        sub = ((parent.get("subscription_details") or {}) if isinstance(parent, dict) else {}).get(
            "subscription"
        )
    return text(sub, "subscription", required=False)


def _price_of(line: dict[str, Any]) -> str | None:
    price = line.get("price")
    if isinstance(price, dict) and price.get("id"):
        return str(price["id"])
    pricing = line.get("pricing") or {}
    details = pricing.get("price_details") if isinstance(pricing, dict) else None
    if isinstance(details, dict) and details.get("price"):
        return str(details["price"])
    return None


def _invoice_lines(invoice: dict[str, Any]) -> tuple[tuple[Line, ...], Any]:
    lines = obj(invoice.get("lines") or {"data": []}, "lines").get("data") or []
    out, period_end = [], None
    for i, raw in enumerate(lines):
        line = obj(raw, f"lines.data.{i}")
        price = _price_of(line)
        if price is None:
            continue
        out.append(Line(price, quantity(line.get("quantity"), f"lines.data.{i}.quantity")))
        end = from_unix((line.get("period") or {}).get("end"), f"lines.data.{i}.period.end")
        if end is not None and (period_end is None or end > period_end):
            period_end = end
    return tuple(out), period_end


def _invoice(eid: str, etype: str, inv: dict[str, Any]) -> Command:
    sub = _subscription_of(inv)
    lines, period_end = _invoice_lines(inv)
    refs = tuple(str(inv[k]) for k in ("charge", "payment_intent") if isinstance(inv.get(k), str))
    kind = "renewal" if sub and inv.get("billing_reason") == "subscription_cycle" else "purchase"
    return Command(
        kind,
        eid,
        etype,
        email=text(inv.get("customer_email"), "customer_email", required=False),
        name=inv.get("customer_name") if isinstance(inv.get("customer_name"), str) else None,
        order=text(inv.get("id"), "id"),
        refs=refs,
        subscription=sub,
        lines=lines,
        period_end=period_end if sub else None,
        amount_cents=whole_cents(inv.get("amount_paid"), "amount_paid"),
        currency=str(inv.get("currency") or "usd").upper(),
    )


def _subscription_updated(eid: str, etype: str, sub: dict[str, Any]) -> Command:
    items = obj(sub.get("items") or {"data": []}, "items").get("data") or []
    lines, period_end = [], from_unix(sub.get("current_period_end"), "current_period_end")
    for i, raw in enumerate(items):
        item = obj(raw, f"items.data.{i}")
        price = _price_of(item)
        if price:
            lines.append(Line(price, quantity(item.get("quantity"), f"items.data.{i}.quantity")))
        end = from_unix(item.get("current_period_end"), f"items.data.{i}.current_period_end")
        if end is not None and (period_end is None or end > period_end):
            period_end = end
    sid = text(sub.get("id"), "id")
    if sub.get("cancel_at_period_end") or sub.get("cancel_at"):
        end = from_unix(sub.get("cancel_at"), "cancel_at") or period_end
        return Command("cancel", eid, etype, subscription=sid, period_end=end)
    return Command("quantity_change", eid, etype, subscription=sid, lines=tuple(lines))


def parse(body: bytes) -> list[Command]:
    event = obj(load_json(body), "body")
    eid = text(event.get("id"), "id")
    etype = text(event.get("type"), "type")
    assert eid is not None and etype is not None
    o = obj(obj(event.get("data"), "data").get("object"), "data.object")
    if etype == "invoice.paid":
        return [_invoice(eid, etype, o)]
    if etype == "invoice.payment_failed":
        return [
            Command(
                "payment_failed",
                eid,
                etype,
                order=text(o.get("id"), "id"),
                subscription=_subscription_of(o),
                gave_up=o.get("next_payment_attempt") is None,
            )
        ]
    if etype == "customer.subscription.updated":
        return [_subscription_updated(eid, etype, o)]
    if etype == "customer.subscription.deleted":
        end = from_unix(o.get("ended_at"), "ended_at") or from_unix(
            o.get("current_period_end"), "current_period_end"
        )
        return [Command("cancel", eid, etype, subscription=text(o.get("id"), "id"), period_end=end)]
    if etype == "charge.refunded":
        amount = whole_cents(o.get("amount"), "amount")
        refunded = whole_cents(o.get("amount_refunded"), "amount_refunded")
        full = bool(o.get("refunded")) or (amount is not None and refunded == amount)
        return [
            Command(
                "refund",
                eid,
                etype,
                order=_charge_order(o),
                refs=_charge_refs(o),
                full=full,
                amount_cents=refunded,
            )
        ]
    if etype in ("charge.dispute.created", "charge.dispute.closed"):
        return [_dispute(eid, etype, o)]
    return [ignored(eid, etype)]


def _charge_order(charge: dict[str, Any]) -> str | None:
    inv = charge.get("invoice")
    return inv if isinstance(inv, str) and inv else None


def _charge_refs(charge: dict[str, Any]) -> tuple[str, ...]:
    return tuple(str(charge[k]) for k in ("id", "payment_intent") if isinstance(charge.get(k), str))


def _dispute(eid: str, etype: str, d: dict[str, Any]) -> Command:
    refs = tuple(str(d[k]) for k in ("charge", "payment_intent") if isinstance(d.get(k), str))
    if not refs:
        raise Malformed("A dispute must name its 'charge'.")
    if etype == "charge.dispute.created":
        stage = "opened"
    elif d.get("status") == "won":
        stage = "won"
    elif d.get("status") == "lost":
        stage = "lost"
    else:
        return ignored(eid, etype, f"A dispute closed as '{d.get('status')}' changes nothing.")
    return Command("chargeback", eid, etype, refs=refs, stage=stage)
