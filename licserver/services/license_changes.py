"""Changes to a licence: seats, expiry, features and policy; renewal;
trial conversion; suspend, reinstate, revoke; a new password or key. Each
takes the licence's lock, records its event and commits."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from licserver.database import begin_write
from licserver.domain import policy as rules
from licserver.domain.errors import Conflict, NotFound, ValidationFailed
from licserver.domain.status import transition
from licserver.models import License, utcnow
from licserver.services import Origin, events
from licserver.services import policies as policy_service
from licserver.services.context import Context
from licserver.services.licenses import (
    KEY_PURPOSE,
    PASSWORD_PURPOSE,
    UNSET,
    checked_overrides,
    iso,
    new_activation_password,
    policy_of,
    sign_key,
)


def _check_whole(lic: License) -> rules.Settings:
    """The licence's effective settings must make sense together."""
    s = policy_service.effective(lic)
    try:
        rules.check({k: v for k, v in s.to_json().items()}, partial=False)
    except rules.PolicyError as exc:
        raise ValidationFailed(
            {f"policy_overrides.{k}": v for k, v in exc.errors.items()}
        ) from None
    return s


def update(ctx: Context, origin: Origin, public_id: str, changes: dict[str, Any]) -> License:
    """Seats, expiry, features, policy, policy overrides. Lowering seats below
    those in use is allowed: the installations stay, new ones are refused until
    enough are freed."""
    session = ctx.session
    begin_write(session)
    try:
        lic = _locked(session, public_id)
        diff: dict[str, Any] = {}
        for field in ("seats", "expires_at", "features"):
            if field in changes and getattr(lic, field) != changes[field]:
                old, new = getattr(lic, field), changes[field]
                if field == "expires_at":
                    old, new = iso(old), iso(new)
                diff[field] = {"from": old, "to": new}
                setattr(lic, field, changes[field])
        rules_changed = False
        if "policy" in changes:
            pol = policy_of(ctx, lic.product_id, changes["policy"])
            if (pol.id if pol else None) != lic.policy_id:
                old_ref = lic.policy.public_id if lic.policy else None
                diff["policy"] = {"from": old_ref, "to": pol.public_id if pol else None}
                lic.policy_id, lic.policy = (pol.id if pol else None), pol
                rules_changed = True
        if "policy_overrides" in changes:
            overrides = checked_overrides(changes["policy_overrides"])
            if overrides != lic.policy_overrides:
                diff["policy_overrides"] = {"from": lic.policy_overrides, "to": overrides}
                lic.policy_overrides = overrides
                rules_changed = True
        if rules_changed:
            policy_service.rederive_live(ctx, lic, _check_whole(lic))
        if diff:
            events.record(session, "license.updated", origin, license=lic, data=diff)
        session.commit()
        return lic
    except BaseException:
        session.rollback()
        raise


def add_seats(ctx: Context, origin: Origin, public_id: str, more: int) -> License:
    """``more`` seats on top of what the licence has when its lock is taken
    (two additions at once both count), as a ``license.updated`` event."""
    if more < 1:
        raise ValidationFailed({"seats": ["Add at least one seat."]})
    session = ctx.session
    begin_write(session)
    try:
        lic = _locked(session, public_id)
        old = lic.seats
        lic.seats = old + more
        events.record(
            session,
            "license.updated",
            origin,
            license=lic,
            data={"seats": {"from": old, "to": lic.seats}},
        )
        session.commit()
        return lic
    except BaseException:
        session.rollback()
        raise


def renew(ctx: Context, origin: Origin, public_id: str, days: int | None = None) -> License:
    """Extend by ``days`` (default: the policy's duration), from the old expiry or
    from now as the policy's renewal basis says (``domain.policy.renewed_expiry``)."""
    session = ctx.session
    begin_write(session)
    try:
        lic = _locked(session, public_id)
        s = policy_service.effective(lic)
        now = utcnow()
        try:
            new = rules.renewed_expiry(s, lic.expires_at, now, days)
        except rules.PolicyError as exc:
            raise ValidationFailed(exc.errors) from None
        old = lic.expires_at
        lic.expires_at = new
        events.record(
            session,
            "license.renewed",
            origin,
            license=lic,
            data={
                "from": iso(old),
                "to": iso(new),
                "days": days or s.duration_days,
                "basis": s.renewal_basis,
            },
        )
        session.commit()
        return lic
    except BaseException:
        session.rollback()
        raise


def convert(
    ctx: Context,
    origin: Origin,
    public_id: str,
    *,
    policy: str,
    expires_at: datetime | None | Any = UNSET,
    seats: int | None = None,
) -> License:
    """A trial licence becomes a paid one: it moves to ``policy`` (not a trial),
    keeping its key, password and activations. Expiry: ``expires_at`` if given,
    else the new policy's rule from now, else perpetual."""
    session = ctx.session
    begin_write(session)
    try:
        lic = _locked(session, public_id)
        before = policy_service.effective(lic)
        if not before.trial:
            raise Conflict("Only a trial licence can be converted.")
        pol = policy_of(ctx, lic.product_id, policy)
        assert pol is not None
        target = rules.resolve(pol.settings, lic.policy_overrides)
        if target.trial:
            raise Conflict(f"Policy '{pol.name}' is a trial: convert to a paid policy.")
        now = utcnow()
        old_policy = lic.policy.public_id if lic.policy else None
        old_expiry = lic.expires_at
        lic.policy_id, lic.policy = pol.id, pol
        if expires_at is UNSET:
            if target.expiry_basis == rules.FROM_FIRST_ACTIVATION and target.duration_days:
                expires_at = now + timedelta(days=target.duration_days)
            else:
                expires_at = rules.expiry_at_issue(target, now, None)
        lic.expires_at = expires_at
        if seats is not None:
            lic.seats = seats
        lic.converted_at = now
        policy_service.rederive_live(ctx, lic, _check_whole(lic))
        events.record(
            session,
            "license.converted",
            origin,
            license=lic,
            data={
                "policy": {"from": old_policy, "to": pol.public_id},
                "expires_at": {"from": iso(old_expiry), "to": iso(lic.expires_at)},
                **({"seats": seats} if seats is not None else {}),
            },
        )
        session.commit()
        return lic
    except BaseException:
        session.rollback()
        raise


def _locked(session: Session, public_id: str) -> License:
    q = (
        select(License)
        .where(License.public_id == public_id)
        .execution_options(populate_existing=True)
    )
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(of=License)
    lic = session.scalars(q).first()
    if lic is None:
        raise NotFound(f"No licence with id '{public_id}'.")
    return lic


_KIND = {
    "suspend": "license.suspended",
    "reinstate": "license.reinstated",
    "revoke": "license.revoked",
}


def change_status(
    ctx: Context, origin: Origin, public_id: str, action: str, reason: str | None = None
) -> License:
    session = ctx.session
    begin_write(session)
    try:
        lic = _locked(session, public_id)
        target = transition(lic.status, action)
        if target is not None:
            before = lic.status
            lic.status = target
            events.record(
                session,
                _KIND[action],
                origin,
                license=lic,
                reason=reason,
                data={"from": before, "to": target},
            )
        session.commit()
        return lic
    except BaseException:
        session.rollback()
        raise


def regenerate_password(ctx: Context, origin: Origin, public_id: str) -> tuple[License, str]:
    session = ctx.session
    begin_write(session)
    lic = _locked(session, public_id)
    password = new_activation_password()
    lic.activation_password_enc = ctx.box.seal(password, PASSWORD_PURPOSE)
    events.record(session, "license.password_regenerated", origin, license=lic)
    session.commit()
    return lic, password


def reissue_key(ctx: Context, origin: Origin, public_id: str) -> tuple[License, str]:
    """A new serial: the old key stops working at once; activations made with it stay."""
    session = ctx.session
    begin_write(session)
    lic = _locked(session, public_id)
    lic.key_serial += 1
    key = sign_key(ctx, lic, utcnow())
    lic.key_enc = ctx.box.seal(key, KEY_PURPOSE)
    events.record(
        session, "license.key_reissued", origin, license=lic, data={"serial": lic.key_serial}
    )
    session.commit()
    return lic, key
