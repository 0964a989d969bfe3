"""`licserver sweep`: leases and heartbeats over time (docs/licence-models.md)."""

from __future__ import annotations

from collections.abc import Callable

import click

from licserver.cli.common import run_passes, worker_options


@click.command("sweep")
@worker_options(interval=30.0, shortest=1)
@click.option("--dry-run", is_flag=True, help="List what one pass would do now; change nothing.")
def sweep(loop: bool, interval: float, dry_run: bool) -> None:
    """Release floating leases that ran out, and mark (or free the seats of)
    machines that missed their heartbeat, each with its event.

    One pass by default (cron); --loop runs until SIGTERM or Ctrl-C. Several
    sweepers may run at once: a licence is settled by one of them.
    --dry-run lists the machines one pass would act on, and changes nothing."""

    from licserver.runtime import context
    from licserver.services import leases as lease_service

    if dry_run:
        due = lease_service.preview(context())
        click.echo(f"Dry run: nothing changed. Machines a sweep would act on now: {len(due)}")
        for d in due:
            seen = d.last_seen_at.strftime("%Y-%m-%dT%H:%M:%SZ")
            click.echo(
                f"  {d.effect}\t{d.license_id}\t{d.activation_id}\t{d.machine_name}"
                f"\tlast seen {seen}"
            )
        return

    def one_pass(_stop: Callable[[], bool]) -> str | None:
        result = lease_service.sweep(context())
        if loop and not (result.seats_freed or result.marked_inactive):
            return None
        return (
            f"leases released {result.released}, marked inactive "
            f"{result.marked_inactive}, seats freed {result.freed}"
            + (f", busy licences skipped {result.skipped}" if result.skipped else "")
        )

    run_passes(one_pass, loop=loop, interval=interval)


COMMANDS: list[click.Command] = [sweep]
