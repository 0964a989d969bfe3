"""Engine set-up and transaction helpers shared by the services.

SQLite: pysqlite's own transaction handling is switched off so that we emit
BEGIN ourselves; a transaction that will write under a seat rule is opened
with BEGIN IMMEDIATE (it takes the database's write lock up front, so two
activations never read the same seat count). PostgreSQL: the licence row is
locked with SELECT ... FOR UPDATE by the service instead.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

WRITE_LOCK = "licserver_write_lock"


def configure_engine(engine: Engine, busy_timeout_ms: int) -> None:
    if engine.dialect.name != "sqlite":
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

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        if conn.get_execution_options().get(WRITE_LOCK):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


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


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"
