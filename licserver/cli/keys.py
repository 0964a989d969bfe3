"""`licserver keys list|rotate`: the Ed25519 signing keys."""

from __future__ import annotations

import click

from licserver.cli.common import fail


@click.group("keys")
def keys_group() -> None:
    """Signing keys: list them, rotate to a new one."""


@keys_group.command("list")
def keys_list() -> None:
    """Print every signing key: kid, status (active|retired), created (UTC)."""
    from licserver.runtime import context
    from licserver.services import keys as key_service

    click.echo("kid\tstatus\tcreated\tprivate key file")
    for info, _, is_file in key_service.list_with_files(context()):
        created = f"{info.created_at:%Y-%m-%dT%H:%M:%SZ}" if info.created_at else "-"
        present = "present" if is_file else "absent"
        click.echo(f"{info.kid}\t{info.status}\t{created}\t{present}")


@keys_group.command("rotate")
def keys_rotate() -> None:
    """Make a new active signing key; the active one becomes retired.

    Retired keys stay listed by GET /api/v1/keys and keep verifying the licence
    keys and certificates they signed; new ones are signed with the new key,
    by every server process within KEY_REFRESH_SECONDS."""
    from licserver.runtime import context
    from licserver.services import keys as key_service

    try:
        info, retired, key_file = key_service.rotate_in_keyring(context())
    except (OSError, ValueError) as exc:
        fail(f"cannot rotate: {exc}")
    for kid in retired:
        click.echo(f"retired {kid}")
    click.echo(f"active  {info.kid} (private key {key_file})")
    click.echo(
        "Servers that do not share this keys folder keep signing with the previous key "
        f"until {info.kid}.pem is copied to theirs (see keys/README.md)."
    )


COMMANDS: list[click.Command] = [keys_group]
