"""Products: the things licences are for."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from licserver.database import begin_write
from licserver.domain.errors import Conflict, NotFound
from licserver.domain.requests import check_checkout_url
from licserver.models import Product
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
) -> Product:
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


def update(ctx: Context, code: str, changes: dict[str, Any]) -> Product:
    session = ctx.session
    begin_write(session)  # SQLite: take the write lock before reading
    product = get(ctx, code)
    for field in ("name", "default_seats", "default_duration_days", "offline_grace_days"):
        if field in changes:
            setattr(product, field, changes[field])
    if "checkout_url" in changes:
        product.checkout_url = check_checkout_url(changes["checkout_url"])
    session.commit()
    return product


def list_products(ctx: Context, req: PageRequest) -> Page[Product]:
    """Products, oldest first."""
    return fetch(ctx.session, select(Product), Product.id, req)
