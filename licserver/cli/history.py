"""`licserver verify-history` and `licserver history sign-heads`: the
tamper-evident history (licserver.services.history)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from licserver.cli.common import exit_with


def _verify(license_id: str | None, quiet: bool) -> int:
    """Print the check of every licence (or one); the number that failed."""
    from licserver.runtime import context
    from licserver.services import history

    checked = failed = 0
    for verdict in history.verify_all(context(), public_id=license_id):
        checked += 1
        if verdict.problem is not None:
            failed += 1
            click.echo(verdict.describe(), err=True)
        elif not quiet:
            click.echo(verdict.describe())
    if license_id is not None and checked == 0:
        click.echo(f"Error: no licence with id '{license_id}'.", err=True)
        return -1
    click.echo(f"{checked} licence(s) checked, {failed} with a history that does not verify")
    return failed


def _sign() -> int:
    from licserver.runtime import context
    from licserver.services import history

    report = history.sign_heads(context())
    for verdict in report.failed:
        click.echo(f"not signed: {verdict.describe()}", err=True)
    click.echo(
        f"signed heads: {report.signed} new, {report.unchanged} unchanged, "
        f"{len(report.failed)} not signed (history does not verify)"
    )
    return len(report.failed)


def _exit(code: int) -> None:
    if code:
        exit_with(1)
    from licserver.runtime import close_database

    close_database()


@click.command("verify-history")
@click.option("--license", "license_id", metavar="ID", help="Check this licence only (L-...).")
@click.option("--quiet", "-q", is_flag=True, help="Print only the licences that fail.")
@click.option(
    "--sign-heads",
    is_flag=True,
    help="Then sign the head of every history that verified (as `history sign-heads`).",
)
@with_appcontext
def verify_history_command(license_id: str | None, quiet: bool, sign_heads: bool) -> None:
    """Check every licence's history chain: each event's hash, its place in the
    chain, the licence's recorded head and the latest signed head. Names the
    first event of each licence that was edited, deleted or reordered, and
    exits 1 when any does not verify."""
    failed = _verify(license_id, quiet)
    if sign_heads and failed >= 0:
        failed += _sign()
    _exit(1 if failed else 0)


@click.group("history")
def history_group() -> None:
    """The tamper-evident history of licences."""


@history_group.command("verify")
@click.option("--license", "license_id", metavar="ID", help="Check this licence only (L-...).")
@click.option("--quiet", "-q", is_flag=True, help="Print only the licences that fail.")
@with_appcontext
def history_verify(license_id: str | None, quiet: bool) -> None:
    """The same as `licserver verify-history`."""
    _exit(1 if _verify(license_id, quiet) else 0)


@history_group.command("sign-heads")
@with_appcontext
def history_sign_heads() -> None:
    """Sign the current head of every licence's history that verifies, with the
    server's active signing key (run it from cron, e.g. hourly). A later history
    must pass through every signed head: rewriting the chain from an edited event
    on, hashes and all, then no longer goes unseen. A history that does not verify
    is not signed; the command then exits 1."""
    _exit(1 if _sign() else 0)


COMMANDS: list[click.Command] = [verify_history_command, history_group]
