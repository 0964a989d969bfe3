"""`licserver import` (from another licensing system) and `licserver jobs run`
(the worker of the console's import jobs). README "Importing from another system"."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import click

from licserver.cli.common import CLI, error_message, fail, run_passes, worker_options
from licserver.domain.errors import LicenseServerError

KINDS = ("customers", "users", "licences", "licenses", "activations")
SHOWN = 50  # problems printed; the count has them all


def _guess_kind(path: Path) -> str | None:
    stem = path.name.lower()
    for kind in ("customers", "users", "licences", "licenses", "activations"):
        if kind in stem:
            return kind
    return None


@click.command("import")
@click.argument(
    "file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--kind",
    type=click.Choice(KINDS),
    help="What the file holds (default: guessed from its name, e.g. licences.csv).",
)
@click.option("--dry-run", is_flag=True, help="Check every row and report; write nothing.")
@click.option("--resume", "resume", type=int, metavar="JOB", help="Go on with an import job.")
@click.option("--template", "template", is_flag=True, help="Print the CSV template of --kind.")
def import_command(
    file: Path | None, kind: str | None, dry_run: bool, resume: int | None, template: bool
) -> None:
    """Import customers, users, licences or activations from another licensing
    system (CSV or JSON lines), idempotent by the external_id column.

    --dry-run reports every bad row by line number and writes nothing; without
    it the file becomes an import job, checked and run here with a progress bar
    (stopped, it goes on with --resume JOB). Import customers first, then users
    and licences, then activations."""
    from licserver.domain import imports as rules

    if template:
        if kind is None:
            fail("--template needs --kind")
        click.echo(rules.template(rules.kind_of(kind)), nl=False)
        return
    try:
        if resume is not None:
            _run(resume)
            return
        if file is None:
            fail("give FILE (or --resume JOB, or --template --kind KIND)")
        kind = kind or _guess_kind(file)
        if kind is None:
            fail("say what the file holds: --kind customers|users|licences|activations")
        data = file.read_bytes()
        if dry_run:
            _dry_run(kind, file.name, data)
        else:
            _import(kind, file.name, data)
    except LicenseServerError as exc:
        fail(error_message(exc))


def _print_problems(bad_rows: int, problems: list[tuple[int, list[str]]]) -> None:
    for line, found in problems[:SHOWN]:
        click.echo(f"line {line}: {'; '.join(found)}")
    if len(problems) > SHOWN:
        click.echo(f"... and {len(problems) - SHOWN} more rows with problems")


def _dry_run(kind: str, filename: str, data: bytes) -> None:
    from licserver.domain import imports as rules
    from licserver.runtime import context
    from licserver.services.imports import jobs

    ctx = context()
    total = rules.count_rows(rules.kind_of(kind), filename, data)
    with click.progressbar(length=total, label="Checking", file=sys.stderr) as bar:
        report = jobs.dry_run(ctx, kind, filename, data, CLI, bar.update)
    _print_problems(report.bad_rows, report.problems)
    click.echo(
        f"Dry run: {report.total} rows, {report.total - report.bad_rows} fine, "
        f"{report.bad_rows} with problems. Nothing was written."
    )
    if report.bad_rows:
        raise SystemExit(1)


def _import(kind: str, filename: str, data: bytes) -> None:
    from licserver.runtime import context
    from licserver.services.imports import jobs

    ctx = context()
    job = jobs.create(ctx, kind, filename, data, "cli")
    job_id, total = job.id, job.total
    with click.progressbar(length=total, label="Checking", file=sys.stderr) as bar:
        job = jobs.check(ctx, job_id, CLI, bar.update)
    if job.bad_rows:
        _print_problems(job.bad_rows, [(p[0], p[1]) for p in job.problems])
        click.echo(f"{job.bad_rows} of {total} rows have problems; they will be skipped.")
    jobs.start(ctx, job_id)
    _run(job_id, resume=False)


def _run(job_id: int, *, resume: bool = True) -> None:
    from licserver.runtime import context
    from licserver.services.imports import jobs

    ctx = context()
    total = jobs.get(ctx, job_id).total
    click.echo(
        f"Import job {job_id} ({total} rows); if stopped, go on with: "
        f"licserver import --resume {job_id}"
    )
    with click.progressbar(length=total, label="Importing", file=sys.stderr) as bar:
        job = jobs.run(ctx, job_id, CLI, bar.update, resume=resume)
    if job.failed:
        _print_problems(job.failed, [(p[0], p[1]) for p in job.problems])
    click.echo(
        f"Import job {job_id} {job.state}: {job.created} created, {job.updated} updated, "
        f"{job.unchanged} unchanged, {job.failed} failed."
    )


@click.group("jobs")
def jobs_group() -> None:
    """Background jobs of the console (imports): run them."""


@jobs_group.command("run")
@worker_options(interval=5.0, shortest=1)
def jobs_run(loop: bool, interval: float) -> None:
    """Run the due jobs: the dry runs and imports started in the console (and an
    import whose worker stopped, from where it was). One pass by default (cron);
    --loop runs until SIGTERM or Ctrl-C."""
    from licserver.runtime import context
    from licserver.services.imports import jobs

    def one_pass(stop: Callable[[], bool]) -> str | None:
        done = jobs.run_due(context(), CLI, should_stop=stop)
        if not done:
            return None if loop else "no jobs due"
        return "; ".join(f"import job {j.id} {j.state}" for j in done)

    run_passes(one_pass, loop=loop, interval=interval)


COMMANDS: list[click.Command] = [import_command, jobs_group]
