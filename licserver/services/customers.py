"""Customers and their portal users (invited by email to set a password)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from licserver.crypto import hash_password, random_token, token_hash
from licserver.database import begin_write
from licserver.domain.errors import Conflict, NotFound
from licserver.domain.ids import new_customer_number
from licserver.models import Customer, License, User, utcnow
from licserver.services.context import Context
from licserver.services.pagination import Page, PageRequest, fetch


@dataclass
class Invitation:
    user: User
    token: str  # secret; goes into the emailed link only


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
    return Invitation(user, token)


def create(
    ctx: Context,
    *,
    name: str,
    email: str,
    company_password: str | None,
    invitation_ttl_hours: int,
) -> tuple[Customer, Invitation]:
    """A customer and its first owner (the contact email), invited to set a password."""
    session = ctx.session
    begin_write(session)  # SQLite: take the write lock before reading
    email = email.strip().lower()
    if _email_taken(session, email):
        raise Conflict(f"A portal user with email '{email}' already exists.")
    for _ in range(5):
        number = new_customer_number()
        if session.scalars(select(Customer.id).where(Customer.number == number)).first() is None:
            break
    cust = Customer(
        number=number,
        name=name,
        email=email,
        company_password_hash=hash_password(company_password) if company_password else None,
    )
    session.add(cust)
    session.flush()
    invitation = _new_user(cust, email, name, "owner", invitation_ttl_hours)
    session.add(invitation.user)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"A portal user with email '{email}' already exists.") from None
    return cust, invitation


def update(ctx: Context, number: str, changes: dict[str, Any]) -> Customer:
    session = ctx.session
    begin_write(session)  # SQLite: take the write lock before reading
    cust = get(ctx, number)
    if "name" in changes:
        cust.name = changes["name"]
    if "email" in changes:
        cust.email = changes["email"].strip().lower()
    if "company_password" in changes:
        pw = changes["company_password"]
        cust.company_password_hash = hash_password(pw) if pw else None
    session.commit()
    return cust


def add_user(
    ctx: Context,
    number: str,
    *,
    email: str,
    name: str,
    role: str,
    licenses: list[str] | None,
    invitation_ttl_hours: int,
) -> Invitation:
    session = ctx.session
    begin_write(session)  # SQLite: take the write lock before reading
    cust = get(ctx, number)
    email = email.strip().lower()
    if _email_taken(session, email):
        raise Conflict(f"A portal user with email '{email}' already exists.")
    invitation = _new_user(cust, email, name, role, invitation_ttl_hours)
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
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"A portal user with email '{email}' already exists.") from None
    return invitation


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
