"""Engine set-up and transaction helpers shared by the services.

SQLite: pysqlite's own transaction handling is switched off so that we emit
BEGIN ourselves; a transaction that will write under a seat rule is opened
with BEGIN IMMEDIATE (it takes the database's write lock up front, so two
activations never read the same seat count). PostgreSQL: the licence row is
locked with SELECT ... FOR UPDATE by the service instead.

PostgreSQL connections are pinged before use only when they have sat in the
pool for a while (``IDLE_PING_SECONDS``): that finds a restarted database as
``pool_pre_ping`` does, without a round trip per transaction while the server
is busy. A connection in steady use that finds the database gone fails its
request (503) and the pool starts afresh.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
import weakref
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session

WRITE_LOCK = "licserver_write_lock"
AUTOCOMMIT = "AUTOCOMMIT"
IDLE_PING_SECONDS = 2.0
_IDLE_SINCE = "licserver_idle_since"


def configure_engine(engine: Engine, busy_timeout_ms: int) -> None:
    if engine.dialect.name != "sqlite":
        _ping_when_idle(engine)
        return

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        # SQLite's own lower() folds ASCII only; PostgreSQL's folds every script.
        dbapi_conn.create_function("lower", 1, _lower, deterministic=True)
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cur.execute("PRAGMA foreign_keys = ON")
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = NORMAL")
        cur.close()

    turns = _WriterTurns(engine.url.database)

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        options = conn.get_execution_options()
        if options.get(WRITE_LOCK):
            turns.take(conn.connection.record_info)
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif options.get("isolation_level") != AUTOCOMMIT:
            conn.exec_driver_sql("BEGIN")

    # after the COMMIT or ROLLBACK: the connection goes back to the pool
    # (the pool entry's record_info: the same dict after an invalidation, when
    # checkin's DB-API connection is None)
    event.listen(engine.pool, "checkin", lambda _c, entry: turns.give_back(entry.record_info))


class _WriterTurns:
    """Writers of one SQLite file queue for their turn on an flock of a file next
    to it before BEGIN IMMEDIATE, and give it back once their transaction is over.

    SQLite itself makes a writer that finds the database locked sleep and retry
    (1 ms, 2 ms, 5 ms, ... up to busy_timeout): the writer that comes next may
    sleep long after the lock is free. A waiter on the flock is woken the moment
    it is free. BEGIN IMMEDIATE still takes SQLite's lock, so the seat rule never
    depends on this; it only orders the writers of processes that use it (a
    process that doesn't, the CLI say, is waited for as before). A process never
    waits for its turn while it holds any SQLite lock, so no two can wait on each
    other. The threads of one process (gthread workers) queue on a lock of the
    process first: an flock is held by the open file, not by a thread, so it
    would let a second thread of the same process through. The turn belongs to
    the pooled connection that took it and ends when it is checked in."""

    def __init__(self, database: str | None) -> None:
        self._path = f"{database}-writers" if database not in (None, "", ":memory:") else None
        self._after_fork()
        # A forked worker starts with state of its own: the parent's locks may
        # have been held by one of its threads at the fork, and its file's flock
        # is the parent's (closing our copy of the descriptor leaves it be).
        me = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _call(me, "_after_fork"))

    def _after_fork(self) -> None:
        fd = getattr(self, "_fd", None)
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass
        self._fd: int | None = None
        self._pid = 0
        self._turn = threading.Lock()  # held by the thread whose turn it is
        self._state = threading.Lock()  # guards the file and the two below
        self._thread: int | None = None
        self._entries: list[object] = []  # that thread's pool entries in a write

    def _open(self) -> bool:
        """The file, opened once per process, under the state lock: the first
        writers of a new worker come at once, and a second descriptor would
        be a second flock holder of the same process (each then waiting on the
        other: a deadlock of every writer)."""
        with self._state:
            if self._pid != os.getpid():
                if self._path is None:
                    return False
                try:
                    self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
                except OSError:  # a read-only folder, say: SQLite's own waiting only
                    self._path = None
                    return False
                self._pid = os.getpid()
            return self._path is not None

    def take(self, owner: object) -> None:
        if self._path is None or not self._open():
            return
        assert self._fd is not None
        me = threading.get_ident()
        with self._state:
            if self._thread == me:  # a second connection of the same request
                self._entries.append(owner)
                return
        self._turn.acquire()
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._turn.release()
            raise
        with self._state:
            self._thread, self._entries = me, [owner]

    def give_back(self, owner: object) -> None:
        if self._pid != os.getpid():
            return
        with self._state:
            if not any(e is owner for e in self._entries):
                return
            self._entries = [e for e in self._entries if e is not owner]
            if self._entries:
                return
            self._thread = None
            assert self._fd is not None
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            self._turn.release()


def _call(ref: weakref.ref[Any], method: str) -> None:
    obj = ref()
    if obj is not None:
        getattr(obj, method)()


def _ping_when_idle(engine: Engine) -> None:
    def _fresh(_dbapi_conn: Any, record: Any, *_: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    event.listen(engine.pool, "connect", _fresh)
    event.listen(engine.pool, "checkin", _fresh)

    @event.listens_for(engine.pool, "checkout")
    def _checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is not None and time.monotonic() - since < IDLE_PING_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:
            # the pool drops this connection and checks out a new one
            raise DisconnectionError() from exc


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def begin_write(session: Session) -> None:
    """Start the session's transaction as a writer (SQLite: BEGIN IMMEDIATE).

    Must be the first thing a service does in its transaction; on PostgreSQL it
    is a no-op and the service locks the rows it decides on.
    """
    if session.in_transaction():
        # Whatever the request did before (authentication, say) is finished first.
        session.commit()
    session.connection(execution_options={WRITE_LOCK: True})


def begin_autocommit(session: Session) -> Connection:
    """PostgreSQL: start the session's work without a transaction: each statement
    commits on its own, with no BEGIN or COMMIT round trip. For use cases that read
    with one statement, or write with one statement that decides and writes at
    once; what follows ``session.commit()`` (or ``rollback()``) runs in a
    transaction again. SQLite: a plain transaction (BEGIN and COMMIT are function
    calls there, cheaper than switching the connection's mode and back)."""
    if session.in_transaction():
        session.commit()
    if not is_postgres(session):
        return session.connection()
    return session.connection(execution_options={"isolation_level": AUTOCOMMIT})


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"
