"""Licences and installations as a customer's portal user sees and acts on
them. Every query is scoped to the principal's account (and, for a limited
user, to their licences): anything else is NOT_FOUND, never FORBIDDEN, so ids
of other accounts cannot be probed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select

from licserver.database import begin_write
from licserver.domain import policy as policy_rules
from licserver.domain import portal as rules
from licserver.domain.errors import NotFound
from licserver.domain.ids import ACTIVATION_ID_RE, LICENSE_ID_RE
from licserver.domain.portal import Principal
from licserver.domain.status import effective_status, expiry_text
from licserver.models import Activation, License, utcnow
from licserver.services import Origin, events, license_changes, notices, offline_deactivation
from licserver.services import activation as activation_service
from licserver.services import licenses as license_service
from licserver.services import policies as policy_service
from licserver.services.context import Context
from licserver.services.licenses import Secrets


def _scoped(principal: Principal) -> Select[Any]:
    q = select(License).where(License.customer_id == principal.customer_id)
    if principal.licenses is not None:
        q = q.where(License.id.in_(principal.licenses))
    return q


def list_licenses(ctx: Context, principal: Principal) -> list[License]:
    session = ctx.session
    rules.check(principal, rules.VIEW)
    return list(session.scalars(_scoped(principal).order_by(License.id)).unique().all())


def list_summaries(ctx: Context, principal: Principal) -> list[dict[str, Any]]:
    """The principal's licences as the portal lists them (``summary``)."""
    return [summary(ctx, lic) for lic in list_licenses(ctx, principal)]


def get_summary(ctx: Context, principal: Principal, public_id: str) -> dict[str, Any]:
    """``summary`` of one of the principal's licences (NOT_FOUND otherwise)."""
    return summary(ctx, get(ctx, principal, public_id))


def summary(ctx: Context, lic: License) -> dict[str, Any]:
    """A licence as a customer reads it: seats, status and expiry in words,
    and its licence model (docs/licence-models.md)."""
    now = ctx.now()
    s = policy_service.effective(lic)
    return {
        "id": lic.public_id,
        "product": lic.product.name,
        "product_code": lic.product.code,
        "seats": lic.seats,
        "seats_used": lic.seats_used,
        "expires_at": lic.expires_at,
        "expiry": expiry_text(lic.expires_at, now),
        "status": effective_status(lic.status, lic.expires_at, now),
        "features": list(lic.features or []),
        "created_at": lic.created_at,
        "checkout_url": lic.product.checkout_url,
        "floating": s.floating,
        "model": "Floating" if s.floating else "Node-locked",
        "trial": s.trial,
        "entitlements": policy_rules.features(s, lic.features),
        "heartbeat": s.heartbeat_required,
        "maintain_access": s.expired_access == policy_rules.MAINTAIN_ACCESS,
    }


def get(ctx: Context, principal: Principal, public_id: str) -> License:
    session = ctx.session
    rules.check(principal, rules.VIEW)
    if not LICENSE_ID_RE.match(public_id or ""):
        raise NotFound("No such licence.")
    lic: License | None = (
        session.scalars(
            _scoped(principal)
            .where(License.public_id == public_id)
            .execution_options(populate_existing=True)
        )
        .unique()
        .first()
    )
    if lic is None:
        raise NotFound("No such licence.")
    return lic


def activations(
    ctx: Context, principal: Principal, public_id: str, *, active_only: bool
) -> list[Activation]:
    """The licence's installations, newest first."""
    session = ctx.session
    lic = get(ctx, principal, public_id)
    q = select(Activation).where(Activation.license_id == lic.id)
    if active_only:
        q = q.where(Activation.deactivated_at.is_(None))
    return list(session.scalars(q.order_by(Activation.id.desc())).unique().all())


def get_activation(
    ctx: Context, principal: Principal, public_id: str, activation_id: str
) -> Activation:
    session = ctx.session
    lic = get(ctx, principal, public_id)
    if not ACTIVATION_ID_RE.match(activation_id or ""):
        raise NotFound("No such installation.")
    act = (
        session.scalars(
            select(Activation).where(
                Activation.public_id == activation_id, Activation.license_id == lic.id
            )
        )
        .unique()
        .first()
    )
    if act is None:
        raise NotFound("No such installation.")
    return act


def reveal(ctx: Context, origin: Origin, principal: Principal, public_id: str) -> Secrets:
    """The licence key and activation password; each reveal is an event."""
    session = ctx.session
    rules.check(principal, rules.SECRETS)
    begin_write(session)
    try:
        lic = get(ctx, principal, public_id)
        secrets = license_service.reveal(ctx, lic)
        events.record(session, "license.secrets_revealed", origin, license=lic)
        session.commit()
        return secrets
    except BaseException:
        session.rollback()
        raise


def regenerate_password(ctx: Context, origin: Origin, principal: Principal, public_id: str) -> str:
    rules.check(principal, rules.REGENERATE)
    get(ctx, principal, public_id)
    _, password = license_changes.regenerate_password(ctx, origin, public_id)
    return password


def reissue_key(ctx: Context, origin: Origin, principal: Principal, public_id: str) -> str:
    rules.check(principal, rules.REGENERATE)
    get(ctx, principal, public_id)
    _, key = license_changes.reissue_key(ctx, origin, public_id)
    return key


@dataclass(frozen=True)
class Deactivation:
    activation: Activation
    license: License
    changed: bool  # False: it was deactivated already


def deactivate(
    ctx: Context,
    origin: Origin,
    principal: Principal,
    public_id: str,
    activation_id: str,
    reason: str,
) -> Deactivation:
    """Free the installation's seat at once; its next check-in is refused."""
    rules.check(principal, rules.DEACTIVATE)
    act = get_activation(ctx, principal, public_id, activation_id)
    was_active = act.deactivated_at is None
    act = activation_service.deactivate(ctx, activation_id, origin, reason=reason)
    changed = was_active and act.deactivated_by_id == origin.actor.id
    lic = get(ctx, principal, public_id)
    return Deactivation(act, lic, changed)


def deactivate_offline(
    ctx: Context, origin: Origin, principal: Principal, public_id: str, code: str, *, by: str
) -> offline_deactivation.OfflineDeactivation:
    """A deactivation code pasted on the licence's page (only a code of one of
    its installations): the seat is freed and the account's users are told, as
    for a deactivation from the list."""
    rules.check(principal, rules.OFFLINE)
    get(ctx, principal, public_id)
    done = offline_deactivation.deactivate_offline(ctx, origin, code, license_id=public_id)
    if done.changed:
        lic = get(ctx, principal, public_id)
        notify_deactivated(ctx, Deactivation(done.activation, lic, True), by)
    return done


def notify_deactivated(ctx: Context, done: Deactivation, by: str) -> None:
    """The account's users who want deactivation notices and see the licence."""
    session = ctx.session
    to = notices.recipients(session, done.license.customer_id, "deactivations", done.license.id)
    act = done.activation
    notices.deactivated(
        ctx.mailer,
        to=to,
        license_id=done.license.public_id,
        product=done.license.product.name,
        machine_name=act.machine_name,
        installation_id=act.installation_id,
        reason=act.deactivation_reason or "",
        by=by,
        at=act.deactivated_at or utcnow(),
    )
