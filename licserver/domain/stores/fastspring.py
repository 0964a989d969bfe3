"""FastSpring's events as commands. One post may carry several events:
``{events: [{id, type, live, created, data}]}``, each recorded and applied on
its own. Items are named by product path; amounts are decimals in the
currency's unit; dates are milliseconds since the epoch (``…InSeconds`` fields
are preferred when present)."""

from __future__ import annotations

from typing import Any

from licserver.domain.stores import (
    Command,
    Line,
    Malformed,
    decimal_cents,
    from_unix,
    ignored,
    load_json,
    obj,
    part,
    quantity,
    text,
)


def _millis(value: Any, where: str) -> Any:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Malformed(f"'{where}' must be milliseconds since the epoch.")
    return from_unix(value / 1000, where)


def _ref(value: Any, where: str) -> str | None:
    """A FastSpring reference is an id string or an expanded object with ``id``."""
    if isinstance(value, dict):
        value = value.get("id")
    return text(value, where, required=False)


def _order(eid: str, etype: str, o: dict[str, Any], kind: str = "purchase") -> Command:
    cust = part(o.get("customer"))
    name = " ".join(str(cust[k]) for k in ("first", "last") if cust.get(k)) or None
    lines, subs = [], []
    for i, raw in enumerate(o.get("items") or []):
        item = obj(raw, f"data.items.{i}")
        path = text(item.get("product"), f"data.items.{i}.product")
        assert path is not None
        lines.append(Line(path, quantity(item.get("quantity"), f"data.items.{i}.quantity")))
        sub = _ref(item.get("subscription"), f"data.items.{i}.subscription")
        if sub:
            subs.append(sub)
    return Command(
        kind,
        eid,
        etype,
        email=cust.get("email") if isinstance(cust.get("email"), str) else None,
        name=name,
        order=_ref(o.get("id") or o.get("order"), "data.id"),
        refs=tuple(str(o["reference"]) for _ in [0] if isinstance(o.get("reference"), str)),
        subscription=subs[0] if subs else None,
        lines=tuple(lines),
        amount_cents=decimal_cents(o.get("total"), "data.total"),
        currency=str(o.get("currency") or "USD").upper(),
    )


def _charge(eid: str, etype: str, d: dict[str, Any]) -> Command:
    sub = part(d.get("subscription"))
    order = part(d.get("order"))
    sid = _ref(d.get("subscription"), "data.subscription")
    end = _millis(sub.get("nextChargeDate") or sub.get("next"), "data.subscription.next")
    lines: tuple[Line, ...] = ()
    if sub.get("product"):
        lines = (
            Line(str(sub["product"]), quantity(sub.get("quantity"), "data.subscription.quantity")),
        )
    return Command(
        "renewal",
        eid,
        etype,
        order=_ref(order.get("id") or order.get("order"), "data.order.id"),
        subscription=sid,
        lines=lines,
        period_end=end,
        amount_cents=decimal_cents(d.get("total") or order.get("total"), "data.total"),
        currency=str(d.get("currency") or order.get("currency") or "USD").upper(),
    )


def _one(raw: Any, i: int) -> Command:
    event = obj(raw, f"events.{i}")
    eid = text(event.get("id"), f"events.{i}.id")
    etype = text(event.get("type"), f"events.{i}.type")
    assert eid is not None and etype is not None
    data = obj(event.get("data"), f"events.{i}.data")
    if etype == "order.completed":
        return _order(eid, etype, data)
    if etype == "subscription.charge.completed":
        return _charge(eid, etype, data)
    if etype == "subscription.deactivated":
        end = _millis(data.get("deactivationDate") or data.get("end"), "data.end")
        return Command(
            "cancel",
            eid,
            etype,
            subscription=_ref(data.get("id") or data.get("subscription"), "data.id"),
            period_end=end,
        )
    if etype == "return.created":
        original = part(data.get("original"))
        order = _ref(original.get("id") or original.get("order"), "data.original.id")
        if order is None:
            raise Malformed("A return must name its 'original' order.")
        # Full when it returns the order's whole total: compared with the
        # amount recorded at purchase (services.stores), so None here.
        return Command(
            "refund",
            eid,
            etype,
            order=order,
            amount_cents=decimal_cents(data.get("totalReturn"), "data.totalReturn"),
        )
    return ignored(eid, etype)


def parse(body: bytes) -> list[Command]:
    payload = obj(load_json(body), "body")
    events = payload.get("events")
    if not isinstance(events, list) or not events:
        raise Malformed("'events' must be a non-empty list.")
    return [_one(raw, i) for i, raw in enumerate(events)]
