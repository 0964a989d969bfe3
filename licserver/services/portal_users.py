"""The account's users, as its owners and managers manage them in the portal:
invite, change role and licence limits, remove. The matrix decides who may;
the last owner always stays."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from licserver.crypto import random_token, token_hash
from licserver.database import begin_write, is_postgres
from licserver.domain import portal as rules
from licserver.domain.errors import Conflict, Forbidden, NotFound
from licserver.domain.portal import Principal
from licserver.models import Customer, License, User, utcnow
from licserver.services import customers as customer_service
from licserver.services import notices
from licserver.services.context import Context
from licserver.services.customers import Invitation


def list_users(ctx: Context, principal: Principal) -> list[User]:
    session = ctx.session
    rules.check(principal, rules.USERS)
    return list(
        session.scalars(
            select(User).where(User.customer_id == principal.customer_id).order_by(User.id)
        ).all()
    )


def get_user(ctx: Context, principal: Principal, user_id: int) -> User:
    """One user of the principal's own account; another account's is NOT_FOUND."""
    session = ctx.session
    rules.check(principal, rules.USERS)
    user = session.get(User, user_id, populate_existing=True)
    if user is None or user.customer_id != principal.customer_id:
        raise NotFound("No such user in this account.")
    return user


def lock_account(session: Session, customer_id: int) -> Customer:
    """Changes to one account's users take turns (SQLite: the write lock
    already does; PostgreSQL: the customer row), so two owners demoting each
    other at once cannot leave the account without one."""
    q = select(Customer).where(Customer.id == customer_id)
    if is_postgres(session):
        q = q.with_for_update()
    return session.scalars(q.execution_options(populate_existing=True)).one()


def owner_count(session: Session, customer_id: int) -> int:
    return int(
        session.scalar(
            select(func.count(User.id)).where(
                User.customer_id == customer_id, User.role == rules.OWNER
            )
        )
        or 0
    )


def account_licenses(session: Session, customer_id: int, public_ids: list[str]) -> list[License]:
    if not public_ids:
        return []
    rows = list(
        session.scalars(
            select(License).where(
                License.customer_id == customer_id, License.public_id.in_(public_ids)
            )
        )
        .unique()
        .all()
    )
    if len(rows) != len(set(public_ids)):
        raise NotFound("No such licence in this account.")
    return rows


def invite(
    ctx: Context,
    principal: Principal,
    *,
    email: str,
    name: str,
    role: str,
    licenses: list[str],
    ttl_hours: int,
    by: str,
) -> Invited:
    """A new user of the principal's account, invited by email; a new owner is
    announced to the other owners (``by``: who did it, as the email names them)."""
    session = ctx.session
    rules.check_invite(principal, role)
    rules.check_limits(role, bool(licenses))
    cust = session.get(Customer, principal.customer_id)
    if cust is None:
        raise NotFound("No such account.")
    number, company = cust.number, cust.name
    inv = customer_service.add_user(
        ctx,
        number,
        email=email,
        name=name,
        role=role,
        licenses=licenses or None,
        invitation_ttl_hours=ttl_hours,
    )
    sent = _send_invitation(ctx, inv, company)
    if inv.user.role == rules.OWNER:
        _tell_owners_of_new_owner(ctx, principal.customer_id, inv.user, company, by)
    return Invited(inv.user, sent)


@dataclass(frozen=True)
class Invited:
    user: User
    sent: bool  # False: the invitation email could not be sent


def _send_invitation(ctx: Context, inv: Invitation, company: str) -> bool:
    return notices.invitation(
        ctx.mailer,
        to=inv.user.email,
        name=inv.user.name,
        role=inv.user.role,
        company=company,
        token=inv.token,
        hours=inv.hours,
    )


def _tell_owners_of_new_owner(
    ctx: Context, customer_id: int, user: User, company: str, by: str
) -> None:
    to = [a for a in notices.owners(ctx.session, customer_id) if a != user.email]
    notices.new_owner(
        ctx.mailer, to=to, owner_name=user.name, owner_email=user.email, company=company, by=by
    )


@dataclass(frozen=True)
class Change:
    user: User
    became_owner: bool


def update(
    ctx: Context, principal: Principal, user_id: int, *, role: str, licenses: list[str], by: str
) -> Change:
    """A user's role and licence limits (empty: all licences); a new owner is
    announced to the other owners (``by``: who did it)."""
    session = ctx.session
    begin_write(session)
    try:
        company = lock_account(session, principal.customer_id).name
        user = get_user(ctx, principal, user_id)
        rules.check_manage(principal, user.role, role)
        rules.check_limits(role, bool(licenses))
        rules.check_owner_kept(owner_count(session, principal.customer_id), user.role, role)
        became_owner = role == rules.OWNER and user.role != rules.OWNER
        user.role = role
        user.licenses = account_licenses(session, principal.customer_id, licenses)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    if became_owner:
        _tell_owners_of_new_owner(ctx, principal.customer_id, user, company, by)
    return Change(user, became_owner)


def remove(ctx: Context, principal: Principal, user_id: int) -> User:
    session = ctx.session
    begin_write(session)
    try:
        lock_account(session, principal.customer_id)
        user = get_user(ctx, principal, user_id)
        if user.id == principal.user_id:
            raise Forbidden("You cannot remove yourself; ask another owner or manager.")
        rules.check_manage(principal, user.role)
        rules.check_owner_kept(owner_count(session, principal.customer_id), user.role, None)
        session.delete(user)
        session.commit()
        return user
    except BaseException:
        session.rollback()
        raise


def reinvite(ctx: Context, principal: Principal, user_id: int, ttl_hours: int) -> Invited:
    """A fresh invitation link, sent by email, for a user who has not set a
    password yet (the earlier link stops working)."""
    session = ctx.session
    begin_write(session)
    try:
        user = get_user(ctx, principal, user_id)
        rules.check_manage(principal, user.role)
        if user.password_hash is not None:
            raise Conflict("This user has set a password already.")
        token = random_token(32)
        user.invite_token_hash = token_hash(token)
        user.invite_expires_at = utcnow() + timedelta(hours=ttl_hours)
        cust = session.get(Customer, principal.customer_id)
        company = cust.name if cust else ""
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return Invited(user, _send_invitation(ctx, Invitation(user, token, ttl_hours), company))
