"""`licserver notices expiry|product-update`: notices by email."""

from __future__ import annotations

from typing import Any

import click

from licserver.cli.common import fail
from licserver.domain.errors import LicenseServerError
from licserver.models import utcnow
from licserver.runtime import context
from licserver.services import notices


@click.group("notices")
def notices_group() -> None:
    """Notices by email that a scheduled job sends (each user chooses in the portal)."""


@notices_group.command("expiry")
def notices_expiry() -> None:
    """Remind users of licences expiring within 30, 7 and 1 days (run it daily)."""
    count = notices.send_expiry_reminders(context(), utcnow())
    click.echo(f"expiry reminders: {count} licence(s)")


@notices_group.command("product-update")
@click.option("--product", required=True, help="Product code.")
@click.option("--subject", required=True)
@click.option("--message-file", required=True, type=click.File("r", encoding="utf-8"))
def notices_product_update(product: str, subject: str, message_file: Any) -> None:
    """Email a product update to the users who want them and hold the product."""
    try:
        count = notices.send_product_update(context(), product, subject, message_file.read())
    except LicenseServerError as exc:
        fail(exc.detail)
        return
    click.echo(f"product update sent to {count} address(es)")


COMMANDS: list[click.Command] = [notices_group]
