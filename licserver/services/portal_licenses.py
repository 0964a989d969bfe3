"""Licences and installations as a customer's portal user sees and acts on
them. Every query is scoped to the principal's account (and, for a limited
user, to their licences): anything else is NOT_FOUND, never FORBIDDEN, so ids
of other accounts cannot be probed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from licserver.database import begin_write
from licserver.domain import portal as rules
from licserver.domain.errors import NotFound
from licserver.domain.ids import ACTIVATION_ID_RE, LICENSE_ID_RE
from licserver.domain.portal import Principal
from licserver.models import Activation, License, utcnow
from licserver.services import Deps, Origin, events, notices
from licserver.services import activation as activation_service
from licserver.services import licenses as license_service
from licserver.services.licenses import Secrets


def _scoped(principal: Principal) -> Select[Any]:
    q = select(License).where(License.customer_id == principal.customer_id)
    if principal.licenses is not None:
        q = q.where(License.id.in_(principal.licenses))
    return q


def list_licenses(session: Session, principal: Principal) -> list[License]:
    rules.check(principal, rules.VIEW)
    return list(session.scalars(_scoped(principal).order_by(License.id)).unique().all())


def get(session: Session, principal: Principal, public_id: str) -> License:
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
    session: Session, principal: Principal, public_id: str, *, active_only: bool
) -> list[Activation]:
    """The licence's installations, newest first."""
    lic = get(session, principal, public_id)
    q = select(Activation).where(Activation.license_id == lic.id)
    if active_only:
        q = q.where(Activation.deactivated_at.is_(None))
    return list(session.scalars(q.order_by(Activation.id.desc())).unique().all())


def get_activation(
    session: Session, principal: Principal, public_id: str, activation_id: str
) -> Activation:
    lic = get(session, principal, public_id)
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


def reveal(deps: Deps, origin: Origin, principal: Principal, public_id: str) -> Secrets:
    """The licence key and activation password; each reveal is an event."""
    session = deps.session
    rules.check(principal, rules.SECRETS)
    begin_write(session)
    try:
        lic = get(session, principal, public_id)
        secrets = license_service.reveal(deps, lic)
        events.record(session, "license.secrets_revealed", origin, license=lic)
        session.commit()
        return secrets
    except BaseException:
        session.rollback()
        raise


def regenerate_password(deps: Deps, origin: Origin, principal: Principal, public_id: str) -> str:
    rules.check(principal, rules.REGENERATE)
    get(deps.session, principal, public_id)
    _, password = license_service.regenerate_password(deps, origin, public_id)
    return password


def reissue_key(deps: Deps, origin: Origin, principal: Principal, public_id: str) -> str:
    rules.check(principal, rules.REGENERATE)
    get(deps.session, principal, public_id)
    _, key = license_service.reissue_key(deps, origin, public_id)
    return key


@dataclass(frozen=True)
class Deactivation:
    activation: Activation
    license: License
    changed: bool  # False: it was deactivated already


def deactivate(
    deps: Deps,
    origin: Origin,
    principal: Principal,
    public_id: str,
    activation_id: str,
    reason: str,
) -> Deactivation:
    """Free the installation's seat at once; its next check-in is refused."""
    rules.check(principal, rules.DEACTIVATE)
    act = get_activation(deps.session, principal, public_id, activation_id)
    was_active = act.deactivated_at is None
    act = activation_service.deactivate(deps, activation_id, origin, reason=reason)
    changed = was_active and act.deactivated_by_id == origin.actor.id
    lic = get(deps.session, principal, public_id)
    return Deactivation(act, lic, changed)


def notify_deactivated(
    session: Session, mailer: notices.Mailer, done: Deactivation, by: str
) -> None:
    """The account's users who want deactivation notices and see the licence."""
    to = notices.recipients(session, done.license.customer_id, "deactivations", done.license.id)
    act = done.activation
    notices.deactivated(
        mailer,
        to=to,
        license_id=done.license.public_id,
        product=done.license.product.name,
        machine_name=act.machine_name,
        installation_id=act.installation_id,
        reason=act.deactivation_reason or "",
        by=by,
        at=act.deactivated_at or utcnow(),
    )
