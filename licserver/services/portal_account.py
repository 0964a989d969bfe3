"""The account itself, as its owners keep it in the portal: company details,
contacts, the company password and its login."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from licserver.crypto import hash_password
from licserver.database import begin_write
from licserver.domain import portal as rules
from licserver.domain.errors import NotFound, ValidationFailed
from licserver.domain.portal import Principal
from licserver.models import Customer, utcnow
from licserver.services.context import Context


def get(ctx: Context, principal: Principal) -> Customer:
    session = ctx.session
    cust = session.get(Customer, principal.customer_id, populate_existing=True)
    if cust is None:
        raise NotFound("No such account.")
    return cust


@dataclass(frozen=True)
class CompanyFacts:
    """What the Account page shows of the company to a user who cannot edit
    it; the contacts, address and phone are None for an outside contact."""

    name: str
    number: str
    email: str | None = None
    address: str | None = None
    phone: str | None = None
    billing_name: str | None = None
    billing_email: str | None = None


def facts(ctx: Context, principal: Principal) -> CompanyFacts:
    cust = get(ctx, principal)
    if not rules.sees_company_contacts(principal):
        return CompanyFacts(cust.name, cust.number)
    return CompanyFacts(
        cust.name,
        cust.number,
        cust.email,
        cust.address,
        cust.phone,
        cust.billing_name,
        cust.billing_email,
    )


@dataclass(frozen=True)
class ContactChange:
    what: str  # "main contact email", "billing contact email"
    old: str
    new: str
    at: datetime


def update_details(
    ctx: Context,
    principal: Principal,
    *,
    name: str,
    email: str,
    address: str | None,
    phone: str | None,
    vat_id: str | None,
    billing_name: str | None,
    billing_email: str | None,
) -> list[ContactChange]:
    """Company details and contacts; returns the contact emails that changed
    (both the old and the new address are told)."""
    session = ctx.session
    rules.check(principal, rules.ACCOUNT)
    begin_write(session)
    cust = get(ctx, principal)
    now = utcnow()
    changes = []
    email = email.strip().lower()
    billing_email = billing_email.strip().lower() if billing_email else None
    if email != cust.email:
        changes.append(ContactChange("main contact email", cust.email, email, now))
    if billing_email != cust.billing_email and cust.billing_email and billing_email:
        changes.append(
            ContactChange("billing contact email", cust.billing_email, billing_email, now)
        )
    cust.name = name
    cust.email = email
    cust.address = address or None
    cust.phone = phone or None
    cust.vat_id = vat_id or None
    cust.billing_name = billing_name or None
    cust.billing_email = billing_email
    session.commit()
    return changes


def update_company_login(
    ctx: Context,
    principal: Principal,
    *,
    enabled: bool,
    role: str,
    new_password: str | None,
    turn_off_password: bool,
) -> None:
    """The company login's on/off and role, and the company password (which
    also activates products): set a new one, or turn it off."""
    session = ctx.session
    rules.check(principal, rules.ACCOUNT)
    if role not in rules.COMPANY_LOGIN_ROLES:
        raise ValidationFailed({"role": ["Not a role the company login can have."]})
    begin_write(session)
    cust = get(ctx, principal)
    cust.company_login_enabled = enabled
    cust.company_login_role = role
    if turn_off_password:
        cust.company_password_hash = None
    elif new_password:
        cust.company_password_hash = hash_password(new_password)
    session.commit()
