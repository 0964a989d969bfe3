"""Deactivation: free an activation's seat (a floating lease: release it).

The client's own call, an admin's, or a portal user's; the transfer budget
(``licserver.domain.budget``) limits the client's and the portal's.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from licserver.crypto import tokens_equal
from licserver.database import begin_write
from licserver.domain import budget as budget_rules
from licserver.domain import policy as rules
from licserver.domain.errors import DeactivationLimitReached, NotFound
from licserver.models import Activation, Event, License, utcnow
from licserver.services import Origin, events
from licserver.services.activation.entitlements import licence_settings
from licserver.services.activation.recording import warning
from licserver.services.activation.results import PolicyWarning
from licserver.services.context import Context
from licserver.services.credentials import invalid


def _load_activation(session: Session, public_id: str) -> Activation | None:
    return session.scalars(select(Activation).where(Activation.public_id == public_id)).first()


def _lock_licenses(session: Session, ids: list[int]) -> list[License]:
    """Load the licences for this write transaction, locked on PostgreSQL (in id
    order, so two requests never wait on each other crosswise)."""
    # populate_existing: never decide on seat counts the session loaded earlier.
    q = (
        select(License)
        .where(License.id.in_(ids))
        .order_by(License.id)
        .execution_options(populate_existing=True)
    )
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(of=License)
    return list(session.scalars(q).unique().all())


def deactivate(
    ctx: Context,
    activation_id: str,
    origin: Origin,
    *,
    activation_token: str | None = None,
    reason: str | None = None,
) -> Activation:
    """Free the activation's seat. With ``activation_token`` it is the client's own
    call (a wrong token is INVALID_CREDENTIALS); without, an admin's or a portal
    user's, already authorised (an unknown id is NOT_FOUND). Repeating it is a
    no-op answering the first deactivation. A floating lease is released: it never
    spends the transfer budget."""
    act, _ = deactivate_reporting(
        ctx, activation_id, origin, activation_token=activation_token, reason=reason
    )
    return act


def deactivate_reporting(
    ctx: Context,
    activation_id: str,
    origin: Origin,
    *,
    activation_token: str | None = None,
    reason: str | None = None,
) -> tuple[Activation, list[PolicyWarning]]:
    """``deactivate``, with the warnings of a report-only licence (a transfer
    budget it would have refused)."""
    session = ctx.session
    begin_write(session)
    try:
        act = _load_activation(session, activation_id)
        if activation_token is not None:
            if act is None or not tokens_equal(act.token_hash, activation_token):
                raise invalid()
        elif act is None:
            raise NotFound(f"No activation with id '{activation_id}'.")
        if act.deactivated_at is not None:
            session.commit()
            return act, []
        lic = _lock_licenses(session, [act.license_id])[0]
        # Re-read under the lock: a concurrent deactivation may have won.
        session.refresh(act)
        if act.deactivated_at is not None:
            session.commit()
            return act, []
        warnings = _release(ctx, origin, lic, act, reason)
        session.commit()
        return act, warnings
    except BaseException:
        session.rollback()
        raise


def _release(
    ctx: Context, origin: Origin, lic: License, act: Activation, reason: str | None
) -> list[PolicyWarning]:
    """Deactivate ``act`` under ``lic``'s lock and record it: the warnings of a
    report-only licence (a transfer budget it would have refused)."""
    s = licence_settings(lic)
    warnings: list[PolicyWarning] = []
    if not s.floating:  # a floating release never counts
        refusal = _check_deactivation_budget(ctx, origin, lic, act, s)
        if refusal is not None:
            warnings.append(warning(refusal))
    act.deactivated_at = ctx.now()
    act.deactivated_by_type = origin.actor.type
    act.deactivated_by_id = origin.actor.id
    act.deactivation_reason = reason
    lic.seats_used -= 1
    events.record(
        ctx.session,
        "activation.deactivated",
        origin,
        license=lic,
        activation=act,
        reason=reason,
        data={"lease": True} if s.floating else None,
    )
    for w in warnings:
        events.record(
            ctx.session,
            "enforcement.reported",
            origin,
            license=lic,
            activation=act,
            reason=w.code,
            data={"action": "deactivate", "why": w.detail},
        )
    return warnings


def _check_deactivation_budget(
    ctx: Context,
    origin: Origin,
    lic: License,
    act: Activation,
    settings: rules.Settings = rules.DEFAULTS,
) -> DeactivationLimitReached | None:
    """DEACTIVATION_LIMIT_REACHED once the licence's client and portal deactivations
    in the window have used its budget (``licserver.domain.budget``; the policy's
    ``transfer_budget``, else the server's). Runs under the licence lock, so
    concurrent deactivations cannot both take the last one. The refusal is
    recorded (``activation.deactivation_refused``) and committed; a report-only
    licence is not refused: the would-be refusal is returned."""
    budget = settings.budget(ctx.settings.deactivation_budget)
    if budget is None or not budget_rules.spends_deactivation_budget(origin.actor.type):
        return None
    session = ctx.session
    now = utcnow()
    earlier = session.scalars(
        select(Event.at)
        .where(
            Event.license_id == lic.id,
            Event.kind == "activation.deactivated",
            Event.at > now - budget.window,
            Event.actor_type.in_(sorted(budget_rules.DEACTIVATION_ACTORS)),
        )
        .order_by(Event.at.desc())
        .limit(budget.count)
    ).all()
    until = budget_rules.next_allowed(budget, earlier, now)
    if until is None:
        return None
    error = DeactivationLimitReached(
        f"This licence's installations were deactivated {budget.count} time(s) in the "
        f"last {budget.window_text()}, the most allowed. The next deactivation is possible from "
        f"{until.strftime('%Y-%m-%dT%H:%M:%SZ')}; your vendor can deactivate it sooner.",
        retry_after=int((until - now).total_seconds()) + 1,
    )
    if settings.report_only:
        return error
    events.record(
        session,
        "activation.deactivation_refused",
        origin,
        license=lic,
        activation=act,
        reason=error.code,
        data={"why": error.detail},
    )
    session.commit()
    raise error
