"""Fixture ``test_database`` (a plugin, registered in ``tests/conftest.py``): the
database of a run, its schema made once by the real migrations. SQLite by
default, PostgreSQL when ``LICSERVER_TEST_DB=postgresql``
(``LICSERVER_TEST_PG_URL``); and the helpers that make and drop a PostgreSQL
database of a test's own."""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from licserver import create_app, migrate
from licserver.extensions import db
from licserver.runtime import context
from licserver.services.keys import ensure_signing_key

BACKEND = os.environ.get("LICSERVER_TEST_DB", "sqlite")
PG_ADMIN_URL = os.environ.get(
    "LICSERVER_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


@dataclass
class TestDatabase:
    __test__ = False  # a test module may import it: pytest does not collect it
    url: str
    keys_dir: Path
    workdir: Path


def create_pg_database() -> tuple[str, str]:
    import psycopg

    name = f"licserver_test_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
            # A test database need not outlive a crash: commits do not wait
            # for the disk (every connection to it, servers' too).
            conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    except psycopg.OperationalError as exc:
        pytest.exit(f"PostgreSQL is unreachable at {PG_ADMIN_URL}: {exc}", returncode=3)
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return name, f"{base}/{name}"


def drop_pg_database(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def test_database() -> Iterator[TestDatabase]:
    workdir = Path(tempfile.mkdtemp(prefix="licserver-test-"))
    keys_dir = workdir / "keys"
    pg_name = None
    if BACKEND == "postgresql":
        pg_name, url = create_pg_database()
    elif BACKEND == "sqlite":
        url = f"sqlite:///{workdir / 'test.db'}"
    else:
        raise pytest.UsageError(f"LICSERVER_TEST_DB must be sqlite or postgresql, not {BACKEND}")
    os.environ.setdefault("LICSERVER_INSTANCE_DIR", str(workdir / "instance"))
    app = create_app(
        {"DATABASE_URL": url, "KEYS_DIR": str(keys_dir), "SECRET_KEY": "test", "TESTING": True}
    )
    with app.app_context():
        migrate.upgrade(db.engine)
        from licserver.runtime import runtime

        runtime().box(create=True)
        ensure_signing_key(context(), keys_dir, "")
        db.session.remove()
        db.engine.dispose()
    try:
        yield TestDatabase(url=url, keys_dir=keys_dir, workdir=workdir)
    finally:
        if pg_name:
            drop_pg_database(pg_name)
        shutil.rmtree(workdir, ignore_errors=True)
