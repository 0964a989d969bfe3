"""`licserver staff ...`: vendor staff accounts for the console (/admin)."""

from __future__ import annotations

import sys

import click
from flask import current_app

from licserver.domain import staff as rules
from licserver.domain.errors import Conflict, NotFound, ValidationFailed
from licserver.extensions import db
from licserver.services import Actor, Origin, staff_audit
from licserver.services import staff as staff_service

CLI = Origin(Actor("admin", "cli"))


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    db.session.remove()
    sys.exit(1)


@click.group("staff")
def staff_group() -> None:
    """Staff accounts of the console at /admin: create, list, disable."""


@staff_group.command("create")
@click.option("--email", required=True, help="The log-in email.")
@click.option("--name", required=True, help="The person's name, as the console shows it.")
@click.option("--role", required=True, type=click.Choice(rules.ROLES), help="support or admin.")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help=f"At least {staff_service.PASSWORD_MIN} characters; asked for (twice) when not given.",
)
def staff_create(email: str, name: str, role: str, password: str) -> None:
    """Create a staff account that logs in at /admin with email and password."""
    try:
        row = staff_service.create(
            db.session(), email=email, name=name, role=role, password=password
        )
    except ValidationFailed as exc:
        _fail("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.errors.items()))
        return
    except Conflict as exc:
        _fail(exc.detail)
        return
    staff_audit.record(
        db.session(),
        "staff.created",
        CLI,
        {"staff": row.public_id, "email": row.email, "role": row.role},
    )
    base = current_app.config["PUBLIC_URL"].rstrip("/")
    click.echo(f"Staff account {row.email} ({row.role}) created. Log in at {base}/admin/login")


@staff_group.command("list")
def staff_list() -> None:
    """Print every staff account: email, name, role, second factor, state."""
    click.echo("email\tname\trole\ttotp\tstate\tlast login")
    for row in staff_service.list_staff(db.session()):
        state = "disabled" if row.disabled_at else "active"
        last = f"{row.last_login_at:%Y-%m-%dT%H:%M:%SZ}" if row.last_login_at else "-"
        totp = "on" if row.totp_secret_enc else "off"
        click.echo(f"{row.email}\t{row.name}\t{row.role}\t{totp}\t{state}\t{last}")


@staff_group.command("disable")
@click.argument("email")
def staff_disable(email: str) -> None:
    """Disable a staff account (by email): no more log-ins, open sessions end."""
    try:
        row = staff_service.disable(db.session(), email)
    except NotFound as exc:
        _fail(exc.detail)
        return
    staff_audit.record(
        db.session(), "staff.disabled", CLI, {"staff": row.public_id, "email": row.email}
    )
    click.echo(f"Staff account {row.email} is disabled.")


COMMANDS: list[click.Command] = [staff_group]


DEMO_STAFF_EMAIL = "admin@demo.example"
DEMO_STAFF_PASSWORD = "demo-staff-password"


def demo_staff_admin(base_url: str) -> str:
    """For ``licserver demo``: make sure a demo staff admin exists; the lines
    that tell how to log in to the console."""
    try:
        staff_service.create(
            db.session(),
            email=DEMO_STAFF_EMAIL,
            name="Demo Admin",
            role=rules.ADMIN,
            password=DEMO_STAFF_PASSWORD,
        )
        note = ""
    except Conflict:
        note = "  (exists already: the password is the one it was created with)"
    return (
        f"\nStaff console: {base_url}/admin/login\n"
        f"  {'admin':<10} {DEMO_STAFF_EMAIL:<22} password {DEMO_STAFF_PASSWORD}{note}"
    )
