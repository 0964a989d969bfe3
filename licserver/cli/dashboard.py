"""`licserver dashboard refresh`: the console dashboard's stored figures
(licserver.services.dashboard)."""

from __future__ import annotations

import time

import click


@click.group("dashboard")
def dashboard_group() -> None:
    """The console dashboard's stored figures."""


@dashboard_group.command("refresh")
def refresh() -> None:
    """Fold the new events into the daily counts and take the figures of the
    licences and machines as they stand now. Run it from cron every few minutes
    on a large server: the console page then never has to (it does when the
    figures are older than 15 minutes)."""
    from licserver.runtime import context
    from licserver.services import dashboard

    started = time.monotonic()
    at = dashboard.refresh(context())
    click.echo(
        f"dashboard figures as of {at:%Y-%m-%d %H:%M:%S} UTC "
        f"(took {time.monotonic() - started:.2f} s)"
    )


COMMANDS: list[click.Command] = [dashboard_group]
