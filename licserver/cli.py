"""The ``licserver`` command (also ``flask --app licserver``): init, tokens, demo, db.
Commands call the same services as the HTTP API."""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup
from sqlalchemy import select

from licserver import migrate
from licserver.crypto import hash_password
from licserver.domain.errors import LicenseServerError
from licserver.domain.permissions import SCOPES
from licserver.extensions import db
from licserver.runtime import deps, runtime
from licserver.services import Actor, Origin
from licserver.services import customers as customer_service
from licserver.services import licenses as license_service
from licserver.services import products as product_service
from licserver.services import tokens as token_service
from licserver.services.keys import ensure_signing_key

CLI = Origin(Actor("admin", "cli"))


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    # Close the database connections before leaving: an exit in mid-command
    # would otherwise drop them unclosed (PostgreSQL logs it, Python warns).
    db.session.remove()
    db.engine.dispose()
    sys.exit(1)


@click.command("init")
def init_command() -> None:
    """Create or upgrade the schema; create the signing and data keys if missing."""
    app = current_app
    try:
        migrate.upgrade(db.engine)
        rt = runtime()
        rt.box(create=True)
        kid, created = ensure_signing_key(
            db.session(), Path(app.config["KEYS_DIR"]), app.config["KEY_PASSPHRASE"]
        )
    except (OSError, ValueError, RuntimeError) as exc:
        _fail(str(exc))
        return
    click.echo(
        f"Database: {db.engine.url.render_as_string(hide_password=True)} "
        f"(schema {migrate.current(db.engine)})"
    )
    click.echo(
        f"Signing key: {kid} ({'created' if created else 'present'}) in {app.config['KEYS_DIR']}"
    )


@click.group("tokens")
def tokens_group() -> None:
    """Admin API tokens."""


@tokens_group.command("create")
@click.option("--name", required=True, help="Who or what the token is for.")
@click.option("--scope", type=click.Choice(list(SCOPES)), default="full", show_default=True)
def tokens_create(name: str, scope: str) -> None:
    """Print a new admin token alone on stdout (it is shown only this once)."""
    try:
        _, text = token_service.create(db.session(), name, scope)
    except LicenseServerError as exc:
        _fail(exc.detail)
        return
    click.echo(text)


@tokens_group.command("list")
def tokens_list() -> None:
    """List tokens (never their secrets)."""
    for row in token_service.list_tokens(db.session()):
        state = "revoked" if row.revoked_at else "active"
        click.echo(f"{row.public_id}\t{row.scope}\t{state}\t{row.name}")


@tokens_group.command("revoke")
@click.argument("token_id")
def tokens_revoke(token_id: str) -> None:
    """Revoke a token by its id (the part after 'lsa_')."""
    try:
        token_service.revoke(db.session(), token_id)
    except LicenseServerError as exc:
        _fail(exc.detail)
    click.echo(f"revoked {token_id}")


DEMO_PRODUCT = "demo-app"
DEMO_OWNER = "owner@demo.example"
DEMO_USER_PASSWORD = "demo-owner-password"
DEMO_COMPANY_PASSWORD = "demo-company-password"


@click.command("demo")
def demo_command() -> None:
    """Load a demo product, customer, licences and users; print how to use them.
    Safe to run again: it reuses what exists and issues a fresh demo admin token."""
    session = db.session()
    d = deps()
    try:
        product = product_service.get(session, DEMO_PRODUCT)
    except LicenseServerError:
        product = product_service.create(
            session, code=DEMO_PRODUCT, name="Demo App", default_seats=3, offline_grace_days=14
        )
    from licserver.models import Customer, License, User, utcnow

    cust = session.scalars(select(Customer).where(Customer.email == DEMO_OWNER)).first()
    if cust is None:
        cust, _ = customer_service.create(
            session,
            name="Demo Ltd",
            email=DEMO_OWNER,
            company_password=DEMO_COMPANY_PASSWORD,
            invitation_ttl_hours=current_app.config["INVITATION_TTL_HOURS"],
        )
        owner = session.scalars(select(User).where(User.email == DEMO_OWNER)).one()
        owner.password_hash = hash_password(DEMO_USER_PASSWORD)
        owner.invite_token_hash = None
        session.commit()
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
    licenses = session.scalars(
        select(License).where(License.customer_id == cust.id).order_by(License.id)
    ).all()
    for row in token_service.list_tokens(session):
        if row.name == "demo" and row.revoked_at is None:
            token_service.revoke(session, row.public_id)
    _, token = token_service.create(session, "demo", "full")

    base = current_app.config["PUBLIC_URL"].rstrip("/")
    first = license_service.reveal(d, licenses[0])
    click.echo(f"""
Demo data loaded.

  Admin API token (full scope):   {token}
  Product:                        {product.code}
  Customer:                       {cust.name}, number {cust.number}
  Company password:               {DEMO_COMPANY_PASSWORD}
  Portal owner (when the portal lands): {DEMO_OWNER} / {DEMO_USER_PASSWORD}
""")
    for lic in licenses:
        s = license_service.reveal(d, lic)
        exp = lic.expires_at.strftime("%Y-%m-%d") if lic.expires_at else "never"
        click.echo(
            f"  Licence {lic.public_id}: {lic.seats} seats, expires {exp}, "
            f"activation password {s.activation_password}"
        )
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


@click.group("db")
def db_group() -> None:
    """Schema migrations."""


@db_group.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    migrate.upgrade(db.engine)
    click.echo(f"schema at {migrate.current(db.engine)}")


@db_group.command("revision")
@click.option("-m", "--message", required=True)
def db_revision(message: str) -> None:
    """Write a new migration from the difference between the models and the database."""
    migrate.revision(db.engine, message)


def register(app: Flask) -> None:
    for cmd in (init_command, tokens_group, demo_command, db_group):
        app.cli.add_command(cmd)


def _create_app() -> Flask:
    from licserver import create_app

    return create_app()


def main() -> None:
    group = FlaskGroup(
        create_app=_create_app,
        add_default_commands=True,
        help="licserver: licence activation server administration.",
    )
    group.main(prog_name="licserver")
