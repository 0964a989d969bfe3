"""Orders the billing system reports (``POST /api/v1/orders``): the payment
history and invoices of the portal."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from licserver.database import begin_write
from licserver.domain import portal as rules
from licserver.domain.errors import Conflict, NotFound, ValidationFailed
from licserver.domain.portal import Principal
from licserver.models import Customer, License, Order, OrderItem
from licserver.services import Origin, events
from licserver.services import customers as customer_service
from licserver.services.context import Context
from licserver.services.pagination import Page, PageRequest, fetch
from licserver.services.settings import Seller


@dataclass(frozen=True)
class ItemIn:
    description: str
    amount: Decimal
    license_id: str | None = None


MAX_AMOUNT = Decimal(10**12)


def cents(amount: Decimal) -> int:
    """Hundredths of the currency unit; more precision than that is refused."""
    if not amount.is_finite() or abs(amount) >= MAX_AMOUNT:
        raise ValidationFailed({"amount": ["Must be a number under 10^12 either way."]})
    scaled = amount * 100
    if scaled != scaled.to_integral_value():
        raise ValidationFailed({"amount": ["At most two decimal places."]})
    return int(scaled)


def money(amount_cents: int) -> str:
    """``1234.50``: the exact amount as text (never a float)."""
    sign = "-" if amount_cents < 0 else ""
    whole, frac = divmod(abs(amount_cents), 100)
    return f"{sign}{whole}.{frac:02d}"


# Over 60 lines on purpose: one transaction (checks, the order, its items, the
# event, the commit and its CONFLICT) that reads best in one place.
def create(
    ctx: Context,
    *,
    customer: str,
    number: str,
    date: dt.date,
    amount: Decimal,
    currency: str,
    po_number: str | None,
    items: list[ItemIn],
    origin: Origin | None = None,
) -> Order:
    """Record an order; its items must add up to ``amount``. A number already
    recorded is CONFLICT (the billing system's retry of a done request). With
    ``origin``, an ``order.created`` event names who recorded it."""
    session = ctx.session
    total = cents(amount)
    item_cents = []
    for i, item in enumerate(items):
        try:
            item_cents.append(cents(item.amount))
        except ValidationFailed as exc:
            raise ValidationFailed({f"items.{i}.amount": exc.errors["amount"]}) from None
    if sum(item_cents) != total:
        raise ValidationFailed(
            {"items": [f"The items add up to {money(sum(item_cents))}, not {money(total)}."]}
        )
    begin_write(session)
    try:
        cust = customer_service.get(ctx, customer)
        if session.scalars(select(Order.id).where(Order.number == number)).first() is not None:
            raise Conflict(f"An order numbered '{number}' is recorded already.")
        wanted = {i.license_id for i in items if i.license_id}
        by_public: dict[str, License] = {}
        if wanted:
            rows = session.scalars(
                select(License).where(License.public_id.in_(wanted), License.customer_id == cust.id)
            ).unique()
            by_public = {lic.public_id: lic for lic in rows}
            missing = sorted(wanted - set(by_public))
            if missing:
                raise NotFound(f"No licence {', '.join(missing)} for customer {customer}.")
        order = Order(
            number=number,
            customer_id=cust.id,
            order_date=date,
            amount_cents=total,
            currency=currency.upper(),
            po_number=po_number,
            items=[
                OrderItem(
                    position=i,
                    description=item.description,
                    amount_cents=c,
                    license_id=by_public[item.license_id].id if item.license_id else None,
                )
                for i, (item, c) in enumerate(zip(items, item_cents, strict=True))
            ],
        )
        order.customer = cust
        session.add(order)
        if origin is not None:
            data = {"number": number, "amount": money(total), "currency": order.currency}
            events.record(session, "order.created", origin, customer_id=cust.id, data=data)
        session.commit()
        return order
    except IntegrityError:
        session.rollback()
        raise Conflict(f"An order numbered '{number}' is recorded already.") from None
    except BaseException:
        session.rollback()
        raise


def list_orders(ctx: Context, req: PageRequest, customer: str | None = None) -> Page[Order]:
    """Orders, oldest first; with ``customer``, that customer's."""
    q = select(Order)
    if customer:
        cust = customer_service.get(ctx, customer)
        q = q.where(Order.customer_id == cust.id)
    return fetch(ctx.session, q, Order.id, req)


def get_by_number(ctx: Context, number: str) -> Order:
    session = ctx.session
    order = session.scalars(select(Order).where(Order.number == number)).unique().first()
    if order is None:
        raise NotFound(f"No order numbered '{number}'.")
    return order


def for_account(ctx: Context, principal: Principal) -> list[Order]:
    """The account's orders, newest first."""
    session = ctx.session
    rules.check(principal, rules.PAYMENTS)
    return list(
        session.scalars(
            select(Order)
            .where(Order.customer_id == principal.customer_id)
            .order_by(Order.order_date.desc(), Order.id.desc())
        )
        .unique()
        .all()
    )


def get_for_account(ctx: Context, principal: Principal, order_id: int) -> Order:
    session = ctx.session
    rules.check(principal, rules.PAYMENTS)
    order = session.get(Order, order_id)
    if order is None or order.customer_id != principal.customer_id:
        raise NotFound("No such order.")
    return order


@dataclass(frozen=True)
class Invoice:
    """A printable invoice: the order, whom it bills, who sells."""

    order: Order
    customer: Customer
    seller: Seller


def invoice_for_account(ctx: Context, principal: Principal, order_id: int) -> Invoice:
    """One of the account's orders as its invoice, naming the vendor (settings)."""
    order = get_for_account(ctx, principal, order_id)
    customer = ctx.session.get(Customer, principal.customer_id)
    if customer is None:
        raise NotFound("No such account.")
    return Invoice(order, customer, ctx.settings.seller)
