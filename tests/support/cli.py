"""Fixture ``instance``: one installation of licserver (a database, a keys folder,
an instance folder) whose ``licserver`` command tests run for real as a
subprocess (a plugin, registered in ``tests/conftest.py``)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from licserver import create_app
from licserver.extensions import db
from tests.support import CHEAP_PASSWORD_HASH
from tests.support.database import BACKEND, create_pg_database, drop_pg_database

BIN = Path(sys.executable).parent


@dataclass
class Instance:
    """One installation of licserver: a database, a keys folder, an instance folder."""

    url: str
    keys_dir: Path
    instance_dir: Path
    workdir: Path

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("LICSERVER_", "FLASK_")) or k == "LICSERVER_TEST_DB"
        }
        env.update(
            LICSERVER_DATABASE_URL=self.url,
            LICSERVER_KEYS_DIR=str(self.keys_dir),
            LICSERVER_INSTANCE_DIR=str(self.instance_dir),
            PYTHONWARNINGS="error",
            **CHEAP_PASSWORD_HASH,
        )
        env.update(extra)
        return env

    def run(
        self, *args: str, program: str = "licserver", **env: str
    ) -> subprocess.CompletedProcess[str]:
        exe = BIN / program
        cmd = [str(exe), *args] if exe.exists() else _module_command(program, args)
        return subprocess.run(
            cmd,
            env=self.env(**env),
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def ok(self, *args: str, **env: str) -> str:
        done = self.run(*args, **env)
        assert done.returncode == 0, f"{args}: rc={done.returncode}\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def app(self, **config: Any) -> Iterator[Flask]:
        """The server itself, in this process, on the same database and keys."""
        app = create_app(
            {
                "DATABASE_URL": self.url,
                "KEYS_DIR": str(self.keys_dir),
                "SECRET_KEY": "cli-test",
                "RATE_LIMITS": "off",
                **config,
            }
        )
        with app.app_context():
            try:
                yield app
            finally:
                db.session.remove()
                db.engine.dispose()


def _module_command(program: str, args: tuple[str, ...]) -> list[str]:
    if program == "licserver":
        return [sys.executable, "-c", "from licserver.cli import main; main()", *args]
    return [sys.executable, "-m", "flask", *args]


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Instance]:
    workdir = tmp_path / "work"
    workdir.mkdir()
    # The in-process app must not write into the repository either.
    monkeypatch.setenv("LICSERVER_INSTANCE_DIR", str(tmp_path / "instance"))
    pg_name = None
    if BACKEND == "postgresql":
        pg_name, url = create_pg_database()
    else:
        url = f"sqlite:///{tmp_path / 'cli.db'}"
    try:
        yield Instance(url, tmp_path / "keys", tmp_path / "instance", workdir)
    finally:
        if pg_name:
            drop_pg_database(pg_name)
