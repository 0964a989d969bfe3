"""`licserver staff ...`: vendor staff accounts for the console (/admin)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

from licserver.cli.common import CLI, error_message, fail
from licserver.domain import staff as rules
from licserver.domain.errors import Conflict, NotFound, ValidationFailed

T = TypeVar("T")


def _change(func: Callable[[], T]) -> T:
    """Run a change; a readable error and exit status 1 when it is refused."""
    try:
        return func()
    except (ValidationFailed, NotFound, Conflict) as exc:
        fail(error_message(exc))


@click.group("staff")
def staff_group() -> None:
    """Staff accounts of the console at /admin: create, list, disable, enable,
    set-role, set-password."""


@staff_group.command("create")
@click.option("--email", required=True, help="The log-in email.")
@click.option("--name", required=True, help="The person's name, as the console shows it.")
@click.option("--role", required=True, type=click.Choice(rules.ROLES), help="support or admin.")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help=f"At least {rules.PASSWORD_MIN} characters; asked for (twice) when not given.",
)
def staff_create(email: str, name: str, role: str, password: str) -> None:
    """Create a staff account that logs in at /admin with email and password."""
    from licserver.runtime import context
    from licserver.services import staff as staff_service

    ctx = context()
    row = _change(
        lambda: staff_service.create(
            ctx, email=email, name=name, role=role, password=password, origin=CLI
        )
    )
    base = ctx.settings.public_url
    click.echo(f"Staff account {row.email} ({row.role}) created. Log in at {base}/admin/login")


@staff_group.command("list")
def staff_list() -> None:
    """Print every staff account: email, name, role, second factor, state."""
    from licserver.runtime import context
    from licserver.services import staff as staff_service

    click.echo("email\tname\trole\ttotp\tstate\tlast login")
    for row in staff_service.list_staff(context()):
        state = "disabled" if row.disabled_at else "active"
        last = f"{row.last_login_at:%Y-%m-%dT%H:%M:%SZ}" if row.last_login_at else "-"
        totp = "on" if row.totp_secret_enc else "off"
        click.echo(f"{row.email}\t{row.name}\t{row.role}\t{totp}\t{state}\t{last}")


@staff_group.command("disable")
@click.argument("email")
def staff_disable(email: str) -> None:
    """Disable a staff account (by email): no more log-ins, open sessions end.
    The last enabled admin cannot be disabled."""
    from licserver.runtime import context
    from licserver.services import staff as staff_service

    row = _change(lambda: staff_service.disable(context(), email, CLI))
    click.echo(f"Staff account {row.email} is disabled.")


@staff_group.command("enable")
@click.argument("email")
def staff_enable(email: str) -> None:
    """Let a disabled staff account (by email) log in again."""
    from licserver.runtime import context
    from licserver.services import staff as staff_service

    row = _change(lambda: staff_service.enable(context(), email, CLI))
    click.echo(f"Staff account {row.email} ({row.role}) is enabled and can log in again.")


@staff_group.command("set-role")
@click.argument("email")
@click.argument("role", type=click.Choice(rules.ROLES))
def staff_set_role(email: str, role: str) -> None:
    """Give a staff account (by email) the role support or admin. The last
    enabled admin keeps the admin role."""
    from licserver.runtime import context
    from licserver.services import staff as staff_service

    row, before = _change(lambda: staff_service.set_role(context(), email, role, CLI))
    if before == row.role:
        click.echo(f"Staff account {row.email} is {row.role} already.")
    else:
        click.echo(f"Staff account {row.email}: role {before} -> {row.role}.")


@staff_group.command("set-password")
@click.argument("email")
@click.option(
    "--password",
    prompt="New password",
    hide_input=True,
    confirmation_prompt=True,
    help=f"At least {rules.PASSWORD_MIN} characters; asked for (twice) when not given.",
)
@click.option(
    "--temporary",
    is_flag=True,
    help="The console makes them choose a new password at their next log-in "
    "(a password you give someone else).",
)
def staff_set_password(email: str, password: str, temporary: bool) -> None:
    """Set a staff account's password (by email), e.g. when it was forgotten;
    every open session of that account ends."""
    from licserver.runtime import context
    from licserver.services import staff as staff_service

    row = _change(
        lambda: staff_service.set_password(context(), email, password, CLI, temporary=temporary)
    )
    click.echo(f"New password set for {row.email}; their open sessions have ended.")
    if temporary:
        click.echo("They choose a new one at their next log-in to the console.")


COMMANDS: list[click.Command] = [staff_group]


DEMO_STAFF_EMAIL = "admin@demo.example"
DEMO_STAFF_PASSWORD = "demo-staff-password"


def demo_staff_admin(base_url: str) -> str:
    """For ``licserver demo``: make sure a demo staff admin exists; the lines
    that tell how to log in to the console."""
    from licserver.runtime import context
    from licserver.services import staff as staff_service

    try:
        staff_service.create(
            context(),
            email=DEMO_STAFF_EMAIL,
            name="Demo Admin",
            role=rules.ADMIN,
            password=DEMO_STAFF_PASSWORD,
            origin=CLI,
        )
        note = ""
    except Conflict:
        note = "  (exists already: the password is the one it was created with)"
    return (
        f"\nStaff console: {base_url}/admin/login\n"
        f"  {'admin':<10} {DEMO_STAFF_EMAIL:<22} password {DEMO_STAFF_PASSWORD}{note}\n"
    )
