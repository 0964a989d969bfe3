"""Customers and their portal users (invited by email to set a password).

``create`` and ``add_user`` make the user and its invitation; ``create_invited``
and ``add_invited_user`` also email it (after the commit: a message that cannot
be handed over is reported, never undoes the change)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from licserver.crypto import hash_password, random_token, token_hash
from licserver.database import begin_write
from licserver.domain import portal as portal_rules
from licserver.domain.errors import Conflict, NotFound
from licserver.domain.ids import new_customer_number
from licserver.models import Customer, License, User, utcnow
from licserver.services import Origin, events, notices
from licserver.services.context import Context
from licserver.services.pagination import Page, PageRequest, fetch


@dataclass
class Invitation:
    user: User
    token: str  # secret; goes into the emailed link only
    hours: int  # how long the link works


def get(ctx: Context, number: str) -> Customer:
    session = ctx.session
    cust = session.scalars(select(Customer).where(Customer.number == number)).first()
    if cust is None:
        raise NotFound(f"No customer with number '{number}'.")
    return cust


def _email_taken(session: Session, email: str) -> bool:
    return session.scalars(select(User.id).where(User.email == email)).first() is not None


def _new_user(customer: Customer, email: str, name: str, role: str, ttl_hours: int) -> Invitation:
    token = random_token(32)
    user = User(
        customer_id=customer.id,
        email=email,
        name=name,
        role=role,
        invite_token_hash=token_hash(token),
        invite_expires_at=utcnow() + timedelta(hours=ttl_hours),
    )
    return Invitation(user, token, ttl_hours)


def _new_number(session: Session) -> str:
    for _ in range(5):
        number = new_customer_number()
        if session.scalars(select(Customer.id).where(Customer.number == number)).first() is None:
            break
    return number


def find_by_email(session: Session, email: str) -> Customer | None:
    """The customer whose contact email, or one of whose portal users' email,
    is ``email`` (any case)."""
    low = email.strip().lower()
    cust = session.scalars(
        select(Customer).where(func.lower(Customer.email) == low).order_by(Customer.id)
    ).first()
    if cust is None:
        user = session.scalars(select(User).where(func.lower(User.email) == low)).first()
        cust = session.get(Customer, user.customer_id) if user else None
    return cust


def buyer(
    ctx: Context, email: str, name: str | None, invitation_ttl_hours: int
) -> tuple[Customer, str | None]:
    """A buyer's account (a store's sale): found by email, any case, or
    created with its owner. The invitation token when the owner has no portal
    password yet (a new one is made each time). In the caller's transaction,
    no commit.

    Race-free: a new customer comes with its owner, and ``users.email`` is
    unique, so of two transactions creating one for the same email the second
    one's insert fails (PostgreSQL makes it wait for the first to commit); it
    rolls back its savepoint and takes the first one's customer. On SQLite the
    caller holds the write lock, so there is no race."""
    session = ctx.session
    low = email.strip().lower()
    cust = find_by_email(session, low)
    if cust is None:
        try:
            with session.begin_nested():
                cust = Customer(number=_new_number(session), name=name or low, email=low)
                session.add(cust)
                session.flush()
                session.add(_new_user(cust, low, name or low, "owner", invitation_ttl_hours).user)
                session.flush()
        except IntegrityError:
            cust = find_by_email(session, low)
            if cust is None:
                raise
    user = session.scalars(select(User).where(func.lower(User.email) == low)).first()
    if user is not None and user.password_hash:
        return cust, None
    if user is None:  # a customer whose contact email has no portal user yet
        user = _new_user(cust, low, name or low, "owner", invitation_ttl_hours).user
        session.add(user)
    token = random_token(32)
    user.invite_token_hash = token_hash(token)
    user.invite_expires_at = utcnow() + timedelta(hours=invitation_ttl_hours)
    return cust, token


def create(
    ctx: Context,
    *,
    name: str,
    email: str,
    company_password: str | None,
    invitation_ttl_hours: int | None = None,
    origin: Origin | None = None,
) -> tuple[Customer, Invitation]:
    """A customer and its first owner (the contact email), invited to set a
    password (the link works ``invitation_ttl_hours``, by default the
    settings' INVITATION_TTL_HOURS). With ``origin``, a ``customer.created``
    event names who made it."""
    session = ctx.session
    hours = invitation_ttl_hours or ctx.settings.invitation_ttl_hours
    begin_write(session)  # SQLite: take the write lock before reading
    email = email.strip().lower()
    if _email_taken(session, email):
        raise Conflict(f"A portal user with email '{email}' already exists.")
    cust = Customer(
        number=_new_number(session),
        name=name,
        email=email,
        company_password_hash=hash_password(company_password) if company_password else None,
    )
    session.add(cust)
    session.flush()
    invitation = _new_user(cust, email, name, "owner", hours)
    session.add(invitation.user)
    if origin is not None:
        data = {"number": cust.number, "name": name, "email": email, "owner": email}
        data["company_password"] = "set" if company_password else "off"
        events.record(session, "customer.created", origin, customer_id=cust.id, data=data)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"A portal user with email '{email}' already exists.") from None
    return cust, invitation


def update(
    ctx: Context, number: str, changes: dict[str, Any], origin: Origin | None = None
) -> Customer:
    """Name, contact email, company password (None or empty: off). With
    ``origin``, a ``customer.updated`` event holds what changed (never the
    password itself; nothing changed: no event). A changed email is told to
    both addresses."""
    session = ctx.session
    begin_write(session)  # SQLite: take the write lock before reading
    cust = get(ctx, number)
    old_email = cust.email
    diff: dict[str, Any] = {}
    if "name" in changes and changes["name"] != cust.name:
        diff["name"] = {"from": cust.name, "to": changes["name"]}
        cust.name = changes["name"]
    if "email" in changes and changes["email"].strip().lower() != cust.email:
        diff["email"] = {"from": cust.email, "to": changes["email"].strip().lower()}
        cust.email = changes["email"].strip().lower()
    if "company_password" in changes:
        pw = changes["company_password"]
        was = "set" if cust.company_password_hash else "off"
        cust.company_password_hash = hash_password(pw) if pw else None
        if pw or was == "set":
            diff["company_password"] = {"from": was, "to": "set" if pw else "off"}
    if origin is not None and diff:
        events.record(
            session,
            "customer.updated",
            origin,
            customer_id=cust.id,
            data={"number": number, **diff},
        )
    session.commit()
    if cust.email != old_email:  # both addresses hear of it, as from the portal
        notices.email_changed(
            ctx.mailer,
            old=old_email,
            new=cust.email,
            name=cust.name,
            what="main contact email",
            company=cust.name,
            at=utcnow(),
        )
    return cust


def add_user(
    ctx: Context,
    number: str,
    *,
    email: str,
    name: str,
    role: str,
    licenses: list[str] | None,
    invitation_ttl_hours: int | None = None,
    origin: Origin | None = None,
) -> Invitation:
    """A new portal user of the customer, invited (the caller sends it); with
    ``origin``, a ``user.invited`` event names who invited them."""
    session = ctx.session
    hours = invitation_ttl_hours or ctx.settings.invitation_ttl_hours
    portal_rules.check_limits(role, bool(licenses))  # an owner sees the whole account
    begin_write(session)  # SQLite: take the write lock before reading
    cust = get(ctx, number)
    email = email.strip().lower()
    if _email_taken(session, email):
        raise Conflict(f"A portal user with email '{email}' already exists.")
    invitation = _new_user(cust, email, name, role, hours)
    if licenses:
        wanted = list(dict.fromkeys(licenses))
        rows = (
            session.scalars(
                select(License).where(License.public_id.in_(wanted), License.customer_id == cust.id)
            )
            .unique()
            .all()
        )
        found = {lic.public_id for lic in rows}
        missing = [lid for lid in wanted if lid not in found]
        if missing:
            raise NotFound(f"No licence {', '.join(missing)} for customer {number}.")
        invitation.user.licenses = list(rows)
    session.add(invitation.user)
    if origin is not None:
        data = {"email": email, "name": name, "role": role, "licenses": licenses or []}
        events.record(session, "user.invited", origin, customer_id=cust.id, data=data)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"A portal user with email '{email}' already exists.") from None
    return invitation


def send_invitation(ctx: Context, invitation: Invitation, company: str) -> bool:
    """Email the invited user the link to set a password; False when the
    message could not be handed over (the invitation stands)."""
    user = invitation.user
    return notices.invitation(
        ctx.mailer,
        to=user.email,
        name=user.name,
        role=user.role,
        company=company,
        token=invitation.token,
        hours=invitation.hours,
    )


def create_invited(
    ctx: Context,
    *,
    name: str,
    email: str,
    company_password: str | None,
    origin: Origin | None = None,
) -> tuple[Customer, bool]:
    """:func:`create`, then the owner's invitation emailed; whether it was sent."""
    cust, invitation = create(
        ctx, name=name, email=email, company_password=company_password, origin=origin
    )
    return cust, send_invitation(ctx, invitation, cust.name)


def add_invited_user(
    ctx: Context,
    number: str,
    *,
    email: str,
    name: str,
    role: str,
    licenses: list[str] | None,
    origin: Origin | None = None,
) -> tuple[User, bool]:
    """:func:`add_user`, then the invitation emailed; whether it was sent."""
    invitation = add_user(
        ctx, number, email=email, name=name, role=role, licenses=licenses, origin=origin
    )
    company = get(ctx, number).name
    return invitation.user, send_invitation(ctx, invitation, company)


def list_users(ctx: Context, number: str) -> list[User]:
    session = ctx.session
    cust = get(ctx, number)
    return list(
        session.scalars(select(User).where(User.customer_id == cust.id).order_by(User.id)).all()
    )


def list_customers(ctx: Context, req: PageRequest, email: str | None = None) -> Page[Customer]:
    """Customers, oldest first; with ``email``, the one of that contact email."""
    q = select(Customer)
    if email:
        q = q.where(Customer.email == email.strip().lower())
    return fetch(ctx.session, q, Customer.id, req)


def users_page(ctx: Context, number: str, req: PageRequest) -> Page[User]:
    """The customer's portal users, oldest first."""
    cust = get(ctx, number)
    return fetch(ctx.session, select(User).where(User.customer_id == cust.id), User.id, req)


def count(ctx: Context) -> int:
    session = ctx.session
    return int(session.scalar(select(func.count(Customer.id))) or 0)
