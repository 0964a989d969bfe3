"""`licserver backup PATH`, `licserver check` (licserver.services.backup)."""

from __future__ import annotations

from pathlib import Path

import click

from licserver.cli.common import exit_with


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(path: Path) -> None:
    """Copy the SQLite database to PATH while the server runs (a consistent
    snapshot; PATH must not exist). PostgreSQL: prints the pg_dump command."""
    from licserver.runtime import context
    from licserver.services import backup as backup_service

    try:
        done = backup_service.backup(context(), path)
    except backup_service.NotSQLite as exc:
        click.echo(
            "licserver backup copies SQLite databases only; this one is PostgreSQL.\n"
            "Back it up with pg_dump (it is consistent while the server runs):\n\n"
            f"  {exc.pg_dump}\n\n"
            "Restore with pg_restore --dbname=... PATH, then run 'licserver check'.",
            err=True,
        )
        exit_with(2)
    except backup_service.BackupError as exc:
        click.echo(f"Error: {exc}", err=True)
        exit_with(1)
    click.echo(f"backed up {done.source} to {done.dest} ({done.size} bytes)")
    click.echo("Keep the keys folder (signing keys, data.key) backed up too, apart from it.")


@click.command("check")
def check_command() -> None:
    """Check that this database (a restored one, say) is complete and usable with
    this keys folder: schema at head, table counts, every signing key in place.
    Exits 1 and says what is wrong when it is not."""
    from licserver.runtime import context
    from licserver.services import backup as backup_service

    report = backup_service.check(context())
    click.echo(f"database: {report.database}")
    for line in report.lines:
        click.echo(f"  {line}")
    if not report.ok:
        for problem in report.problems:
            click.echo(f"PROBLEM: {problem}", err=True)
        click.echo(f"check failed: {len(report.problems)} problem(s)", err=True)
        exit_with(1)
    click.echo("check passed")


COMMANDS: list[click.Command] = [backup_command, check_command]
