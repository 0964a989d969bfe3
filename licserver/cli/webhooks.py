"""`licserver webhooks deliver|list|add|enable|disable`."""

from __future__ import annotations

from collections.abc import Callable

import click

from licserver.cli.common import error_message, fail, run_passes, worker_options
from licserver.domain.errors import LicenseServerError


@click.group("webhooks")
def webhooks_group() -> None:
    """Webhook endpoints, and the worker that sends them events."""


@webhooks_group.command("deliver")
@worker_options(interval=5.0, shortest=0.1)
@click.option(
    "--limit",
    type=click.IntRange(1, 100_000),
    default=1000,
    show_default=True,
    help="Most deliveries attempted in one pass.",
)
def webhooks_deliver(loop: bool, interval: float, limit: int) -> None:
    """Queue new events for the endpoints that want them and send what is due.

    One pass by default (for cron or a systemd timer); --loop runs as a worker
    until SIGTERM or Ctrl-C, finishing the delivery in hand first. Several
    workers may run at once: none sends an event twice to an endpoint."""
    from licserver.runtime import context
    from licserver.services import webhooks as svc

    def one_pass(stop: Callable[[], bool]) -> str | None:
        result = svc.deliver(context(), limit=limit, stop=stop)
        if not (result.queued or result.attempted or not loop):
            return None
        return (
            f"queued {result.queued}, delivered {result.delivered}, "
            f"retrying {result.retrying}, failed {result.failed}"
        )

    run_passes(one_pass, loop=loop, interval=interval)


@webhooks_group.command("list")
def webhooks_list() -> None:
    """Print every endpoint: id, enabled|disabled, url, subscriptions."""
    from licserver.runtime import context
    from licserver.services import webhooks as svc

    cursor: str | None = None
    while True:
        rows, cursor = svc.page(context(), 200, cursor)
        for e in rows:
            state = "enabled" if e.enabled else "disabled"
            click.echo(f"{e.public_id}\t{state}\t{e.url}\t{','.join(e.events)}")
        if cursor is None:
            break


@webhooks_group.command("add")
@click.option("--url", required=True, help="http:// or https:// URL of the receiver.")
@click.option(
    "--event",
    "events",
    multiple=True,
    required=True,
    help="A kind (activation.created), a prefix (activation.*) or '*'. Repeat for more.",
)
@click.option("--description", default=None)
@click.option("--include-ip", is_flag=True, help="Put client IP addresses in event data.")
def webhooks_add(
    url: str, events: tuple[str, ...], description: str | None, include_ip: bool
) -> None:
    """Register an endpoint; prints its id, then its signing secret (shown only once)."""
    from licserver.runtime import context
    from licserver.services import webhooks as svc

    try:
        endpoint, secret = svc.create(
            context(),
            url=url,
            events=list(events),
            description=description,
            include_ip=include_ip,
        )
    except LicenseServerError as exc:
        fail(error_message(exc))
        return
    click.echo(endpoint.public_id)
    click.echo(secret)


def _set_enabled(webhook_id: str, enabled: bool) -> None:
    from licserver.runtime import context
    from licserver.services import webhooks as svc

    try:
        svc.update_endpoint(context(), webhook_id, {"enabled": enabled})
    except LicenseServerError as exc:
        fail(error_message(exc))
        return
    click.echo(f"{webhook_id} {'enabled' if enabled else 'disabled'}")


@webhooks_group.command("enable")
@click.argument("webhook_id")
def webhooks_enable(webhook_id: str) -> None:
    """Send to this endpoint again (the events from now on)."""
    _set_enabled(webhook_id, True)


@webhooks_group.command("disable")
@click.argument("webhook_id")
def webhooks_disable(webhook_id: str) -> None:
    """Stop sending to this endpoint."""
    _set_enabled(webhook_id, False)


COMMANDS: list[click.Command] = [webhooks_group]
