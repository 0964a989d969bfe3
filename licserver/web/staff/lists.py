"""The console's lists (customers, products, licences, installations, orders):
filter, sort and page through them, and download exactly what is listed as CSV.

Each page is a GET form (no JavaScript); the view parses the query, calls
``services.console_lists`` and renders. Other list pages (bulk actions on a
filtered licence list) can reuse :func:`filters_from` and :func:`list_request`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import render_template, request

from licserver.domain import bulk as bulk_rules
from licserver.domain import staff as rules
from licserver.domain.errors import NotFound, ValidationFailed
from licserver.domain.status import ALL as LICENSE_STATUSES
from licserver.runtime import context
from licserver.services import console_lists as svc
from licserver.services.listing import ListRequest, Sort, parse_sort
from licserver.services.orders import money
from licserver.web.shared import csv_export
from licserver.web.staff.base import add_nav, bp, staff_required

PAGE_SIZE = 50


@dataclass(frozen=True)
class Heading:
    label: str
    sort: str | None = None  # the column key it sorts by, if it does


# The table of each list: its headings, in order (the rows: staff/lists.html).
HEADINGS: dict[str, tuple[Heading, ...]] = {
    "customers": (
        Heading("Number", "number"),
        Heading("Name", "name"),
        Heading("Email", "email"),
        Heading("Created", "created"),
    ),
    "products": (
        Heading("Code", "code"),
        Heading("Name", "name"),
        Heading("Default seats"),
        Heading("Default duration"),
        Heading("Created", "created"),
    ),
    "licences": (
        Heading("Licence", "id"),
        Heading("Product", "product"),
        Heading("Customer", "customer"),
        Heading("Policy"),
        Heading("Status"),
        Heading("Seats used", "used"),
        Heading("Seats", "seats"),
        Heading("Expires", "expires"),
        Heading("Created", "created"),
    ),
    "installations": (
        Heading("Machine", "machine"),
        Heading("Installation ID"),
        Heading("Licence"),
        Heading("Customer"),
        Heading("State"),
        Heading("Activated", "activated"),
        Heading("Last seen", "seen"),
    ),
    "orders": (
        Heading("Number", "number"),
        Heading("Date", "date"),
        Heading("Customer", "customer"),
        Heading("Amount", "amount"),
        Heading("PO"),
    ),
}

TITLES = {
    "customers": "Customers",
    "products": "Products",
    "licences": "Licences",
    "installations": "Installations",
    "orders": "Orders",
}


def int_arg(args: Mapping[str, str], name: str, label: str) -> int | None:
    text = (args.get(name) or "").strip()
    if not text:
        return None
    if not text.isdigit():
        raise ValidationFailed({name: [f"{label}: a whole number."]}, f"{label}: a whole number.")
    return int(text)


def filters_from(args: Mapping[str, str]) -> svc.Filters:
    """The list's filters from the query string (absent: not filtered)."""
    return svc.Filters(
        text=(args.get("q") or "").strip()[:500],
        status=(args.get("status") or "").strip(),
        product=(args.get("product") or "").strip(),
        policy=(args.get("policy") or "").strip(),
        customer=(args.get("customer") or "").strip(),
        expiring_days=int_arg(args, "expiring", "Expiring within"),
    )


def list_request(spec: svc.ListSpec, args: Mapping[str, str]) -> ListRequest:
    sort = parse_sort(args.get("sort"), spec.columns, spec.default_sort)
    limit = int_arg(args, "limit", "Rows per page") or PAGE_SIZE
    return ListRequest(sort, limit, args.get("cursor") or None)


def _spec(name: str) -> svc.ListSpec:
    spec = svc.LISTS.get(name)
    if spec is None:
        raise NotFound(f"No list '{name}'.")
    return spec


def _choices(spec: svc.ListSpec) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {}
    ctx = context()
    if "product" in spec.filters:
        out["product"] = [(p.code, f"{p.name} ({p.code})") for p in svc.products(ctx)]
    if "policy" in spec.filters:
        out["policy"] = [(p.public_id, f"{p.name} ({p.product.code})") for p in svc.policies(ctx)]
    if "status" in spec.filters:
        states = LICENSE_STATUSES if spec is svc.LICENSES else svc.INSTALLATION_STATES
        out["status"] = [(s, s) for s in states]
    return out


def _render(name: str) -> Any:
    spec = _spec(name)
    args = request.args
    filters = filters_from(args)
    req = list_request(spec, args)
    found = svc.page(context(), spec, filters, req)
    query = {k: v for k, v in args.items() if k not in ("cursor",) and v}
    return render_template(
        "staff/lists.html",
        name=name,
        title=TITLES[name],
        spec=spec,
        headings=HEADINGS[name],
        page=found,
        filters=filters,
        query=query,
        choices=_choices(spec),
        first_page=req.cursor is None,
        sort_link=lambda key: _sort_param(found.sort, key),
        state=svc.installation_state,
        now=context().now(),
        money=money,
        bulk_actions=list(bulk_rules.LABELS.items()),
    )


def _sort_param(current: Sort, key: str) -> str:
    """A heading's link: its column ascending, or descending when it already is."""
    if current.key == key and not current.descending:
        return "-" + key
    return key


def _export(name: str) -> Any:
    spec = _spec(name)
    args = request.args
    filters = filters_from(args)
    sort = list_request(spec, args).sort
    rows = svc.export(context(), spec, filters, sort)
    return csv_export.response(rows, f"{name}.csv")


@bp.get("/customers")
@staff_required(action=rules.VIEW)
def customers() -> Any:
    return _render("customers")


@bp.get("/customers.csv")
@staff_required(action=rules.VIEW)
def customers_csv() -> Any:
    return _export("customers")


@bp.get("/products")
@staff_required(action=rules.VIEW)
def products() -> Any:
    return _render("products")


@bp.get("/products.csv")
@staff_required(action=rules.VIEW)
def products_csv() -> Any:
    return _export("products")


@bp.get("/licenses")
@staff_required(action=rules.VIEW)
def licenses() -> Any:
    return _render("licences")


@bp.get("/licenses.csv")
@staff_required(action=rules.VIEW)
def licenses_csv() -> Any:
    return _export("licences")


@bp.get("/installations")
@staff_required(action=rules.VIEW)
def installations() -> Any:
    return _render("installations")


@bp.get("/installations.csv")
@staff_required(action=rules.VIEW)
def installations_csv() -> Any:
    return _export("installations")


@bp.get("/orders")
@staff_required(action=rules.VIEW)
def orders() -> Any:
    return _render("orders")


@bp.get("/orders.csv")
@staff_required(action=rules.VIEW)
def orders_csv() -> Any:
    return _export("orders")


add_nav("staff.customers", "Customers")
add_nav("staff.licenses", "Licences")
add_nav("staff.installations", "Installations")
add_nav("staff.products", "Products")
add_nav("staff.orders", "Orders")
