"""Shared fixtures: a real app on a real database, fresh for every test.

The database is SQLite by default. ``LICSERVER_TEST_DB=postgresql`` runs the
same suite on PostgreSQL (``LICSERVER_TEST_PG_URL``, default
``postgresql://postgres@127.0.0.1:5432/postgres``): the run creates its own
database there and drops it at the end. Unreachable PostgreSQL fails the run.

The schema is made once per run by the real migrations; each test then starts
from empty tables.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from licserver import create_app, runtime
from licserver.config import load_config
from licserver.extensions import db
from licserver.models import Base
from licserver.runtime import context
from licserver.services import tokens as token_service
from tests.support import CHEAP_PASSWORD_HASH
from tests.support.database import (
    BACKEND,
    TestDatabase,
    create_pg_database,
    drop_pg_database,
)
from tests.support.factory import AdminClient, Factory

# Fixture modules: ``smtp_server`` (a real SMTP server, aiosmtpd), ``live_server``
# (gunicorn), ``chromium`` (a headless browser), ``instance`` (an installation
# whose ``licserver`` command runs as a subprocess).
pytest_plugins = [
    "tests.mail",
    "tests.support.database",
    "tests.support.servers",
    "tests.support.browser",
    "tests.support.cli",
    "tests.support.sdk",
    "tests.support.portal",
    "tests.support.console",
    "tests.support.ordering",
]

# Every app this process builds hashes cheaply (argon2id's smallest cost).
os.environ.update(CHEAP_PASSWORD_HASH)


def pytest_report_header() -> str:
    return f"licserver test database: {BACKEND}"


def pytest_collection_finish(session: pytest.Session) -> None:
    """What collection made (modules, test items, fixtures' definitions) lives
    until the run ends: set it aside from the garbage collector (gc.freeze),
    which would walk it at every full collection; and collect less often, as
    tests make objects by the million and most die young. About 8 % of the CPU
    time of the tests that run in this process (tests/api)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Unreachable PostgreSQL ends the run with exit status 3 before any test,
    in the one process that runs or distributes them (pytest-xdist's workers
    each make a database of their own, see ``test_database``)."""
    if BACKEND == "postgresql" and not hasattr(session.config, "workerinput"):
        drop_pg_database(create_pg_database()[0])


# per database URL: the one statement that empties its tables (PostgreSQL)
_PG_RESETS: dict[str, str] = {}


def _empty_tables(url: str) -> None:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    tables = [t.name for t in reversed(Base.metadata.sorted_tables) if t.name != "signing_keys"]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # A connection an earlier test left inside a transaction (a server
            # or a session it did not end) would hold a lock on a row or table
            # forever: end such connections; each test starts from empty tables.
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    " AND state LIKE 'idle in transaction%'"
                )
            )
            # DELETE, children first, and the sequences restarted (ids from 1,
            # as SQLite's): a test leaves a few rows, and TRUNCATE of ~40
            # tables costs 65 ms against 10 ms for this (new files for each
            # table). One round trip for the lot.
            reset = _PG_RESETS.get(url)
            if reset is None:  # the schema is the run's: its sequences read once
                seqs = conn.execute(
                    text(
                        "SELECT c.relname FROM pg_class c"
                        " JOIN pg_namespace n ON n.oid = c.relnamespace"
                        " WHERE c.relkind = 'S' AND n.nspname = current_schema()"
                    )
                ).scalars()
                statements = [f"DELETE FROM {name}" for name in tables]
                statements += [f'ALTER SEQUENCE "{seq}" RESTART' for seq in seqs]
                reset = _PG_RESETS[url] = "; ".join(statements)
            conn.exec_driver_sql(reset)
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))
    engine.dispose()


# Building an app costs about a quarter of a second (its 550 routes, the
# OpenAPI document), more than most tests: a process builds one per distinct
# config and environment and gives each later test that one again, reset:
# the config loaded anew (so the test's own instance folder: outbox, releases),
# a fresh runtime (settings, keyring, data box, mailer, clock). Only apps with
# rate limits off are kept (a limiter's counts would outlive the test).
_APPS: dict[str, Flask] = {}


def _app_key(config: dict[str, Any]) -> str:
    env = {k: v for k, v in os.environ.items() if k.startswith("LICSERVER_")}
    env.pop("LICSERVER_INSTANCE_DIR", None)
    return repr((sorted(config.items()), sorted(env.items())))


def _app_for(config: dict[str, Any], instance: Path) -> Flask:
    key = _app_key(config)
    application = _APPS.get(key)
    if application is not None:
        application.instance_path = str(instance)
        load_config(application, config)
        runtime.init_app(application)
        return application
    application = create_app(config)

    # The fixture holds one app context for the whole test, so requests made with
    # the test client share it; end each request's session as production does
    # (there every request has its own app context), so no request reads another
    # transaction's snapshot or identity map.
    @application.teardown_request
    def _end_session(_exc: BaseException | None) -> None:
        db.session.remove()

    if application.config.get("RATELIMIT_ENABLED") is False:
        _APPS[key] = application
    return application


@pytest.fixture
def app_config(test_database: TestDatabase, tmp_path: Path) -> dict[str, Any]:
    """The config of the test's app; a test may change it before using ``app``."""
    return {
        "DATABASE_URL": test_database.url,
        "KEYS_DIR": str(test_database.keys_dir),
        "SECRET_KEY": "test-secret",
        "TESTING": True,
        "RATE_LIMITS": "off",
        "PUBLIC_URL": "http://licserver.test",
    }


@pytest.fixture
def app(
    app_config: dict[str, Any],
    test_database: TestDatabase,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Flask]:
    monkeypatch.setenv("LICSERVER_INSTANCE_DIR", str(tmp_path / "instance"))
    _empty_tables(test_database.url)
    application = _app_for(app_config, tmp_path / "instance")
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def admin_token(app: Flask) -> str:
    _, token = token_service.create(context(), "tests", "full")
    return token


@pytest.fixture
def admin(client: FlaskClient, admin_token: str) -> AdminClient:
    return AdminClient(client, admin_token)


@pytest.fixture
def factory(app: Flask) -> Factory:
    return Factory(app)
