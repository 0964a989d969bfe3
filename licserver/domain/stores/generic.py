"""The generic format (API.md, "Store integrations"), for a store we have no
module for or a vendor's own checkout: ``{id, type, email, name?, order,
subscription?, items: [{item, quantity}], period_end?}``, and, our own
addition, ``amount_cents?``/``currency?`` for the order's payment history."""

from __future__ import annotations

from licserver.domain.stores import (
    Command,
    Line,
    Malformed,
    from_rfc3339,
    load_json,
    obj,
    quantity,
    text,
    whole_cents,
)

_KINDS = {
    "order.paid": "purchase",
    "order.refunded": "refund",
    "subscription.renewed": "renewal",
    "subscription.canceled": "cancel",
    "subscription.payment_failed": "payment_failed",
}


def parse(body: bytes) -> list[Command]:
    event = obj(load_json(body), "body")
    eid = text(event.get("id"), "id")
    etype = text(event.get("type"), "type")
    assert eid is not None and etype is not None
    if etype not in _KINDS:
        raise Malformed(f"'type' must be one of {', '.join(sorted(_KINDS))}.")
    kind = _KINDS[etype]
    email = text(event.get("email"), "email", required=kind == "purchase")
    if email is not None and "@" not in email:
        raise Malformed("'email' must be an email address.")
    raw_items = event.get("items") or []
    if not isinstance(raw_items, list):
        raise Malformed("'items' must be a list.")
    lines = []
    for i, raw in enumerate(raw_items):
        item = obj(raw, f"items.{i}")
        name = text(item.get("item"), f"items.{i}.item")
        assert name is not None
        lines.append(Line(name, quantity(item.get("quantity"), f"items.{i}.quantity")))
    order = text(event.get("order"), "order", required=kind in ("purchase", "refund"))
    sub = text(event.get("subscription"), "subscription", required=kind in ("renewal", "cancel"))
    name_value = event.get("name")
    currency = event.get("currency")
    if currency is not None and not (isinstance(currency, str) and len(currency) == 3):
        raise Malformed("'currency' must be a three-letter currency code.")
    return [
        Command(
            kind,
            eid,
            etype,
            email=email,
            name=name_value if isinstance(name_value, str) else None,
            order=order,
            subscription=sub,
            lines=tuple(lines),
            period_end=from_rfc3339(event.get("period_end"), "period_end"),
            amount_cents=whole_cents(event.get("amount_cents"), "amount_cents")
            if event.get("amount_cents") is not None
            else None,
            currency=currency.upper() if currency else None,
            # A refund in the generic format is of the whole order; the
            # store that refunds part of one sends nothing (or order.paid
            # stays as it is).
            full=True if kind == "refund" else None,
            # "payment_failed" in the generic format means the store gave up.
            gave_up=kind == "payment_failed",
        )
    ]
