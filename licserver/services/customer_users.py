"""A customer's portal users as the vendor's staff manage them (the console):
change a role and licence limits, remove a user, send a fresh invitation.

Staff stand above the account's own roles, so there is no "may a manager
touch an owner" check (``portal_users`` has it for the portal); the account's
rules still hold: an owner is never limited to chosen licences, and the last
owner is never removed or demoted. Each change is an event naming who made it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from licserver.crypto import random_token, token_hash
from licserver.database import begin_write
from licserver.domain import portal as rules
from licserver.domain.errors import Conflict, NotFound, ValidationFailed
from licserver.domain.roles import ROLES
from licserver.models import Customer, User, utcnow
from licserver.services import Origin, events
from licserver.services import customers as customer_service
from licserver.services.context import Context
from licserver.services.customers import Invitation
from licserver.services.portal_users import account_licenses, lock_account, owner_count


def get_user(ctx: Context, number: str, user_id: int) -> tuple[Customer, User]:
    """The customer and one of its users; another customer's is NOT_FOUND."""
    cust = customer_service.get(ctx, number)
    user = ctx.session.get(User, user_id, populate_existing=True)
    if user is None or user.customer_id != cust.id:
        raise NotFound(f"Customer {number} has no such portal user.")
    return cust, user


@dataclass(frozen=True)
class Change:
    user: User
    became_owner: bool


def update_user(
    ctx: Context, origin: Origin, number: str, user_id: int, *, role: str, licenses: list[str]
) -> Change:
    """A user's role and licence limits (empty: all the account's licences),
    as a ``user.updated`` event (nothing changed: no event)."""
    if role not in ROLES:
        raise ValidationFailed({"role": [f"One of {', '.join(ROLES)}."]})
    session = ctx.session
    begin_write(session)
    try:
        cust = customer_service.get(ctx, number)
        lock_account(session, cust.id)
        _, user = get_user(ctx, number, user_id)
        rules.check_limits(role, bool(licenses))
        rules.check_owner_kept(owner_count(session, cust.id), user.role, role)
        chosen = account_licenses(session, cust.id, licenses)
        old_limits = sorted(lic.public_id for lic in user.licenses)
        new_limits = sorted(lic.public_id for lic in chosen)
        diff: dict[str, dict[str, Any]] = {}
        if user.role != role:
            diff["role"] = {"from": user.role, "to": role}
        if old_limits != new_limits:
            diff["licenses"] = {"from": old_limits, "to": new_limits}
        became_owner = role == rules.OWNER and user.role != rules.OWNER
        user.role = role
        user.licenses = chosen
        if diff:
            data = {"email": user.email, **diff}
            events.record(session, "user.updated", origin, customer_id=cust.id, data=data)
        session.commit()
        return Change(user, became_owner)
    except BaseException:
        session.rollback()
        raise


def remove_user(ctx: Context, origin: Origin, number: str, user_id: int) -> User:
    """The user is gone (their sessions with them); a ``user.removed`` event."""
    session = ctx.session
    begin_write(session)
    try:
        cust = customer_service.get(ctx, number)
        lock_account(session, cust.id)
        _, user = get_user(ctx, number, user_id)
        rules.check_owner_kept(owner_count(session, cust.id), user.role, None)
        data = {"email": user.email, "role": user.role}
        events.record(session, "user.removed", origin, customer_id=cust.id, data=data)
        session.delete(user)
        session.commit()
        return user
    except BaseException:
        session.rollback()
        raise


def reinvite(ctx: Context, origin: Origin, number: str, user_id: int) -> tuple[User, bool]:
    """A fresh invitation link, emailed, for a user who has not set a password
    yet (the earlier link stops working); whether the email went out."""
    session = ctx.session
    hours = ctx.settings.invitation_ttl_hours
    begin_write(session)
    try:
        cust, user = get_user(ctx, number, user_id)
        if user.password_hash is not None:
            raise Conflict("This user has set a password already.")
        token = random_token(32)
        user.invite_token_hash = token_hash(token)
        user.invite_expires_at = utcnow() + timedelta(hours=hours)
        events.record(
            session, "user.reinvited", origin, customer_id=cust.id, data={"email": user.email}
        )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    sent = customer_service.send_invitation(ctx, Invitation(user, token, hours), cust.name)
    return user, sent
