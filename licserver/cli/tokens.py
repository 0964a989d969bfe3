"""`licserver tokens create|list|revoke`: admin API tokens."""

from __future__ import annotations

import click

from licserver.cli.common import CLI, fail
from licserver.domain.errors import LicenseServerError
from licserver.domain.permissions import SCOPES


@click.group("tokens")
def tokens_group() -> None:
    """Admin API tokens."""


@tokens_group.command("create")
@click.option("--name", required=True, help="Who or what the token is for.")
@click.option("--scope", type=click.Choice(list(SCOPES)), default="full", show_default=True)
def tokens_create(name: str, scope: str) -> None:
    """Print a new admin token alone on stdout (it is shown only this once)."""
    from licserver.runtime import context
    from licserver.services import tokens as token_service

    try:
        _, text = token_service.create(context(), name, scope, CLI)
    except LicenseServerError as exc:
        fail(exc.detail)
        return
    click.echo(text)


@tokens_group.command("list")
def tokens_list() -> None:
    """List tokens (never their secrets)."""
    from licserver.runtime import context
    from licserver.services import tokens as token_service

    for row in token_service.list_tokens(context()):
        state = "revoked" if row.revoked_at else "active"
        click.echo(f"{row.public_id}\t{row.scope}\t{state}\t{row.name}")


@tokens_group.command("revoke")
@click.argument("token_id")
def tokens_revoke(token_id: str) -> None:
    """Revoke a token by its id (the part after 'lsa_')."""
    from licserver.runtime import context
    from licserver.services import tokens as token_service

    try:
        token_service.revoke(context(), token_id, CLI)
    except LicenseServerError as exc:
        fail(exc.detail)
    click.echo(f"revoked {token_id}")


COMMANDS: list[click.Command] = [tokens_group]
