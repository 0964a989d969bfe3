"""What the full-size reliability runs (scripts/reliability.py) share: the
report lines and misses, a fresh database with a Factory, gunicorn servers."""

from __future__ import annotations

import contextlib
import os
import platform
import secrets
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


from tests.conftest import Factory, TestDatabase  # noqa: E402
from tests.live import LiveServer  # noqa: E402

PG_ADMIN_URL = os.environ.get("RELIABILITY_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("RELIABILITY_REDIS_URL", "redis://127.0.0.1:6379/0")
FAILED: list[str] = []


def out(line: str = "") -> None:
    print(line, flush=True)


def check(ok: bool, what: str) -> str:
    if not ok:
        FAILED.append(what)
    return "yes" if ok else "**NO**"


# ---- a database and an app context to seed it ---------------------------------------


@contextlib.contextmanager
def database(backend: str, admin_url: str = PG_ADMIN_URL) -> Iterator[tuple[TestDatabase, Factory]]:
    """A fresh, migrated database with a signing key, and a Factory on it
    (PostgreSQL: made and dropped through ``admin_url``)."""
    import psycopg

    from licserver import create_app, migrate
    from licserver.extensions import db
    from licserver.runtime import context, runtime
    from licserver.services.keys import ensure_signing_key

    workdir = Path(tempfile.mkdtemp(prefix="licserver-reliability-"))
    keys_dir = workdir / "keys"
    pg_name = None
    if backend == "postgresql":
        pg_name = f"licserver_reliability_{os.getpid()}_{secrets.token_hex(3)}"
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{pg_name}"')
        url = f"{admin_url.rsplit('/', 1)[0]}/{pg_name}"
    else:
        url = f"sqlite:///{workdir / 'reliability.db'}"
    os.environ["LICSERVER_INSTANCE_DIR"] = str(workdir / "instance")
    app = create_app(
        {"DATABASE_URL": url, "KEYS_DIR": str(keys_dir), "SECRET_KEY": "s", "TESTING": True}
    )
    try:
        with app.app_context():
            migrate.upgrade(db.engine)
            runtime().box(create=True)
            ensure_signing_key(context(), keys_dir, "")
            try:
                yield TestDatabase(url=url, keys_dir=keys_dir, workdir=workdir), Factory(app)
            finally:
                # the session's connection may be gone (pg-restart)
                with contextlib.suppress(Exception):
                    db.session.remove()
                db.engine.dispose()
    finally:
        if pg_name:
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def servers(tdb: TestDatabase, count: int, workers: int, **kw: Any) -> Iterator[list[LiveServer]]:
    started: list[LiveServer] = []
    try:
        for _ in range(count):
            started.append(LiveServer(tdb, workers, **kw))
        yield started
    finally:
        for s in started:
            s.stop()


def race_layout(backend: str) -> tuple[int, int, int]:
    """(servers, workers each, concurrent requests) of the issue's seat race."""
    return (2, 2, 200) if backend == "postgresql" else (1, 4, 100)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


def machine() -> str:
    load1, load5, _ = os.getloadavg()
    return (
        f"{platform.node()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load average {load1:.1f} (1 min) / {load5:.1f} (5 min) at the start"
    )
