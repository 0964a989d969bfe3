"""`licserver demo`: a demo product, customer, licences and users to try the
server with. It calls the same services as the HTTP API."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import click
from flask import current_app
from sqlalchemy import select

from licserver.crypto import hash_password
from licserver.domain.errors import LicenseServerError
from licserver.extensions import db
from licserver.models import utcnow
from licserver.runtime import context
from licserver.services import Actor, Origin
from licserver.services import customers as customer_service
from licserver.services import licenses as license_service
from licserver.services import products as product_service
from licserver.services import tokens as token_service
from licserver.services.context import Context

CLI = Origin(Actor("admin", "cli"))


DEMO_PRODUCT = "demo-app"
DEMO_OWNER = "owner@demo.example"
DEMO_USER_PASSWORD = "demo-owner-password"
DEMO_COMPANY_PASSWORD = "demo-company-password"
# The portal's demo users besides the owner: (role, email, name, password).
DEMO_USERS = (
    ("technical", "tech@demo.example", "Tom Technical", "demo-tech-password"),
    ("basic", "basic@demo.example", "Bea Basic", "demo-basic-password"),
)
DEMO_MACHINES = (
    ("demo-install-design07", "DESIGN-PC-07", "Windows 11"),
    ("demo-install-laptop-anna", "LAPTOP-ANNA", "macOS 15"),
)


def _demo_users(number: str) -> None:
    """The owner's password, and the other demo users with theirs (made when missing)."""
    from licserver.models import User

    session = db.session()
    for role, email, name, _ in DEMO_USERS:
        if session.scalars(select(User.id).where(User.email == email)).first() is None:
            customer_service.add_user(
                context(),
                number,
                email=email,
                name=name,
                role=role,
                licenses=None,
                invitation_ttl_hours=current_app.config["INVITATION_TTL_HOURS"],
            )
    passwords = {DEMO_OWNER: DEMO_USER_PASSWORD, **{u[1]: u[3] for u in DEMO_USERS}}
    for user in session.scalars(select(User).where(User.email.in_(passwords))).all():
        if user.password_hash is None:
            user.password_hash = hash_password(passwords[user.email])
            user.invite_token_hash = None
            user.invite_expires_at = None
    session.commit()


def _demo_history(number: str, license_id: str, password: str) -> None:
    """Installations (through the client API, as a product makes them) and orders."""
    from decimal import Decimal

    from licserver.services import orders as order_service

    client = current_app.test_client()
    for installation_id, machine, os_name in DEMO_MACHINES:
        client.post(
            "/api/v1/activations",
            json={
                "license_id": license_id,
                "activation_password": password,
                "installation_id": installation_id,
                "machine_name": machine,
                "client": {"app_version": "3.2.1", "os": os_name},
            },
        )
    today = utcnow().date()
    order_service.create(
        context(),
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
        context(),
        customer=number,
        number=f"DEMO-{number[2:]}-2",
        date=today,
        amount=Decimal("390.00"),
        currency="EUR",
        po_number=None,
        items=[order_service.ItemIn("Demo App, 2 seats, 30 days", Decimal("390.00"))],
    )


def _demo_policy_licences(d: Context, product: str, customer: str) -> None:
    """The licence models to try (docs/licence-models.md): a floating policy and a
    14-day trial, with one licence on each."""
    from licserver.services import policies as policy_service

    have = {p.name for p in policy_service.list_for_product(d, product)}
    wanted = {
        "floating": {"model": "floating", "lease_ttl": 900, "features": ["render"]},
        "trial": {"trial": True, "expiry_basis": "from_first_activation", "duration_days": 14},
    }
    for name, settings in wanted.items():
        if name not in have:
            policy_service.create(d, CLI, product=product, name=name, settings=settings)
    license_service.create(d, CLI, product=product, customer=customer, seats=2, policy="floating")
    license_service.create(d, CLI, product=product, customer=customer, seats=1, policy="trial")


@click.command("demo")
def demo_command() -> None:
    """Load a demo product, customer, licences and users; print how to use them.
    Safe to run again: it reuses what exists and issues a fresh demo admin token."""
    session = db.session()
    d = context()
    try:
        product = product_service.get(context(), DEMO_PRODUCT)
    except LicenseServerError:
        product = product_service.create(
            context(), code=DEMO_PRODUCT, name="Demo App", default_seats=3, offline_grace_days=14
        )
    from licserver.models import Customer, License

    cust = session.scalars(select(Customer).where(Customer.email == DEMO_OWNER)).first()
    fresh = cust is None
    if cust is None:
        cust, _ = customer_service.create(
            context(),
            name="Demo Ltd",
            email=DEMO_OWNER,
            company_password=DEMO_COMPANY_PASSWORD,
            invitation_ttl_hours=current_app.config["INVITATION_TTL_HOURS"],
        )
        license_service.create(
            d,
            CLI,
            product=product.code,
            customer=cust.number,
            seats=5,
            expires_at=None,
            features=["export", "pro"],
        )
        license_service.create(
            d,
            CLI,
            product=product.code,
            customer=cust.number,
            seats=2,
            expires_at=utcnow() + timedelta(days=30),
            features=[],
        )
        _demo_policy_licences(d, product.code, cust.number)
    _demo_users(cust.number)
    licenses = session.scalars(
        select(License).where(License.customer_id == cust.id).order_by(License.id)
    ).all()
    first = license_service.reveal(d, licenses[0])
    if fresh:
        _demo_history(cust.number, licenses[0].public_id, first.activation_password)
    for row in token_service.list_tokens(context()):
        if row.name == "demo" and row.revoked_at is None:
            token_service.revoke(context(), row.public_id)
    _, token = token_service.create(context(), "demo", "full")

    base = current_app.config["PUBLIC_URL"].rstrip("/")
    click.echo(f"""
Demo data loaded.

  Admin API token (full scope):   {token}
  Product:                        {product.code}
  Customer:                       {cust.name}, number {cust.number}
  Company password:               {DEMO_COMPANY_PASSWORD}
""")
    for lic in licenses:
        s = license_service.reveal(d, lic)
        exp = lic.expires_at.strftime("%Y-%m-%d") if lic.expires_at else "never"
        model = f", policy {lic.policy.name}" if lic.policy else ""
        click.echo(
            f"  Licence {lic.public_id}: {lic.seats} seats, expires {exp}{model}, "
            f"activation password {s.activation_password}"
        )
    users = [("owner", DEMO_OWNER, DEMO_USER_PASSWORD)] + [(r, e, p) for r, e, _, p in DEMO_USERS]
    click.echo(f"\nCustomer portal: {base}/portal/login  (log in as any of these)")
    for role, email, password in users:
        click.echo(f"  {role:<10} {email:<22} password {password}")
    click.echo(
        f"  {'company':<10} {cust.number:<22} password {DEMO_COMPANY_PASSWORD}"
        f"  (company login, role {cust.company_login_role})"
    )
    from licserver.cli.staff import demo_staff_admin

    click.echo(demo_staff_admin(base))
    if current_app.config["SMTP_HOST"]:
        click.echo(f"Email: sent through {current_app.config['SMTP_HOST']}.")
    else:
        outbox = Path(current_app.instance_path) / "outbox"
        click.echo(f"Email: no SMTP_HOST set, so messages are written as .eml files to {outbox}/")
    body = json.dumps(
        {
            "license_id": licenses[0].public_id,
            "activation_password": first.activation_password,
            "installation_id": "demo-machine-0001",
            "machine_name": "DEMO-PC",
        }
    )
    click.echo(f"""
Try it:
  curl -s {base}/api/v1/licenses -H 'Authorization: Bearer {token}'
  curl -s -X POST {base}/api/v1/activations -H 'Content-Type: application/json' \\
       -d '{body}'
""")


COMMANDS: list[click.Command] = [demo_command]
