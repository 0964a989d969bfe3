"""What each store command does to licences, for every store alike. Runs
inside the transaction that records the store event (``receive``): nothing
here commits. Every licence change is a history event with actor ``system``
and the store event id in ``data``, so our outgoing webhooks fire for it."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from licserver.domain.status import transition
from licserver.domain.stores import Command
from licserver.models import Customer, License, Order, OrderItem, utcnow
from licserver.models.store import StoreCustomer, StoreIntegration, StoreLink
from licserver.services import SYSTEM, Origin, events
from licserver.services import customers as customer_service
from licserver.services import licenses as license_service
from licserver.services import products as product_service
from licserver.services.stores import Ctx

log = logging.getLogger(__name__)
ORIGIN = Origin(SYSTEM)


@dataclass
class Issued:
    """A licence made for a buyer, for the email sent after the commit."""

    email: str
    name: str
    license_id: str
    product: str
    key: str
    password: str
    invitation: str | None  # a portal invitation token, when they have no password


@dataclass
class Result:
    outcome: str  # applied | ignored | failed
    detail: str
    held: bool = False  # waiting for another event: tried again after the next that applies
    licenses: list[str] = field(default_factory=list)
    issued: list[Issued] = field(default_factory=list)
    staff_notice: str | None = None


def _held(detail: str) -> Result:
    return Result("failed", detail, held=True)


def _iso(at: datetime | None) -> str | None:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ") if at else None


def _locked_licenses(session: Session, links: list[StoreLink]) -> list[License]:
    q = select(License).where(License.id.in_([lk.license_id for lk in links]))
    q = q.order_by(License.id).execution_options(populate_existing=True)
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(of=License)
    return list(session.scalars(q).unique())


def _links(session: Session, integ: StoreIntegration, cmd: Command, by: str) -> list[StoreLink]:
    q = select(StoreLink).where(StoreLink.integration_id == integ.id)
    if by == "subscription":
        if not cmd.subscription:
            return []
        q = q.where(StoreLink.subscription_ref == cmd.subscription)
    else:
        names = [n for n in (cmd.order, *cmd.refs) if n]
        if not names:
            return []
        rows = list(session.scalars(q))
        return [lk for lk in rows if lk.order_ref in names or set(lk.refs) & set(names)]
    return list(session.scalars(q.order_by(StoreLink.id)))


def _event(session: Session, kind: str, lic: License, cmd: Command, data: dict[str, Any]) -> None:
    events.record(
        session,
        kind,
        ORIGIN,
        license=lic,
        data={**data, "store_event": cmd.event_id, "store_event_type": cmd.event_type},
    )


def _set_status(session: Session, lic: License, action: str, cmd: Command) -> bool:
    kinds = {
        "suspend": "license.suspended",
        "reinstate": "license.reinstated",
        "revoke": "license.revoked",
    }
    if lic.status == "revoked" or (action == "reinstate" and lic.status != "suspended"):
        return False
    target = transition(lic.status, action)
    if target is None:
        return False
    before, lic.status = lic.status, target
    _event(session, kinds[action], lic, cmd, {"from": before, "to": target})
    return True


def _set_expiry(session: Session, lic: License, new: datetime | None, cmd: Command) -> None:
    if new != lic.expires_at:
        diff = {"expires_at": {"from": _iso(lic.expires_at), "to": _iso(new)}}
        lic.expires_at = new
        _event(session, "license.updated", lic, cmd, diff)


# ---- purchase and renewal ---------------------------------------------------------


def paid(ctx: Ctx, integ: StoreIntegration, cmd: Command) -> Result:
    """``purchase`` or ``renewal``: renew the licences of its subscription (or
    order) when there are any, else issue them. So a renewal that arrives
    before the first invoice, or a purchase after it, ends the same way."""
    session = ctx.session
    links = _links(session, integ, cmd, "subscription") or _links(session, integ, cmd, "order")
    if links:
        if not cmd.subscription:
            return Result("ignored", f"Licences for order {cmd.order} are issued already.")
        return _renew(ctx, integ, cmd, links)
    email = cmd.email or _store_customer_email(session, integ, cmd)
    if not email:
        what = "the buyer's email (a customer event)" if cmd.store_customer else "the purchase"
        return _held(f"Waiting for {what}: nothing to renew yet.")
    return _issue(ctx, integ, cmd, email)


def _store_customer_email(session: Session, integ: StoreIntegration, cmd: Command) -> str | None:
    if not cmd.store_customer:
        return None
    row = session.scalars(
        select(StoreCustomer).where(
            StoreCustomer.integration_id == integ.id, StoreCustomer.store_ref == cmd.store_customer
        )
    ).first()
    return row.email if row else None


def note_customer(session: Session, integ: StoreIntegration, cmd: Command) -> None:
    """Paddle's customer.created/updated: remember the email for its transactions."""
    assert cmd.store_customer and cmd.email
    row = session.scalars(
        select(StoreCustomer).where(
            StoreCustomer.integration_id == integ.id, StoreCustomer.store_ref == cmd.store_customer
        )
    ).first()
    if row is None:
        row = StoreCustomer(integration_id=integ.id, store_ref=cmd.store_customer, email=cmd.email)
        session.add(row)
    row.email, row.name = cmd.email, cmd.name


def _renew(ctx: Ctx, integ: StoreIntegration, cmd: Command, links: list[StoreLink]) -> Result:
    session = ctx.session
    mapping = {i["store_item"]: i for i in integ.items}
    by_license = {lk.license_id: lk for lk in links}
    changed = []
    for lic in _locked_licenses(session, links):
        link = by_license[lic.id]
        end = cmd.period_end
        if end is None:
            days = (mapping.get(link.store_item) or {}).get("duration_days")
            if days:
                end = max(lic.expires_at or utcnow(), utcnow()) + timedelta(days=days)
        if end is not None and link.ends_at is not None:
            end = min(end, link.ends_at)  # cancelled: never past the paid period
        if end is not None and lic.expires_at is not None and end > lic.expires_at:
            old = lic.expires_at
            lic.expires_at = end
            _event(session, "license.renewed", lic, cmd, {"from": _iso(old), "to": _iso(end)})
        _set_status(session, lic, "reinstate", cmd)
        changed.append(lic.public_id)
    _record_order(session, integ, cmd, _customer_of(session, links[0]), [])
    return Result("applied", f"Renewed {', '.join(changed)}.", licenses=changed)


def _customer_of(session: Session, link: StoreLink) -> Customer:
    lic = session.get(License, link.license_id)
    assert lic is not None
    return lic.customer


INVITATION_HOURS = 72


def _issue(ctx: Ctx, integ: StoreIntegration, cmd: Command, email: str) -> Result:
    session = ctx.session
    mapping = {i["store_item"]: i for i in integ.items}
    unknown = [ln.item for ln in cmd.lines if ln.item not in mapping]
    if unknown or not cmd.lines:
        what = ", ".join(f"'{u}'" for u in unknown) or "no items"
        return Result(
            "failed", f"Unknown store item {what}: map it, then re-apply. Nothing was issued."
        )
    cust, invitation = customer_service.buyer(ctx, email, cmd.name, INVITATION_HOURS)
    issued: list[Issued] = []
    made: list[tuple[License, StoreLink]] = []
    for line in cmd.lines:
        item = mapping[line.item]
        if line.quantity < 1:
            continue
        lic, key, password = _new_license(ctx, cust, item, line.quantity, cmd)
        link = StoreLink(
            integration_id=integ.id,
            license_id=lic.id,
            store_item=line.item,
            order_ref=cmd.order or cmd.event_id,
            refs=list(cmd.refs),
            subscription_ref=cmd.subscription,
            amount_cents=cmd.amount_cents,
            seats_per_unit=int(item.get("seats_per_unit") or 1),
        )
        session.add(link)
        made.append((lic, link))
        issued.append(
            Issued(
                email,
                cmd.name or cust.name,
                lic.public_id,
                item["product"],
                key,
                password,
                invitation,
            )
        )
    _record_order(session, integ, cmd, cust, [lic for lic, _ in made])
    ids = [lic.public_id for lic, _ in made]
    return Result(
        "applied",
        f"Issued {', '.join(ids)} to customer {cust.number}.",
        licenses=ids,
        issued=issued,
    )


def _new_license(
    ctx: Ctx, cust: Customer, item: dict[str, Any], qty: int, cmd: Command
) -> tuple[License, str, str]:
    """Through ``services.licenses.issue``, the one way a licence is made;
    it expires at the paid period's end, else ``duration_days`` from now,
    else never (not the product's default: the store says what was sold)."""
    prod = product_service.get(ctx, item["product"])
    pol = license_service.policy_of(ctx, prod.id, item.get("policy"))
    expires = cmd.period_end
    if expires is None and item.get("duration_days"):
        expires = utcnow() + timedelta(days=int(item["duration_days"]))
    lic, secrets = license_service.issue(
        ctx,
        ORIGIN,
        prod,
        cust,
        seats=qty * int(item.get("seats_per_unit") or 1),
        expires_at=expires,
        policy=pol,
        event_data={"store_event": cmd.event_id, "store_event_type": cmd.event_type},
    )
    return lic, secrets.key, secrets.activation_password


def _record_order(
    session: Session, integ: StoreIntegration, cmd: Command, cust: Customer, lics: list[License]
) -> None:
    """The payment in the customer's history (``GET /api/v1/orders``), once:
    an order number recorded already (a repeat, or the same number sent
    through ``POST /api/v1/orders``) is left as it is."""
    if not cmd.order:
        return
    amount = cmd.amount_cents or 0  # a store that sends no amount: recorded as 0
    if session.scalars(select(Order.id).where(Order.number == cmd.order[:64])).first() is not None:
        return
    descr = [
        f"{lic.product.name} ({lic.seats} seat{'s' if lic.seats != 1 else ''})" for lic in lics
    ] or [f"Renewal via {integ.name}"]
    amounts = [amount // len(descr)] * len(descr)
    amounts[0] += amount - sum(amounts)
    order = Order(
        number=cmd.order[:64],
        customer_id=cust.id,
        order_date=date.today(),
        amount_cents=amount,
        currency=(cmd.currency or "USD")[:3].upper(),
        items=[
            OrderItem(
                position=i,
                description=d[:500],
                amount_cents=a,
                license_id=lics[i].id if i < len(lics) else None,
            )
            for i, (d, a) in enumerate(zip(descr, amounts, strict=True))
        ],
    )
    session.add(order)
    session.flush()


# ---- everything else ---------------------------------------------------------------


def refund(ctx: Ctx, integ: StoreIntegration, cmd: Command) -> Result:
    links = _links(ctx.session, integ, cmd, "order")
    if not links:
        return _held(
            f"A refund of order {cmd.order or cmd.refs[0]}, not seen yet: applied when it arrives."
        )
    full = cmd.full
    if full is None:
        paid_cents = links[0].amount_cents
        full = paid_cents is None or (cmd.amount_cents or 0) >= paid_cents
    if not full:
        return Result("applied", "A partial refund: recorded, nothing changed.", licenses=[])
    return _status_all(ctx, links, integ.on_refund, cmd, "Full refund")


def chargeback(ctx: Ctx, integ: StoreIntegration, cmd: Command) -> Result:
    links = _links(ctx.session, integ, cmd, "order")
    if not links:
        return _held("A chargeback of a payment not seen yet: applied when it arrives.")
    action = {"opened": "suspend", "lost": "revoke", "won": "reinstate"}[cmd.stage or "opened"]
    return _status_all(ctx, links, action, cmd, f"Chargeback {cmd.stage}")


def payment_failed(ctx: Ctx, integ: StoreIntegration, cmd: Command) -> Result:
    if not cmd.gave_up:
        return Result("ignored", "The store will try the payment again: nothing changes yet.")
    links = _links(ctx.session, integ, cmd, "subscription") or _links(
        ctx.session, integ, cmd, "order"
    )
    if not links:
        return _held("A failed payment of a subscription not seen yet.")
    return _status_all(ctx, links, "suspend", cmd, "The store gave up on the payment")


def _status_all(ctx: Ctx, links: list[StoreLink], action: str, cmd: Command, why: str) -> Result:
    ids = []
    for lic in _locked_licenses(ctx.session, links):
        _set_status(ctx.session, lic, action, cmd)
        ids.append(lic.public_id)
    return Result("applied", f"{why}: {action} {', '.join(ids)}.", licenses=ids)


def cancel(ctx: Ctx, integ: StoreIntegration, cmd: Command) -> Result:
    session = ctx.session
    links = _links(session, integ, cmd, "subscription")
    if not links:
        return _held(f"A cancellation of subscription {cmd.subscription}, not seen yet.")
    end = cmd.period_end or utcnow()
    by_license = {lk.license_id: lk for lk in links}
    ids = []
    for lic in _locked_licenses(session, links):
        link = by_license[lic.id]
        link.ends_at = end if link.ends_at is None else min(link.ends_at, end)
        _set_expiry(session, lic, link.ends_at, cmd)
        ids.append(lic.public_id)
    return Result("applied", f"Ends at {_iso(end)}: {', '.join(ids)}.", licenses=ids)


def quantity_change(ctx: Ctx, integ: StoreIntegration, cmd: Command) -> Result:
    session = ctx.session
    links = _links(session, integ, cmd, "subscription")
    if not links:
        return _held(f"A change of subscription {cmd.subscription}, not seen yet.")
    qty = {ln.item: ln.quantity for ln in cmd.lines}
    by_license = {lk.license_id: lk for lk in links}
    lics = _locked_licenses(session, links)
    plan = []
    for lic in lics:
        link = by_license[lic.id]
        if link.store_item not in qty:
            continue
        seats = max(1, qty[link.store_item] * link.seats_per_unit)
        if seats < lic.seats_used:
            msg = (
                f"{lic.public_id} has {lic.seats_used} seats in use; "
                f"the store asks for {seats}. Nothing changed."
            )
            log.warning("store quantity change refused: %s", msg)
            return Result("failed", msg, staff_notice=msg)
        plan.append((lic, seats))
    ids = []
    for lic, seats in plan:
        if seats != lic.seats:
            _event(
                session, "license.updated", lic, cmd, {"seats": {"from": lic.seats, "to": seats}}
            )
            lic.seats = seats
            ids.append(lic.public_id)
    if not ids:
        return Result("ignored", "The quantities are those the licences have already.")
    return Result("applied", f"Seats changed: {', '.join(ids)}.", licenses=ids)


def apply(ctx: Ctx, integ: StoreIntegration, cmd: Command) -> Result:
    if cmd.kind == "ignored":
        if cmd.store_customer and cmd.email:
            note_customer(ctx.session, integ, cmd)
            return Result("applied", cmd.reason or "Noted.")
        return Result("ignored", cmd.reason or "Not acted on.")
    handlers = {
        "purchase": paid,
        "renewal": paid,
        "refund": refund,
        "chargeback": chargeback,
        "payment_failed": payment_failed,
        "cancel": cancel,
        "quantity_change": quantity_change,
    }
    return handlers[cmd.kind](ctx, integ, cmd)
