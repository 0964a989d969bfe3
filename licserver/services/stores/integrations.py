"""Integrations as data: created, listed, changed and deleted by staff. The
signing secret is write-only: stored sealed, never returned."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from licserver.database import begin_write
from licserver.domain.errors import NotFound, ValidationFailed
from licserver.domain.stores import new_integration_id
from licserver.models.policy import Policy
from licserver.models.product import Product
from licserver.models.store import StoreEvent, StoreIntegration
from licserver.services import SYSTEM_ORIGIN, Origin, events
from licserver.services.pagination import Page, PageRequest, fetch
from licserver.services.stores import SECRET_PURPOSE, Ctx


def get(ctx: Ctx, public_id: str) -> StoreIntegration:
    """One integration, for the console and the admin API (404 when absent)."""
    return find(ctx.session, public_id)


def find(session: Session, public_id: str) -> StoreIntegration:
    """``get`` inside a caller's transaction (the event receiver's)."""
    integ = session.scalars(
        select(StoreIntegration).where(StoreIntegration.public_id == public_id)
    ).first()
    if integ is None:
        raise NotFound(f"No integration with id '{public_id}'.")
    return integ


def list_integrations(ctx: Ctx, req: PageRequest) -> Page[StoreIntegration]:
    """Integrations, oldest first."""
    return fetch(ctx.session, select(StoreIntegration), StoreIntegration.id, req)


def _checked_items(session: Session, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every item names a product that exists (and a policy of it); a store
    item appears once."""
    out: list[dict[str, Any]] = []
    errors: dict[str, list[str]] = {}
    seen: set[str] = set()
    for i, item in enumerate(items):
        prod = session.scalars(select(Product).where(Product.code == item["product"])).first()
        if prod is None:
            errors[f"items.{i}.product"] = [f"No product '{item['product']}'."]
            continue
        if item["store_item"] in seen:
            errors[f"items.{i}.store_item"] = [f"'{item['store_item']}' is mapped twice."]
        seen.add(item["store_item"])
        policy = item.get("policy")
        if policy is not None:
            pol = session.scalars(
                select(Policy).where(Policy.product_id == prod.id, Policy.public_id == policy)
            ).first()
            if pol is None:
                errors[f"items.{i}.policy"] = [f"Product '{prod.code}' has no policy '{policy}'."]
        out.append(
            {
                "store_item": item["store_item"],
                "product": prod.code,
                "policy": policy,
                "seats_per_unit": item.get("seats_per_unit") or 1,
                "duration_days": item.get("duration_days"),
            }
        )
    if errors:
        raise ValidationFailed(errors)
    return out


def _audit(
    session: Session, kind: str, origin: Origin, integ: StoreIntegration, **data: Any
) -> None:
    """Every change is an event (``integration.*``), never with the secret."""
    events.record(
        session, kind, origin, data={"integration": integ.public_id, "name": integ.name, **data}
    )


def create(ctx: Ctx, values: dict[str, Any], origin: Origin = SYSTEM_ORIGIN) -> StoreIntegration:
    session = ctx.session
    begin_write(session)
    try:
        integ = StoreIntegration(
            public_id=new_integration_id(),
            provider=values["provider"],
            name=values["name"],
            on_refund=values.get("on_refund") or "revoke",
            items=_checked_items(session, values.get("items") or []),
        )
        if values.get("signing_secret"):
            integ.secret_enc = ctx.box.seal(values["signing_secret"], SECRET_PURPOSE)
        session.add(integ)
        _audit(session, "integration.created", origin, integ, provider=integ.provider)
        session.commit()
        return integ
    except BaseException:
        session.rollback()
        raise


def update(
    ctx: Ctx, public_id: str, changes: dict[str, Any], origin: Origin = SYSTEM_ORIGIN
) -> StoreIntegration:
    """Name, on_refund, items (the whole list) and the secret (a new one
    replaces the old at once: signatures made with the old are refused)."""
    session = ctx.session
    begin_write(session)
    try:
        integ = find(session, public_id)
        if "name" in changes:
            integ.name = changes["name"]
        if "on_refund" in changes:
            integ.on_refund = changes["on_refund"]
        if "items" in changes:
            integ.items = _checked_items(session, changes["items"])
        if "signing_secret" in changes:
            secret = changes["signing_secret"]
            integ.secret_enc = ctx.box.seal(secret, SECRET_PURPOSE) if secret else None
        _audit(session, "integration.updated", origin, integ, changed=sorted(changes))
        session.commit()
        return integ
    except BaseException:
        session.rollback()
        raise


def delete(ctx: Ctx, public_id: str, origin: Origin = SYSTEM_ORIGIN) -> None:
    """The integration and its event log; licences it issued stay."""
    session = ctx.session
    begin_write(session)
    integ = find(session, public_id)
    _audit(session, "integration.deleted", origin, integ)
    session.delete(integ)
    session.commit()


def webhook_url(ctx: Ctx, integ: StoreIntegration) -> str:
    """The absolute URL pasted into the store."""
    return f"{ctx.settings.public_url}/api/v1/integrations/{integ.public_id}/events"


def secret_of(ctx: Ctx, integ: StoreIntegration) -> str | None:
    return ctx.box.open(integ.secret_enc, SECRET_PURPOSE) if integ.secret_enc else None


def events_page(ctx: Ctx, public_id: str, req: PageRequest) -> Page[StoreEvent]:
    """The events the integration received, newest first."""
    session = ctx.session
    integ = find(session, public_id)
    q = select(StoreEvent).where(StoreEvent.integration_id == integ.id)
    return fetch(session, q, StoreEvent.id, req, descending=True)


def get_event(session: Session, integ: StoreIntegration, event_id: str) -> StoreEvent:
    ev = session.scalars(
        select(StoreEvent).where(
            StoreEvent.integration_id == integ.id, StoreEvent.event_id == event_id
        )
    ).first()
    if ev is None:
        raise NotFound(f"No event '{event_id}' for integration {integ.public_id}.")
    return ev
