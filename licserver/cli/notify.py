"""`licserver notify [expiry|product-update]`: the emails a scheduled job
sends. `licserver notices expiry|product-update` is the older name of the two
subcommands, kept for existing cron lines."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click
from flask.cli import with_appcontext

from licserver.cli.common import fail
from licserver.domain.errors import LicenseServerError


def parse_now(value: str | None) -> datetime:
    """``--now``: an RFC 3339 time with a timezone, or the real time."""
    if value is None:
        from licserver.models.base import utcnow

        return utcnow()
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter("an RFC 3339 time, e.g. 2026-11-22T06:00:00Z") from None
    if at.tzinfo is None:
        raise click.BadParameter("give a timezone: Z or an offset such as +02:00")
    return at


@with_appcontext
def _send_due(now: datetime) -> None:
    from licserver.runtime import context
    from licserver.services import notices
    from licserver.services import releases as release_service

    reminded = notices.send_expiry_reminders(context(), now)
    announced = release_service.send_release_notices(context(), now)
    click.echo(f"expiry reminders: {reminded} licence(s)")
    click.echo(f"release emails: {announced} message(s)")


@click.group("notify", invoke_without_command=True)
@click.option(
    "--now",
    "now_text",
    metavar="TIME",
    help="Act as if it were this time (RFC 3339; for tests and catching up).",
)
@click.pass_context
def notify_group(ctx: click.Context, now_text: str | None) -> None:
    """Send the emails that are due: expiry reminders (30, 7 and 1 days before a
    licence expires, each once, to the users who want them: by default owners
    and billing users) and the update email of every published release not
    yet announced. Safe to run as often as you like, even twice at once:
    nothing is ever sent twice. Run it from cron, e.g. hourly.

    The subcommands send one kind alone (expiry) or a one-off message
    (product-update)."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(_send_due, parse_now(now_text))
    elif now_text is not None:
        parse_now(now_text)  # a bad --now fails before the subcommand runs


@notify_group.command("expiry")
@with_appcontext
def notify_expiry() -> None:
    """Remind users of licences expiring within 30, 7 and 1 days (run it daily)."""
    from licserver.runtime import context
    from licserver.services import notices

    parent = click.get_current_context().parent  # notify's --now (notices has none)
    now = parse_now(parent.params.get("now_text") if parent else None)
    count = notices.send_expiry_reminders(context(), now)
    click.echo(f"expiry reminders: {count} licence(s)")


@notify_group.command("product-update")
@click.option("--product", required=True, help="Product code.")
@click.option("--subject", required=True)
@click.option("--message-file", required=True, type=click.File("r", encoding="utf-8"))
@with_appcontext
def notify_product_update(product: str, subject: str, message_file: Any) -> None:
    """Email a product update to the users who want them and hold the product."""
    from licserver.runtime import context
    from licserver.services import notices

    try:
        count = notices.send_product_update(context(), product, subject, message_file.read())
    except LicenseServerError as exc:
        fail(exc.detail)
        return
    click.echo(f"product update sent to {count} address(es)")


notices_group = click.Group(
    "notices",
    commands=[notify_expiry, notify_product_update],
    help="The older name of `licserver notify expiry|product-update` (kept for cron lines).",
)

COMMANDS: list[click.Command] = [notify_group, notices_group]
