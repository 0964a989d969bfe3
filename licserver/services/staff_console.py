"""What the staff console reads: the one-box search, a customer's page, a
licence's page. Read-only; every change goes through the use-case services
(licences, activation, tokens, staff)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from licserver.domain.errors import LicenseServerError, NotFound
from licserver.models import Activation, Customer, Event, License, Order, Product, User
from licserver.services import customers as customer_service
from licserver.services import licenses as license_service
from licserver.services.context import Context
from licserver.services.credentials import verify_key

LIMIT = 50
EVENTS = 200


@dataclass
class SearchResults:
    query: str
    customers: list[Customer] = field(default_factory=list)
    licenses: list[License] = field(default_factory=list)
    installations: list[Activation] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.customers or self.licenses or self.installations)


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search(ctx: Context, query: str) -> SearchResults:
    """Customers by number, name or email (their portal users' too); licences
    by id or licence key; installations by installation id or machine name
    (active ones first). Names and emails match on a part, case-insensitive."""
    session = ctx.session
    q = query.strip()[:500]
    res = SearchResults(q)
    if not q:
        return res
    like = _like(q)
    user_customers = select(User.customer_id).where(func.lower(User.email).like(like, escape="\\"))
    res.customers = list(
        session.scalars(
            select(Customer)
            .where(
                or_(
                    Customer.number == q.upper(),
                    func.lower(Customer.name).like(like, escape="\\"),
                    func.lower(Customer.email).like(like, escape="\\"),
                    Customer.id.in_(user_customers),
                )
            )
            .order_by(Customer.name, Customer.id)
            .limit(LIMIT)
        ).all()
    )
    lic_ids = {q.upper()}
    if q.startswith("LK1"):
        try:
            lic_ids.add(verify_key(ctx, q).lid)
        except LicenseServerError:
            pass  # not a key of ours: no match
    res.licenses = list(
        session.scalars(
            select(License).where(License.public_id.in_(sorted(lic_ids))).order_by(License.id)
        ).all()
    )
    res.installations = list(
        session.scalars(
            select(Activation)
            .where(
                or_(
                    Activation.installation_id == q,
                    Activation.public_id == q.upper(),
                    func.lower(Activation.machine_name).like(like, escape="\\"),
                )
            )
            .order_by(Activation.deactivated_at.is_not(None), Activation.activated_at.desc())
            .limit(LIMIT)
        ).all()
    )
    return res


@dataclass
class CustomerPage:
    customer: Customer
    licenses: list[License]
    users: list[User]
    orders: list[Order]
    events: list[Event]


def customer_page(ctx: Context, number: str) -> CustomerPage:
    session = ctx.session
    cust = customer_service.get(ctx, number.strip().upper())
    return CustomerPage(
        customer=cust,
        licenses=list(
            session.scalars(
                select(License).where(License.customer_id == cust.id).order_by(License.created_at)
            ).all()
        ),
        users=list(
            session.scalars(select(User).where(User.customer_id == cust.id).order_by(User.email))
        ),
        orders=list(
            session.scalars(
                select(Order)
                .where(Order.customer_id == cust.id)
                .order_by(Order.order_date.desc(), Order.id.desc())
            )
            .unique()
            .all()
        ),
        events=_events(session, Event.customer_id == cust.id),
    )


@dataclass
class LicensePage:
    license: License
    active: list[Activation]
    past: list[Activation]
    events: list[Event]


def license_page(ctx: Context, public_id: str) -> LicensePage:
    session = ctx.session
    lic = license_service.get(ctx, public_id.strip().upper())
    acts: Sequence[Activation] = session.scalars(
        select(Activation).where(Activation.license_id == lic.id).order_by(Activation.activated_at)
    ).all()
    return LicensePage(
        license=lic,
        active=[a for a in acts if a.deactivated_at is None],
        past=[a for a in acts if a.deactivated_at is not None],
        events=_events(session, Event.license_id == lic.id),
    )


def _events(session: Session, where: object) -> list[Event]:
    return list(
        session.scalars(
            select(Event).where(where).order_by(Event.at.desc(), Event.id.desc()).limit(EVENTS)  # type: ignore[arg-type]
        ).all()
    )


def products(ctx: Context) -> list[Product]:
    session = ctx.session
    return list(session.scalars(select(Product).order_by(Product.code)).all())


def installation(ctx: Context, license_id: str, activation_id: str) -> Activation:
    """The licence's installation ``activation_id`` (NotFound when it belongs
    to another licence: a form posted for one licence never touches another)."""
    session = ctx.session
    act = session.scalars(select(Activation).where(Activation.public_id == activation_id)).first()
    if act is None or act.license.public_id != license_id:
        raise NotFound(f"No installation '{activation_id}' on licence {license_id}.")
    return act
