"""`licserver backup PATH`, `licserver check`."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app

from licserver.extensions import db
from licserver.runtime import context, runtime
from licserver.services import backup as backup_service


def _exit(code: int) -> None:
    db.session.remove()
    db.engine.dispose()
    sys.exit(code)


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(path: Path) -> None:
    """Copy the SQLite database to PATH while the server runs (a consistent
    snapshot; PATH must not exist). PostgreSQL: prints the pg_dump command."""
    engine = db.engine
    if engine.dialect.name != "sqlite":
        url = current_app.config["DATABASE_URL"]
        click.echo(
            "licserver backup copies SQLite databases only; this one is PostgreSQL.\n"
            "Back it up with pg_dump (it is consistent while the server runs):\n\n"
            f"  {backup_service.pg_dump_command(url, str(path))}\n\n"
            "Restore with pg_restore --dbname=... PATH, then run 'licserver check'.",
            err=True,
        )
        _exit(2)
        return
    try:
        source = backup_service.sqlite_path(engine)
        size = backup_service.backup_sqlite(
            source, path, current_app.config["SQLITE_BUSY_TIMEOUT_MS"] / 1000
        )
    except backup_service.BackupError as exc:
        click.echo(f"Error: {exc}", err=True)
        _exit(1)
        return
    click.echo(f"backed up {source} to {path} ({size} bytes)")
    click.echo("Keep the keys folder (signing keys, data.key) backed up too, apart from it.")


@click.command("check")
def check_command() -> None:
    """Check that this database (a restored one, say) is complete and usable with
    this keys folder: schema at head, table counts, every signing key in place.
    Exits 1 and says what is wrong when it is not."""
    cfg = current_app.config
    report = backup_service.check(
        context(),
        Path(cfg["KEYS_DIR"]),
        cfg["KEY_PASSPHRASE"],
        lambda: runtime().box(),
    )
    click.echo(f"database: {db.engine.url.render_as_string(hide_password=True)}")
    for line in report.lines:
        click.echo(f"  {line}")
    if not report.ok:
        for problem in report.problems:
            click.echo(f"PROBLEM: {problem}", err=True)
        click.echo(f"check failed: {len(report.problems)} problem(s)", err=True)
        _exit(1)
        return
    click.echo("check passed")


COMMANDS: list[click.Command] = [backup_command, check_command]
