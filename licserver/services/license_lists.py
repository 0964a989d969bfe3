"""The lists of licences and of a licence's activations and events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from licserver.domain.status import stored_terms
from licserver.models import Activation, Customer, Event, License, Product
from licserver.services.context import Context
from licserver.services.licenses import get
from licserver.services.pagination import Page, PageRequest, fetch


@dataclass(frozen=True)
class LicenseFilters:
    """The admin list's filters: a customer number, a product code, an
    effective status (``domain.status.ALL``)."""

    customer: str | None = None
    product: str | None = None
    status: str | None = None


def list_licenses(
    ctx: Context, filters: LicenseFilters, req: PageRequest, now: datetime | None = None
) -> Page[License]:
    """Licences, oldest first, as the filters say."""
    q = select(License)
    if filters.customer:
        q = q.join(Customer, Customer.id == License.customer_id).where(
            Customer.number == filters.customer
        )
    if filters.product:
        q = q.join(Product, Product.id == License.product_id).where(Product.code == filters.product)
    if filters.status:
        stored, passed = stored_terms(filters.status)
        q = q.where(License.status == stored)
        now = now or ctx.clock()
        if passed is True:
            q = q.where(License.expires_at.is_not(None), License.expires_at <= now)
        elif passed is False:
            q = q.where(License.expires_at.is_(None) | (License.expires_at > now))
    return fetch(ctx.session, q, License.id, req)


def list_activations(
    ctx: Context, public_id: str, req: PageRequest, *, active_only: bool
) -> Page[Activation]:
    """The licence's activations (only the live ones with ``active_only``), oldest first."""
    lic = get(ctx, public_id)
    q = select(Activation).where(Activation.license_id == lic.id)
    if active_only:
        q = q.where(Activation.deactivated_at.is_(None))
    return fetch(ctx.session, q, Activation.id, req)


def list_events(ctx: Context, public_id: str, req: PageRequest) -> Page[Event]:
    """The licence's history, oldest first."""
    lic = get(ctx, public_id)
    return fetch(ctx.session, select(Event).where(Event.license_id == lic.id), Event.id, req)
