"""The demo data of ``licserver demo``: a product, a customer with licences of
each licence model, portal users with known passwords and a fresh admin token.
Safe to load again: what exists is reused (and the old demo token revoked)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from licserver.crypto import hash_password
from licserver.domain.errors import LicenseServerError
from licserver.models import Customer, License, Product, User, utcnow
from licserver.services import CLIENT, Origin
from licserver.services import activation as activation_service
from licserver.services import customers as customer_service
from licserver.services import licenses as license_service
from licserver.services import orders as order_service
from licserver.services import policies as policy_service
from licserver.services import products as product_service
from licserver.services import tokens as token_service
from licserver.services.context import Context
from licserver.services.credentials import ACTIVATION_PASSWORD, Credentials

PRODUCT = "demo-app"
OWNER = "owner@demo.example"
OWNER_PASSWORD = "demo-owner-password"
COMPANY_PASSWORD = "demo-company-password"
# The portal's demo users besides the owner: (role, email, name, password).
USERS = (
    ("technical", "tech@demo.example", "Tom Technical", "demo-tech-password"),
    ("basic", "basic@demo.example", "Bea Basic", "demo-basic-password"),
)
# The licence models to try (docs/licence-models.md): a floating policy and a
# 14-day trial, with one licence on each.
POLICIES = {
    "floating": {"model": "floating", "lease_ttl": 900, "features": ["render"]},
    "trial": {"trial": True, "expiry_basis": "from_first_activation", "duration_days": 14},
}


@dataclass(frozen=True)
class Demo:
    product: Product
    customer: Customer
    licenses: list[tuple[License, license_service.Secrets]]
    token: str
    fresh: bool  # made now (not found from an earlier run)


def load(d: Context, origin: Origin) -> Demo:
    session = d.session
    invitation_ttl_hours = d.settings.invitation_ttl_hours
    try:
        product = product_service.get(d, PRODUCT)
    except LicenseServerError:
        product = product_service.create(
            d, code=PRODUCT, name="Demo App", default_seats=3, offline_grace_days=14
        )
    cust = session.scalars(select(Customer).where(Customer.email == OWNER)).first()
    fresh = cust is None
    if cust is None:
        cust, _ = customer_service.create(
            d,
            name="Demo Ltd",
            email=OWNER,
            company_password=COMPANY_PASSWORD,
            invitation_ttl_hours=invitation_ttl_hours,
        )
        _licences(d, origin, product.code, cust.number)
    _users(d, cust.number, invitation_ttl_hours)
    rows = session.scalars(
        select(License).where(License.customer_id == cust.id).order_by(License.id)
    ).all()
    for row in token_service.list_tokens(d):
        if row.name == "demo" and row.revoked_at is None:
            token_service.revoke(d, row.public_id, origin)
    _, token = token_service.create(d, "demo", "full", origin)
    licenses = [(lic, license_service.reveal(d, lic)) for lic in rows]
    return Demo(product, cust, licenses, token, fresh)


def _licences(d: Context, origin: Origin, product: str, customer: str) -> None:
    for seats, expires_at, features in (
        (5, None, ["export", "pro"]),
        (2, utcnow() + timedelta(days=30), []),
    ):
        license_service.create(
            d,
            origin,
            product=product,
            customer=customer,
            seats=seats,
            expires_at=expires_at,
            features=features,
        )
    have = {p.name for p in policy_service.list_for_product(d, product)}
    for name, settings in POLICIES.items():
        if name not in have:
            policy_service.create(d, origin, product=product, name=name, settings=settings)
    license_service.create(
        d, origin, product=product, customer=customer, seats=2, policy="floating"
    )
    license_service.create(d, origin, product=product, customer=customer, seats=1, policy="trial")


def _users(d: Context, number: str, invitation_ttl_hours: int) -> None:
    session = d.session
    """The owner's password, and the other demo users with theirs (made when missing)."""
    for role, email, name, _ in USERS:
        if session.scalars(select(User.id).where(User.email == email)).first() is None:
            customer_service.add_user(
                d,
                number,
                email=email,
                name=name,
                role=role,
                licenses=None,
                invitation_ttl_hours=invitation_ttl_hours,
            )
    passwords = {OWNER: OWNER_PASSWORD, **{u[1]: u[3] for u in USERS}}
    for user in session.scalars(select(User).where(User.email.in_(passwords))).all():
        if user.password_hash is None:
            user.password_hash = hash_password(passwords[user.email])
            user.invite_token_hash = None
            user.invite_expires_at = None
    session.commit()


# The machines of a fresh demo, activated on its first licence:
# (installation id, machine name, operating system).
MACHINES = (
    ("demo-install-design07", "DESIGN-PC-07", "Windows 11"),
    ("demo-install-laptop-anna", "LAPTOP-ANNA", "macOS 15"),
)


def add_installations(d: Context, license_id: str, password: str) -> None:
    """The demo's machines on licence ``license_id``, activated as the
    product would activate them (the client API's use case)."""
    creds = Credentials(
        kind=ACTIVATION_PASSWORD, license_id=license_id, activation_password=password
    )
    for installation_id, machine, os_name in MACHINES:
        activation_service.activate(
            d,
            creds,
            installation_id,
            machine,
            {"app_version": "3.2.1", "os": os_name},
            Origin(actor=CLIENT, ip="127.0.0.1"),
        )


def add_orders(d: Context, number: str, license_id: str) -> None:
    """Two orders of the demo customer ``number``, the first for licence
    ``license_id`` (for a fresh demo: the portal's order history)."""
    today = d.now().date()
    order_service.create(
        d,
        customer=number,
        number=f"DEMO-{number[2:]}-1",
        date=today - timedelta(days=40),
        amount=Decimal("1500.00"),
        currency="EUR",
        po_number="PO-4711",
        items=[
            order_service.ItemIn("Demo App, 5 seats, perpetual", Decimal("1250.00"), license_id),
            order_service.ItemIn("Installation support", Decimal("250.00")),
        ],
    )
    order_service.create(
        d,
        customer=number,
        number=f"DEMO-{number[2:]}-2",
        date=today,
        amount=Decimal("390.00"),
        currency="EUR",
        po_number=None,
        items=[order_service.ItemIn("Demo App, 2 seats, 30 days", Decimal("390.00"))],
    )
