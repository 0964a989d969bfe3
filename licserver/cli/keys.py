"""`licserver keys list|feeds|rotate`: the Ed25519 signing keys."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app

from licserver.cli.common import fail
from licserver.runtime import context
from licserver.services import feeds as feed_service
from licserver.services import keys as key_service


@click.group("keys")
def keys_group() -> None:
    """Signing keys: list them, rotate to a new one."""


@keys_group.command("list")
def keys_list() -> None:
    """Print every signing key: kid, status (active|retired), created (UTC)."""
    keys_dir = Path(current_app.config["KEYS_DIR"])
    click.echo("kid\tstatus\tcreated\tprivate key file")
    for info in key_service.list_keys(context()):
        created = f"{info.created_at:%Y-%m-%dT%H:%M:%SZ}" if info.created_at else "-"
        present = "present" if (keys_dir / f"{info.kid}.pem").is_file() else "absent"
        click.echo(f"{info.kid}\t{info.status}\t{created}\t{present}")


@keys_group.command("feeds")
def keys_feeds() -> None:
    """Print the public key updater frameworks pin: Sparkle's SUPublicEDKey and
    Tauri's updater pubkey (files uploaded from now on are signed with it)."""
    got = feed_service.feed_keys(context())
    click.echo(f"kid\t{got.kid}")
    click.echo(f"SUPublicEDKey\t{got.sparkle}")
    click.echo(f"tauri pubkey\t{got.tauri}")


@keys_group.command("rotate")
def keys_rotate() -> None:
    """Make a new active signing key; the active one becomes retired.

    Retired keys stay listed by GET /api/v1/keys and keep verifying the licence
    keys and certificates they signed; new ones are signed with the new key,
    by every server process within KEY_REFRESH_SECONDS."""
    cfg = current_app.config
    keys_dir = Path(cfg["KEYS_DIR"])
    try:
        info, retired = key_service.rotate(context(), keys_dir, cfg["KEY_PASSPHRASE"])
    except (OSError, ValueError) as exc:
        fail(f"cannot rotate: {exc}")
        return
    for kid in retired:
        click.echo(f"retired {kid}")
    click.echo(f"active  {info.kid} (private key {keys_dir / (info.kid + '.pem')})")
    click.echo(
        "Servers that do not share this keys folder keep signing with the previous key "
        f"until {info.kid}.pem is copied to theirs (see keys/README.md)."
    )


COMMANDS: list[click.Command] = [keys_group]
