"""The console's lists: customers, products, licences, installations, orders.

One read model per list (a :class:`ListSpec`: its query under the filters,
its sortable columns, its CSV columns); :func:`page` reads one page with the
count, :func:`export` every row in the same order for the CSV. Read-only.
Other lists (bulk actions' previews, the audit log) build on the same
``services.listing``."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, literal, or_, select

from licserver.domain.errors import ValidationFailed
from licserver.domain.status import ALL as LICENSE_STATUSES
from licserver.domain.status import effective_status, stored_terms
from licserver.models import Activation, Customer, License, Order, Product
from licserver.models.base import UTCDateTime
from licserver.models.policy import Policy
from licserver.services import listing
from licserver.services.context import Context
from licserver.services.listing import Column, ListPage, ListRequest, Sort
from licserver.services.orders import money

# Nullable sort keys sort as if far in the future ("never expires" last
# when soonest first) or long ago ("never checked in" first).
_NEVER = datetime(9999, 12, 31, tzinfo=UTC)
_LONG_AGO = datetime(1970, 1, 1, tzinfo=UTC)
INSTALLATION_STATES = ("active", "inactive", "deactivated")
MAX_EXPIRING_DAYS = 36500


@dataclass(frozen=True)
class Filters:
    """Every list's filters; each list reads those it has (see ``ListSpec.filters``)."""

    text: str = ""
    status: str = ""
    product: str = ""  # product code
    policy: str = ""  # policy public id
    customer: str = ""  # customer number
    expiring_days: int | None = None  # expires within this many days from now


@dataclass(frozen=True)
class ListSpec:
    name: str  # "licences": for counts ("1,234 licences") and file names
    id_col: Any
    columns: Mapping[str, Column]
    default_sort: Sort
    filters: tuple[str, ...]
    build: Callable[[Context, Filters], Select[Any]]
    headers: tuple[str, ...]
    row: Callable[[Context, Any], list[Any]]


def _time(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else ""


def _text(col: Any, text: str) -> Any:
    return func.lower(col).like(listing.like(text), escape="\\")


def _literal_time(value: datetime) -> Any:
    return literal(value, type_=UTCDateTime())


# ---- customers -------------------------------------------------------------------


def _customers(ctx: Context, f: Filters) -> Select[Any]:
    q = select(Customer)
    if f.text:
        q = q.where(
            or_(
                Customer.number == f.text.strip().upper(),
                _text(Customer.name, f.text),
                _text(Customer.email, f.text),
            )
        )
    return q


CUSTOMERS = ListSpec(
    name="customers",
    id_col=Customer.id,
    columns={
        "number": Column(Customer.number, "str"),
        "name": Column(func.lower(Customer.name), "str"),
        "email": Column(Customer.email, "str"),
        "created": Column(Customer.created_at, "datetime"),
    },
    default_sort=Sort("name"),
    filters=("text",),
    build=_customers,
    headers=("number", "name", "email", "created_at"),
    row=lambda ctx, c: [c.number, c.name, c.email, _time(c.created_at)],
)


# ---- products --------------------------------------------------------------------


def _products(ctx: Context, f: Filters) -> Select[Any]:
    q = select(Product)
    if f.text:
        q = q.where(or_(_text(Product.code, f.text), _text(Product.name, f.text)))
    return q


PRODUCTS = ListSpec(
    name="products",
    id_col=Product.id,
    columns={
        "code": Column(Product.code, "str"),
        "name": Column(func.lower(Product.name), "str"),
        "created": Column(Product.created_at, "datetime"),
    },
    default_sort=Sort("code"),
    filters=("text",),
    build=_products,
    headers=(
        "code",
        "name",
        "default_seats",
        "default_duration_days",
        "offline_grace_days",
        "created_at",
    ),
    row=lambda ctx, p: [
        p.code,
        p.name,
        p.default_seats,
        p.default_duration_days if p.default_duration_days is not None else "",
        p.offline_grace_days,
        _time(p.created_at),
    ],
)


# ---- licences --------------------------------------------------------------------


def _license_status(q: Select[Any], status: str, now: datetime) -> Select[Any]:
    if status not in LICENSE_STATUSES:
        raise ValidationFailed({"status": [f"One of: {', '.join(LICENSE_STATUSES)}."]})
    stored, passed = stored_terms(status)
    q = q.where(License.status == stored)
    if passed is True:
        q = q.where(License.expires_at.is_not(None), License.expires_at <= now)
    elif passed is False:
        q = q.where(License.expires_at.is_(None) | (License.expires_at > now))
    return q


def _licenses(ctx: Context, f: Filters) -> Select[Any]:
    now = ctx.now()
    q = (
        select(License)
        .join(Customer, Customer.id == License.customer_id)
        .join(Product, Product.id == License.product_id)
    )
    if f.status:
        q = _license_status(q, f.status, now)
    if f.product:
        # on licences' own column, so one index range (product, created) is
        # both the filter and the list's order
        q = q.where(License.product_id == _product_id(f.product))
    if f.policy:
        q = q.where(
            License.policy_id.in_(select(Policy.id).where(Policy.public_id == f.policy.upper()))
        )
    if f.customer:
        q = q.where(Customer.number == f.customer.strip().upper())
    if f.expiring_days is not None:
        if not 0 <= f.expiring_days <= MAX_EXPIRING_DAYS:
            raise ValidationFailed({"expiring_days": [f"From 0 to {MAX_EXPIRING_DAYS} days."]})
        until = now + timedelta(days=f.expiring_days)
        q = q.where(License.expires_at > now, License.expires_at <= until)
    if f.text:
        q = q.where(
            or_(
                License.public_id == f.text.strip().upper(),
                _text(Customer.name, f.text),
                Customer.number == f.text.strip().upper(),
            )
        )
    return q


def _product_id(code: str) -> Any:
    return select(Product.id).where(Product.code == code).scalar_subquery()


def _license_row(ctx: Context, lic: License) -> list[Any]:
    return [
        lic.public_id,
        lic.product.code,
        lic.customer.number,
        lic.customer.name,
        lic.policy.public_id if lic.policy else "",
        effective_status(lic.status, lic.expires_at, ctx.now()),
        lic.seats,
        lic.seats_used,
        _time(lic.expires_at),
        " ".join(str(x) for x in lic.features or []),
        _time(lic.created_at),
    ]


LICENSES = ListSpec(
    name="licences",
    id_col=License.id,
    columns={
        "created": Column(License.created_at, "datetime"),
        "expires": Column(func.coalesce(License.expires_at, _literal_time(_NEVER)), "datetime"),
        "id": Column(License.public_id, "str"),
        "customer": Column(func.lower(Customer.name), "str"),
        "product": Column(Product.code, "str"),
        "seats": Column(License.seats, "int"),
        "used": Column(License.seats_used, "int"),
    },
    default_sort=Sort("created", descending=True),
    filters=("text", "status", "product", "policy", "customer", "expiring_days"),
    build=_licenses,
    headers=(
        "license_id",
        "product",
        "customer_number",
        "customer_name",
        "policy",
        "status",
        "seats",
        "seats_used",
        "expires_at",
        "features",
        "created_at",
    ),
    row=_license_row,
)


# ---- installations ----------------------------------------------------------------


def _installations(ctx: Context, f: Filters) -> Select[Any]:
    q = (
        select(Activation)
        .join(License, License.id == Activation.license_id)
        .join(Customer, Customer.id == License.customer_id)
        .join(Product, Product.id == License.product_id)
    )
    if f.status == "active":
        q = q.where(Activation.deactivated_at.is_(None), Activation.inactive_since.is_(None))
    elif f.status == "inactive":
        q = q.where(Activation.deactivated_at.is_(None), Activation.inactive_since.is_not(None))
    elif f.status == "deactivated":
        q = q.where(Activation.deactivated_at.is_not(None))
    elif f.status:
        raise ValidationFailed({"status": [f"One of: {', '.join(INSTALLATION_STATES)}."]})
    if f.product:
        q = q.where(Product.code == f.product)
    if f.customer:
        q = q.where(Customer.number == f.customer.strip().upper())
    if f.text:
        q = q.where(
            or_(
                Activation.installation_id == f.text.strip(),
                Activation.public_id == f.text.strip().upper(),
                License.public_id == f.text.strip().upper(),
                _text(Activation.machine_name, f.text),
            )
        )
    return q


def installation_state(act: Activation) -> str:
    if act.deactivated_at is not None:
        return "deactivated"
    return "inactive" if act.inactive_since is not None else "active"


INSTALLATIONS = ListSpec(
    name="installations",
    id_col=Activation.id,
    columns={
        "activated": Column(Activation.activated_at, "datetime"),
        "seen": Column(
            func.coalesce(Activation.last_checkin_at, _literal_time(_LONG_AGO)), "datetime"
        ),
        "machine": Column(func.lower(Activation.machine_name), "str"),
    },
    default_sort=Sort("activated", descending=True),
    filters=("text", "status", "product", "customer"),
    build=_installations,
    headers=(
        "installation_id",
        "machine_name",
        "license_id",
        "product",
        "customer_number",
        "state",
        "activated_at",
        "last_checkin_at",
        "deactivated_at",
    ),
    row=lambda ctx, a: [
        a.installation_id,
        a.machine_name,
        a.license.public_id,
        a.license.product.code,
        a.license.customer.number,
        installation_state(a),
        _time(a.activated_at),
        _time(a.last_checkin_at),
        _time(a.deactivated_at),
    ],
)


# ---- orders ----------------------------------------------------------------------


def _orders(ctx: Context, f: Filters) -> Select[Any]:
    q = select(Order).join(Customer, Customer.id == Order.customer_id)
    if f.customer:
        q = q.where(Customer.number == f.customer.strip().upper())
    if f.text:
        q = q.where(
            or_(
                _text(Order.number, f.text),
                _text(Order.po_number, f.text),
                _text(Customer.name, f.text),
            )
        )
    return q


ORDERS = ListSpec(
    name="orders",
    id_col=Order.id,
    columns={
        "date": Column(Order.order_date, "date"),
        "number": Column(Order.number, "str"),
        "amount": Column(Order.amount_cents, "int"),
        "customer": Column(func.lower(Customer.name), "str"),
    },
    default_sort=Sort("date", descending=True),
    filters=("text", "customer"),
    build=_orders,
    headers=("number", "date", "customer_number", "customer_name", "amount", "currency", "po"),
    row=lambda ctx, o: [
        o.number,
        o.order_date.isoformat(),
        o.customer.number,
        o.customer.name,
        money(o.amount_cents),
        o.currency,
        o.po_number or "",
    ],
)


LISTS: dict[str, ListSpec] = {
    s.name: s for s in (CUSTOMERS, PRODUCTS, LICENSES, INSTALLATIONS, ORDERS)
}


def page(ctx: Context, spec: ListSpec, filters: Filters, req: ListRequest) -> ListPage[Any]:
    """One page of the list, with the number of rows the filters match."""
    return listing.fetch_page(ctx.session, spec.build(ctx, filters), spec.columns, spec.id_col, req)


def export(ctx: Context, spec: ListSpec, filters: Filters, sort: Sort) -> Iterator[list[Any]]:
    """Every row the filters match, in the list's order, as CSV cells (the
    header first). The filters are checked now, before the answer starts: a
    refusal raised while the rows stream would come after a 200 was sent (a
    cut-off download and a server error, found by wapiti)."""
    query = spec.build(ctx, filters)
    return _export_rows(ctx, spec, query, sort)


def _export_rows(ctx: Context, spec: ListSpec, query: Any, sort: Sort) -> Iterator[list[Any]]:
    yield list(spec.headers)
    for row in listing.stream(ctx.session, query, spec.columns, spec.id_col, sort):
        yield spec.row(ctx, row)


def products(ctx: Context) -> list[Product]:
    """For the product filter's choices."""
    return list(ctx.session.scalars(select(Product).order_by(Product.code)).all())


def policies(ctx: Context) -> list[Policy]:
    """For the policy filter's choices."""
    return list(ctx.session.scalars(select(Policy).order_by(Policy.name, Policy.id)).all())
