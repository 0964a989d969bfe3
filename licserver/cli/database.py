"""`licserver init` and `licserver db upgrade|revision`: the schema and the keys
(licserver.services.schema)."""

from __future__ import annotations

import click

from licserver.cli.common import fail


@click.command("init")
def init_command() -> None:
    """Create or upgrade the schema; create the signing and data keys if missing."""
    from licserver.runtime import context
    from licserver.services import schema

    try:
        report = schema.init(context(create_data_key=True))
    except (OSError, ValueError, RuntimeError) as exc:
        fail(str(exc))
    click.echo(f"Database: {report.database} (schema {report.revision})")
    state = "created" if report.key_created else "present"
    click.echo(f"Signing key: {report.kid} ({state}) in {report.keys_dir}")


@click.group("db")
def db_group() -> None:
    """Schema migrations."""


@db_group.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    from licserver.runtime import context
    from licserver.services import schema

    click.echo(f"schema at {schema.upgrade(context())}")


@db_group.command("revision")
@click.option("-m", "--message", required=True)
def db_revision(message: str) -> None:
    """Write a new migration from the difference between the models and the database."""
    from licserver.runtime import context
    from licserver.services import schema

    schema.revision(context(), message)


COMMANDS: list[click.Command] = [init_command, db_group]
