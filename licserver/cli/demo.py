"""`licserver demo`: a demo product, customer, licences and users to try the
server with. It calls the same services as the HTTP API."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click
from flask import current_app

from licserver.cli.common import CLI

if TYPE_CHECKING:
    from licserver.services.context import Context

DEMO_MACHINES = (
    ("demo-install-design07", "DESIGN-PC-07", "Windows 11"),
    ("demo-install-laptop-anna", "LAPTOP-ANNA", "macOS 15"),
)


def _demo_history(ctx: Context, number: str, license_id: str, password: str) -> None:
    """Installations (through the client API, as a product makes them) and orders."""
    from licserver.services import demo as demo_service

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
    demo_service.add_orders(ctx, number, license_id)


# Over 60 lines on purpose: mostly the text printed for the user, in order.
@click.command("demo")
def demo_command() -> None:
    """Load a demo product, customer, licences and users; print how to use them.
    Safe to run again: it reuses what exists and issues a fresh demo admin token."""
    from licserver.cli.staff import demo_staff_admin
    from licserver.runtime import context
    from licserver.services import demo as demo_service

    d = context()
    demo = demo_service.load(d, CLI)
    product, cust, token = demo.product, demo.customer, demo.token
    first_lic, first = demo.licenses[0]
    if demo.fresh:
        _demo_history(d, cust.number, first_lic.public_id, first.activation_password)

    base = d.settings.public_url
    click.echo(f"""
Demo data loaded.

  Admin API token (full scope):   {token}
  Product:                        {product.code}
  Customer:                       {cust.name}, number {cust.number}
  Company password:               {demo_service.COMPANY_PASSWORD}
""")
    for lic, s in demo.licenses:
        exp = lic.expires_at.strftime("%Y-%m-%d") if lic.expires_at else "never"
        model = f", policy {lic.policy.name}" if lic.policy else ""
        click.echo(
            f"  Licence {lic.public_id}: {lic.seats} seats, expires {exp}{model}, "
            f"activation password {s.activation_password}"
        )
    users = [("owner", demo_service.OWNER, demo_service.OWNER_PASSWORD)] + [
        (r, e, p) for r, e, _, p in demo_service.USERS
    ]
    click.echo(f"\nCustomer portal: {base}/portal/login  (log in as any of these)")
    for role, email, password in users:
        click.echo(f"  {role:<10} {email:<22} password {password}")
    click.echo(
        f"  {'company':<10} {cust.number:<22} password {demo_service.COMPANY_PASSWORD}"
        f"  (company login, role {cust.company_login_role})"
    )
    click.echo(demo_staff_admin(base))
    mail = d.settings.mail
    if mail.host:
        click.echo(f"Email: sent through {mail.host}.")
    else:
        outbox = mail.outbox
        click.echo(f"Email: no SMTP_HOST set, so messages are written as .eml files to {outbox}/")
    body = json.dumps(
        {
            "license_id": first_lic.public_id,
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
