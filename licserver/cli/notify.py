"""`licserver notify`: the scheduled emails, in one command for cron."""

from __future__ import annotations

from datetime import datetime

import click
from flask.cli import with_appcontext

from licserver.cli.releases import releases_group
from licserver.models import utcnow
from licserver.runtime import context
from licserver.services import notices
from licserver.services import releases as release_service


def parse_now(value: str | None) -> datetime:
    """``--now``: an RFC 3339 time with a timezone, or the real time."""
    if value is None:
        return utcnow()
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter("an RFC 3339 time, e.g. 2026-11-22T06:00:00Z") from None
    if at.tzinfo is None:
        raise click.BadParameter("give a timezone: Z or an offset such as +02:00")
    return at


@click.command("notify")
@click.option(
    "--now",
    "now_text",
    metavar="TIME",
    help="Act as if it were this time (RFC 3339; for tests and catching up).",
)
@with_appcontext
def notify_command(now_text: str | None) -> None:
    """Send the emails that are due: expiry reminders (30, 7 and 1 days before a
    licence expires, each once, to the users who want them: by default owners
    and billing users) and the update email of every published release not
    yet announced. Safe to run as often as you like, even twice at once:
    nothing is ever sent twice. Run it from cron, e.g. hourly."""
    now = parse_now(now_text)
    reminded = notices.send_expiry_reminders(context(), now)
    announced = release_service.send_release_notices(context(), now)
    click.echo(f"expiry reminders: {reminded} licence(s)")
    click.echo(f"release emails: {announced} message(s)")


COMMANDS: list[click.Command] = [notify_command, releases_group]
