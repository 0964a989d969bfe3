"""`licserver demo`: a demo product, customer, licences and users to try the
server with. It calls the same services as the HTTP API."""

from __future__ import annotations

import json

import click

from licserver.cli.common import CLI


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
        demo_service.add_installations(d, first_lic.public_id, first.activation_password)
        demo_service.add_orders(d, cust.number, first_lic.public_id)

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
