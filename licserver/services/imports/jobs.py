"""Import jobs: a file uploaded (console) or named (CLI), its dry run, then its
import in batches, resumable, with progress.

A job moves ``checking`` (its dry run is due) → ``checked`` (the report is
there) → ``queued`` (staff started it) → ``running`` → ``done`` (or
``failed``: an error stopped it; run it again to go on). Rows are written in
batches of ``BATCH``, each batch in one transaction together with the job's
counts and ``position`` (the rows before it are done): after a crash or a
stop the import goes on from there. Should a batch fail as a whole (another
writer took an email meanwhile, say), its rows are written again one
transaction each, so only the bad row is reported. The console's jobs are run
by a worker: ``licserver jobs run`` (cron, or ``--loop`` under systemd); the
CLI's ``licserver import`` runs its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import islice

from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from licserver.database import begin_write
from licserver.domain import imports as rules
from licserver.domain.errors import Conflict, NotFound, ValidationFailed
from licserver.models import utcnow
from licserver.models.imports import ImportJob
from licserver.services import Origin
from licserver.services.context import Context
from licserver.services.imports.checks import Checked
from licserver.services.imports.rows import Rows

BATCH = 500
MAX_PROBLEMS = 1000  # rows' problems kept on a job (the count has them all)
STALE = timedelta(minutes=5)  # a running job's heartbeat older than this: taken over
Progress = Callable[[int], None]
Stop = Callable[[], bool]


def _no_progress(_n: int) -> None:
    pass


def _never() -> bool:
    return False


@dataclass
class Report:
    """A dry run's findings: every bad row's line and problems."""

    total: int = 0
    bad_rows: int = 0
    problems: list[tuple[int, list[str]]] = field(default_factory=list)


def _rows(kind: str, filename: str, data: bytes) -> Iterator[rules.RawRow]:
    try:
        return rules.read_rows(kind, filename, data)
    except rules.FileError as exc:
        raise ValidationFailed({"file": [str(exc)]}) from None


def _kind(kind: str) -> str:
    try:
        return rules.kind_of(kind)
    except ValueError as exc:
        raise ValidationFailed({"kind": [str(exc)]}) from None


def dry_run(
    ctx: Context,
    kind: str,
    filename: str,
    data: bytes,
    origin: Origin,
    progress: Progress = _no_progress,
) -> Report:
    """Check every row of the file, as the import would, and write nothing."""
    kind = _kind(kind)
    session, report = ctx.session, Report()
    rows = Rows(ctx, kind, origin, None, dry_run=True)
    source = _rows(kind, filename, data)
    try:
        while batch := list(islice(source, BATCH)):
            rows.prefetch(batch)
            for raw in batch:
                result = rows.check(raw)
                report.total += 1
                if not isinstance(result, Checked):
                    report.bad_rows += 1
                    report.problems.append((raw.line, result))
            progress(len(batch))
    finally:
        session.rollback()
    return report


def create(
    ctx: Context, kind: str, filename: str, data: bytes, created_by: str | None
) -> ImportJob:
    """A job for the file, its dry run due (``check``); ValidationFailed for a
    file that cannot be read at all."""
    kind = _kind(kind)
    try:
        total = rules.count_rows(kind, filename, data)
    except rules.FileError as exc:
        raise ValidationFailed({"file": [str(exc)]}) from None
    if total == 0:
        raise ValidationFailed({"file": ["The file has no rows."]})
    session = ctx.session
    begin_write(session)
    job = ImportJob(
        kind=kind,
        filename=filename[-255:] or "upload",
        state="checking",
        data=data,
        total=total,
        created_by=created_by,
        problems=[],
    )
    session.add(job)
    session.commit()
    return job


def get(ctx: Context, job_id: int) -> ImportJob:
    job = ctx.session.get(ImportJob, job_id)
    if job is None:
        raise NotFound(f"No import job {job_id}.")
    return job


def recent(ctx: Context, limit: int = 20) -> list[ImportJob]:
    q = select(ImportJob).order_by(ImportJob.id.desc()).limit(limit)
    return list(ctx.session.scalars(q))


def check(
    ctx: Context, job_id: int, origin: Origin, progress: Progress = _no_progress
) -> ImportJob:
    """Run the job's dry run and keep its report on the job (state ``checked``)."""
    job = get(ctx, job_id)
    if job.state != "checking":
        raise Conflict(f"Import job {job_id} is {job.state}, not waiting for its dry run.")
    kind, filename, data = job.kind, job.filename, job.data or b""
    report = dry_run(ctx, kind, filename, data, origin, progress)
    begin_write(ctx.session)
    job = get(ctx, job_id)
    job.state, job.bad_rows = "checked", report.bad_rows
    job.problems = [[line, p] for line, p in report.problems[:MAX_PROBLEMS]]
    ctx.session.commit()
    return job


def start(ctx: Context, job_id: int) -> ImportJob:
    """Queue a checked job for the worker."""
    session = ctx.session
    begin_write(session)
    job = get(ctx, job_id)
    if job.state != "checked":
        session.rollback()
        raise Conflict(f"Import job {job_id} is {job.state}: only a checked job can start.")
    job.state, job.problems = "queued", []
    session.commit()
    return job


def _claim(ctx: Context, job_id: int, *, resume: bool) -> bool:
    """Take the job for this worker: queued, stale running, or (``resume``)
    failed or checked. Atomic: of two workers one gets it."""
    now = utcnow()
    states = ["queued", "failed", "checked"] if resume else ["queued"]
    q = (
        update(ImportJob)
        .where(
            ImportJob.id == job_id,
            ImportJob.state.in_(states)
            | ((ImportJob.state == "running") & (ImportJob.heartbeat_at < now - STALE)),
        )
        .values(state="running", heartbeat_at=now, started_at=now, error=None)
    )
    begin_write(ctx.session)
    claimed = bool(ctx.session.execute(q).rowcount == 1)  # type: ignore[attr-defined]
    ctx.session.commit()
    return claimed


def run(
    ctx: Context,
    job_id: int,
    origin: Origin,
    progress: Progress = _no_progress,
    should_stop: Stop = _never,
    *,
    resume: bool = False,
) -> ImportJob:
    """Import the job's rows from its resume point, batch by batch; ``progress``
    gets the number of rows each batch did (the rows already done first).
    ``should_stop``: asked between batches (the job stays queued to go on)."""
    if not _claim(ctx, job_id, resume=resume):
        job = get(ctx, job_id)
        raise Conflict(f"Import job {job_id} is {job.state}: not one to run now.")
    job = get(ctx, job_id)
    kind, filename, data, position = job.kind, job.filename, job.data or b"", job.position
    ctx.session.commit()
    progress(position)
    rows = Rows(ctx, kind, origin, job_id, dry_run=False)
    source = islice(_rows(kind, filename, data), position, None)
    try:
        while batch := list(islice(source, BATCH)):
            _write_batch(ctx, rows, job_id, batch)
            progress(len(batch))
            if should_stop():
                return _set_state(ctx, job_id, "queued")
    except BaseException as exc:
        ctx.session.rollback()
        _set_state(ctx, job_id, "failed", error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    return _set_state(ctx, job_id, "done")


def _set_state(ctx: Context, job_id: int, state: str, error: str | None = None) -> ImportJob:
    begin_write(ctx.session)
    job = get(ctx, job_id)
    job.state, job.error, job.heartbeat_at = state, error, utcnow()
    if state == "done":
        job.finished_at, job.data = utcnow(), None
    ctx.session.commit()
    return job


def _write_batch(ctx: Context, rows: Rows, job_id: int, batch: list[rules.RawRow]) -> None:
    """The batch in one transaction with the job's progress; should that fail,
    row by row (each its own transaction), so only the bad rows fail."""
    session = ctx.session
    try:
        begin_write(session)
        rows.prefetch(batch)
        outcomes = rows.write(batch)
        _account(ctx, job_id, outcomes)
        session.commit()
        return
    except (IntegrityError, DBAPIError):
        session.rollback()
    rows.forget()  # what it read ahead may name rows the rollback undid
    for raw in batch:
        try:
            begin_write(session)
            outcome = _one(rows, raw)
            _account(ctx, job_id, [outcome])
            session.commit()
        except (IntegrityError, DBAPIError) as exc:
            session.rollback()
            begin_write(session)
            reason = f"not written: {type(exc.orig).__name__}"
            _account(ctx, job_id, [(raw.line, [reason])])
            session.commit()


def _one(rows: Rows, raw: rules.RawRow) -> str | tuple[int, list[str]]:
    result = rows.check(raw)
    if not isinstance(result, Checked):
        return raw.line, result
    return rows.apply(result)


def _account(ctx: Context, job_id: int, outcomes: list[str | tuple[int, list[str]]]) -> None:
    job = get(ctx, job_id)
    bad = [o for o in outcomes if isinstance(o, tuple)]
    job.created += outcomes.count("created")
    job.updated += outcomes.count("updated")
    job.unchanged += outcomes.count("unchanged")
    job.failed += len(bad)
    if bad and len(job.problems) < MAX_PROBLEMS:
        job.problems = [*job.problems, *([line, p] for line, p in bad)][:MAX_PROBLEMS]
    job.position += len(outcomes)
    job.heartbeat_at = utcnow()


def next_due(ctx: Context) -> ImportJob | None:
    """The oldest job a worker should take up: a dry run due, a queued import,
    or a running one whose worker stopped."""
    stale = utcnow() - STALE
    q = (
        select(ImportJob)
        .where(
            ImportJob.state.in_(["checking", "queued"])
            | ((ImportJob.state == "running") & (ImportJob.heartbeat_at < stale))
        )
        .order_by(ImportJob.id)
        .limit(1)
    )
    job = ctx.session.scalars(q).first()
    ctx.session.commit()
    return job


def run_due(ctx: Context, origin: Origin, should_stop: Stop = _never) -> list[ImportJob]:
    """A worker's pass: every due job, in order (a dry run, or an import)."""
    done: list[ImportJob] = []
    while not should_stop() and (job := next_due(ctx)) is not None:
        if job.state == "checking":
            done.append(check(ctx, job.id, origin))
        else:
            try:
                done.append(run(ctx, job.id, origin, should_stop=should_stop))
            except Conflict:
                continue  # another worker took it
    return done
