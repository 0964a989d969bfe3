"""`licserver keys list|feeds|rotate|activate`: the Ed25519 signing keys."""

from __future__ import annotations

import click

from licserver.cli.common import fail


@click.group("keys")
def keys_group() -> None:
    """Signing keys: list them, stage a new one (rotate), activate it."""


@keys_group.command("list")
def keys_list() -> None:
    """Print every signing key: kid, status (next|active|retired), created (UTC)."""
    from licserver.runtime import context
    from licserver.services import keys as key_service

    click.echo("kid\tstatus\tcreated\tprivate key file")
    for info, _, is_file in key_service.list_with_files(context()):
        created = f"{info.created_at:%Y-%m-%dT%H:%M:%SZ}" if info.created_at else "-"
        present = "present" if is_file else "absent"
        click.echo(f"{info.kid}\t{info.status}\t{created}\t{present}")


@keys_group.command("feeds")
def keys_feeds() -> None:
    """Print the public key updater frameworks pin: Sparkle's SUPublicEDKey and
    Tauri's updater pubkey (files uploaded from now on are signed with it)."""
    from licserver.runtime import context
    from licserver.services import feeds as feed_service

    got = feed_service.feed_keys(context())
    click.echo(f"kid\t{got.kid}")
    click.echo(f"SUPublicEDKey\t{got.sparkle}")
    click.echo(f"tauri pubkey\t{got.tauri}")


@keys_group.command("rotate")
def keys_rotate() -> None:
    """Stage a new signing key: status next, published by GET /api/v1/keys so
    products can pin it, signing nothing until `licserver keys activate KID`.

    Prints its kid and public key in full (what an SDK pins)."""
    from licserver.runtime import context
    from licserver.services import keys as key_service

    try:
        info, key_file = key_service.stage_in_keyring(context())
    except (OSError, ValueError) as exc:
        fail(f"cannot rotate: {exc}")
    click.echo(f"next    {info.kid} (private key {key_file})")
    click.echo(f"kid         {info.kid}")
    click.echo(f"public key  {info.public_key}")
    click.echo(
        "1. Ship product versions that pin this key beside the current one.\n"
        "2. Copy the private key file to every server that does not share this keys folder.\n"
        f"3. licserver keys activate {info.kid}   (it signs from then on; the active key "
        "is retired)"
    )


@keys_group.command("activate")
@click.argument("kid")
def keys_activate(kid: str) -> None:
    """Make the staged (next) key KID the signer; the active key becomes retired.

    Retired keys stay listed by GET /api/v1/keys and keep verifying the licence
    keys and certificates they signed; new ones are signed with KID, by every
    server process within KEY_REFRESH_SECONDS."""
    from licserver.runtime import context
    from licserver.services import keys as key_service

    try:
        info, retired = key_service.activate(context(), kid)
    except ValueError as exc:
        fail(f"cannot activate: {exc}")
    for old in retired:
        click.echo(f"retired {old}")
    click.echo(f"active  {info.kid}")
    click.echo(
        "Servers that do not share this keys folder keep signing with the previous key "
        f"until {info.kid}.pem is copied to theirs (see keys/README.md)."
    )


COMMANDS: list[click.Command] = [keys_group]
