"""`licserver init` and `licserver db upgrade|revision`: the schema and the keys."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app

from licserver import migrate
from licserver.cli.common import fail
from licserver.extensions import db
from licserver.runtime import context, runtime
from licserver.services.keys import ensure_signing_key


@click.command("init")
def init_command() -> None:
    """Create or upgrade the schema; create the signing and data keys if missing."""
    app = current_app
    try:
        migrate.upgrade(db.engine)
        rt = runtime()
        rt.box(create=True)
        kid, created = ensure_signing_key(
            context(), Path(app.config["KEYS_DIR"]), app.config["KEY_PASSPHRASE"]
        )
    except (OSError, ValueError, RuntimeError) as exc:
        fail(str(exc))
        return
    click.echo(
        f"Database: {db.engine.url.render_as_string(hide_password=True)} "
        f"(schema {migrate.current(db.engine)})"
    )
    click.echo(
        f"Signing key: {kid} ({'created' if created else 'present'}) in {app.config['KEYS_DIR']}"
    )


@click.group("db")
def db_group() -> None:
    """Schema migrations."""


@db_group.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    migrate.upgrade(db.engine)
    click.echo(f"schema at {migrate.current(db.engine)}")


@db_group.command("revision")
@click.option("-m", "--message", required=True)
def db_revision(message: str) -> None:
    """Write a new migration from the difference between the models and the database."""
    migrate.revision(db.engine, message)


COMMANDS: list[click.Command] = [init_command, db_group]
