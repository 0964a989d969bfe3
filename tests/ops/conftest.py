"""Operations tests: each that rotates keys or copies the database gets an
installation of its own (a database — SQLite in tmp_path or a fresh
PostgreSQL database — a keys folder and an instance folder), so the run's
shared database and its signing key stay as the other tests expect them.

``ops`` gives that installation: ``ops.cli(...)`` runs the real ``licserver``
command against it, ``ops.app()`` the app in this process, ``ops.server()``
a real gunicorn on it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from licserver import create_app
from licserver.extensions import db
from tests.conftest import BACKEND, TestDatabase, _create_pg_database, _drop_pg_database
from tests.live import LiveServer
from tests.support import CHEAP_PASSWORD_HASH

BIN = Path(sys.executable).parent


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str


@dataclass
class Installation:
    url: str
    keys_dir: Path
    instance_dir: Path
    workdir: Path
    servers: list[LiveServer] = field(default_factory=list)
    _app: Flask | None = None

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("LICSERVER_", "FLASK_", "PROMETHEUS_"))
        }
        env.update(
            LICSERVER_DATABASE_URL=self.url,
            LICSERVER_KEYS_DIR=str(self.keys_dir),
            LICSERVER_INSTANCE_DIR=str(self.instance_dir),
            LICSERVER_SECRET_KEY="ops-test",
            **CHEAP_PASSWORD_HASH,
        )
        env.update(extra)
        return env

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        """``licserver ARGS`` as an administrator runs it, in a process of its own."""
        return subprocess.run(
            [str(BIN / "licserver"), *args],
            env=self.env(**env),
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def cli(self, *args: str, **config: Any) -> CliResult:
        """``licserver ARGS`` in this process (the same click commands, without the
        interpreter's start-up); ``config`` runs it with other settings."""
        app = self.app(**config) if config else self._cli_app()
        with app.app_context():
            try:
                result = app.test_cli_runner().invoke(args=list(args))
            finally:
                db.session.remove()
                db.engine.dispose()
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return CliResult(result.exit_code, result.stdout, result.stderr)

    def ok(self, *args: str, **config: Any) -> str:
        done = self.cli(*args, **config)
        assert done.returncode == 0, f"{args}: rc={done.returncode}\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def _cli_app(self) -> Flask:
        if self._app is None:
            self._app = self.app()
        return self._app

    def app(self, **config: Any) -> Flask:
        return create_app(
            {
                "DATABASE_URL": self.url,
                "KEYS_DIR": str(self.keys_dir),
                "SECRET_KEY": "ops-test",
                "RATE_LIMITS": "off",
                "PUBLIC_URL": "http://licserver.test",
                **config,
            }
        )

    def server(self, workers: int = 2, **env: str) -> LiveServer:
        s = LiveServer(TestDatabase(self.url, self.keys_dir, self.workdir), workers, env=env)
        self.servers.append(s)
        return s


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
        pg_name, url = _create_pg_database()
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
            _drop_pg_database(pg_name)


@dataclass
class OpsServer:
    server: LiveServer
    prometheus_dir: Path
    refresh_seconds: float

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture(scope="session")
def ops_server(ops: Installation) -> OpsServer:
    """gunicorn, 2 workers, on the installation: keys refreshed every second,
    JSON logs, Prometheus multiprocess mode."""
    prom = ops.workdir.parent / "prometheus"
    prom.mkdir()
    server = ops.server(
        workers=2,
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
