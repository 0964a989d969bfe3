"""Operations tests: each that rotates keys or copies the database gets an
installation of its own (a database — SQLite in tmp_path or a fresh
PostgreSQL database — a keys folder and an instance folder), so the run's
shared database and its signing key stay as the other tests expect them.

``ops`` gives that installation: ``ops.cli(...)`` runs the real ``licserver``
command against it, ``ops.app()`` the app in this process, ``ops.server()``
a real gunicorn on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from licserver.extensions import db
from tests.ops.helpers import Installation, OpsServer
from tests.support.database import BACKEND, TestDatabase, create_pg_database, drop_pg_database


@pytest.fixture(scope="session")
def ops(
    test_database: TestDatabase, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Installation]:
    """An installation of the tests/ops run, initialised with ``licserver init``.
    Shared by the tests here (a gunicorn costs seconds): each makes rows of its
    own and asserts on them, or on changes it makes."""
    root = tmp_path_factory.mktemp("ops")
    workdir = root / "work"
    workdir.mkdir()
    pg_name = None
    if BACKEND == "postgresql":
        pg_name, url = create_pg_database()
    else:
        url = f"sqlite:///{root / 'ops.db'}"
    inst = Installation(url, root / "keys", root / "instance", workdir)
    try:
        inst.ok("init")
        yield inst
    finally:
        for s in inst.servers:
            s.stop()
        if pg_name:
            drop_pg_database(pg_name)


@pytest.fixture(scope="session")
def ops_server(ops: Installation) -> OpsServer:
    """gunicorn with the shipped gunicorn.conf.py, 2 workers, on the
    installation: keys refreshed every second, JSON logs, Prometheus
    multiprocess mode in a folder the test reads."""
    prom = ops.workdir.parent / "prometheus"
    prom.mkdir()
    server = ops.server(
        workers=2,
        config=True,
        LICSERVER_KEY_REFRESH_SECONDS="1",
        LICSERVER_LOG_FORMAT="json",
        PROMETHEUS_MULTIPROC_DIR=str(prom),
    )
    return OpsServer(server, prom, 1.0)


@pytest.fixture
def ops_app(ops: Installation) -> Iterator[Flask]:
    """The installation's app in this process, inside its app context."""
    app = ops.app()
    with app.app_context():
        try:
            yield app
        finally:
            db.session.remove()
            db.engine.dispose()
