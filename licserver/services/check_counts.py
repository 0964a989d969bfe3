"""Update checks counted per release and platform (API.md, "Updates"; shown in
the console's releases page), counted in memory by each worker and written
in one batched upsert at most once per ``flush_seconds`` (1 s by default:
``UPDATE_COUNT_FLUSH_SECONDS``), not one write per check.

Correct across workers: every worker adds its own deltas
(``count = count + excluded.count``), so no check is counted twice or lost
while the server runs. What a worker has not yet written when it stops is
written at its exit (``atexit``; gunicorn's workers exit through it on a
graceful stop); a worker killed outright loses at most its last second of
counts. A worker's counts are written by the next check after the interval,
or else by a timer thread armed at the first pending check (an idle worker
does not keep them), so the console shows every check within about
``flush_seconds``; its page writes its own worker's pending counts before it
reads them (``flush_now``)."""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from datetime import datetime

from sqlalchemy import Connection, Engine, Executable, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from licserver.database import WRITE_LOCK, begin_write
from licserver.models.release import Release
from licserver.models.update import UpdateCheckCount

log = logging.getLogger(__name__)

# per database: (release id, platform) -> [count, last check]
_pending: dict[Engine, dict[tuple[int, str], list[object]]] = {}
_lock = threading.Lock()
_last_flush = 0.0
_armed: set[Engine] = set()  # engines with a timer thread waiting to write

_TABLE = UpdateCheckCount.__table__
_COLS = _TABLE.c


def _upsert(dialect: str) -> Executable:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(UpdateCheckCount).values(
        release_id=bindparam("r"),
        platform=bindparam("p"),
        count=bindparam("n"),
        last_at=bindparam("at"),
    )
    return stmt.on_conflict_do_update(
        index_elements=["release_id", "platform"],
        set_={"count": _COLS.count + stmt.excluded.count, "last_at": stmt.excluded.last_at},
    )


# Built once per dialect, reused by every flush.
_STATEMENTS = {name: _upsert(name) for name in ("postgresql", "sqlite")}


def record(session: Session, release_id: int, platform: str, now: datetime, every: float) -> None:
    """One more check answered with this release; written with the others once
    ``every`` seconds have passed since this worker's last write (0: now)."""
    key = (release_id, platform)
    engine = _engine_of(session)
    with _lock:
        counts = _pending.setdefault(engine, {})
        seen = counts.get(key)
        if seen is None:
            counts[key] = [1, now]
        else:
            seen[0] = int(seen[0]) + 1  # type: ignore[call-overload]
            seen[1] = now
        due = time.monotonic() - _last_flush >= every
        arm = not due and engine not in _armed
        if arm:
            _armed.add(engine)
    if due:
        flush_now(session)
    elif arm:
        timer = threading.Timer(every, _flush_later, (engine,))
        timer.daemon = True
        timer.start()


def _engine_of(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def _take(engine: Engine) -> list[dict[str, object]]:
    global _last_flush
    with _lock:
        counts = _pending.pop(engine, {})
        _last_flush = time.monotonic()
    return [{"r": r, "p": p, "n": n, "at": at} for (r, p), (n, at) in counts.items()]


def _give_back(engine: Engine, rows: list[dict[str, object]]) -> None:
    """A flush that failed: its counts wait for the next one."""
    with _lock:
        counts = _pending.setdefault(engine, {})
        for row in rows:
            key = (int(row["r"]), str(row["p"]))  # type: ignore[call-overload]
            seen = counts.setdefault(key, [0, row["at"]])
            seen[0] = int(seen[0]) + int(row["n"])  # type: ignore[call-overload]


def _write(conn: Connection, rows: list[dict[str, object]]) -> None:
    """The upsert of these counts in the caller's write transaction; counts
    of releases deleted meanwhile are dropped."""
    ids = {int(row["r"]) for row in rows}  # type: ignore[call-overload]
    kept = set(conn.scalars(select(Release.id).where(Release.id.in_(ids))))
    rows = [row for row in rows if row["r"] in kept]
    if rows:
        conn.execute(_STATEMENTS[conn.dialect.name], rows)


def flush_now(session: Session) -> None:
    """Write this worker's pending counts, in a write transaction of its own
    (SQLite cannot turn a read transaction into a write once another worker
    has written). On a failure they wait for the next flush."""
    engine = _engine_of(session)
    rows = _take(engine)
    if not rows:
        return
    try:
        session.rollback()
        begin_write(session)
        _write(session.connection(), rows)
        session.commit()
    except IntegrityError:
        session.rollback()  # a release deleted between the two statements: dropped
    except BaseException:
        session.rollback()
        _give_back(engine, rows)
        raise


def _flush_engine(engine: Engine) -> None:
    rows = _take(engine)
    if not rows:
        return
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(**{WRITE_LOCK: True})
            with conn.begin():
                _write(conn, rows)
    except IntegrityError:
        pass  # a release deleted between the two statements: dropped
    except Exception:
        _give_back(engine, rows)
        raise


def _flush_later(engine: Engine) -> None:
    """The timer thread: this worker's counts, if no check has written them."""
    with _lock:
        _armed.discard(engine)
    try:
        _flush_engine(engine)
    except Exception:  # noqa: BLE001 - kept for the next flush; said in the log
        log.warning("update check counts not written yet", exc_info=True)


def _forget_in_child() -> None:
    """A forked worker starts with no timer thread and counts of its own."""
    _pending.clear()
    _armed.clear()


os.register_at_fork(after_in_child=_forget_in_child)


@atexit.register
def _flush_at_exit() -> None:
    for engine in list(_pending):
        try:
            _flush_engine(engine)
        except Exception:  # noqa: BLE001, S112 - a stopping worker has nowhere else to say it
            log.warning("update check counts lost at exit (database unreachable)")
