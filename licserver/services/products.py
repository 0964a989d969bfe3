"""Products: the things licences are for."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from licserver.database import begin_write
from licserver.domain.errors import Conflict, NotFound
from licserver.domain.requests import check_checkout_url
from licserver.models import Product
from licserver.services import Origin, events
from licserver.services.context import Context
from licserver.services.pagination import Page, PageRequest, fetch


def create(
    ctx: Context,
    *,
    code: str,
    name: str,
    default_seats: int = 1,
    default_duration_days: int | None = None,
    offline_grace_days: int = 14,
    checkout_url: str | None = None,
    origin: Origin | None = None,
) -> Product:
    """A new product; with ``origin``, a ``product.created`` event names who made it."""
    session = ctx.session
    begin_write(session)  # SQLite: take the write lock before reading
    if session.scalars(select(Product.id).where(Product.code == code)).first() is not None:
        raise Conflict(f"A product with code '{code}' already exists.")
    product = Product(
        code=code,
        name=name,
        default_seats=default_seats,
        default_duration_days=default_duration_days,
        offline_grace_days=offline_grace_days,
        checkout_url=check_checkout_url(checkout_url),
    )
    session.add(product)
    if origin is not None:
        events.record(session, "product.created", origin, data={"code": code, **_fields(product)})
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"A product with code '{code}' already exists.") from None
    return product


def get(ctx: Context, code: str) -> Product:
    session = ctx.session
    product = session.scalars(select(Product).where(Product.code == code)).first()
    if product is None:
        raise NotFound(f"No product with code '{code}'.")
    return product


FIELDS = ("name", "default_seats", "default_duration_days", "offline_grace_days")


def _fields(product: Product) -> dict[str, Any]:
    return {f: getattr(product, f) for f in FIELDS}


def update(
    ctx: Context, code: str, changes: dict[str, Any], origin: Origin | None = None
) -> Product:
    """Change the name and defaults; with ``origin``, a ``product.updated``
    event holds what changed (nothing changed: no event)."""
    session = ctx.session
    begin_write(session)  # SQLite: take the write lock before reading
    product = get(ctx, code)
    diff: dict[str, Any] = {}
    for field in FIELDS:
        if field in changes and getattr(product, field) != changes[field]:
            diff[field] = {"from": getattr(product, field), "to": changes[field]}
            setattr(product, field, changes[field])
    if "checkout_url" in changes:
        url = check_checkout_url(changes["checkout_url"])
        if url != product.checkout_url:
            diff["checkout_url"] = {"from": product.checkout_url, "to": url}
            product.checkout_url = url
    if origin is not None and diff:
        events.record(session, "product.updated", origin, data={"code": code, **diff})
    session.commit()
    return product


def list_products(ctx: Context, req: PageRequest) -> Page[Product]:
    """Products, oldest first."""
    return fetch(ctx.session, select(Product), Product.id, req)
