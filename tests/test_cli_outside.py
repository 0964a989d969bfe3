"""`licserver` run from a folder that is not the server's: it finds its
configuration the same way every time (README, "The command line"), refuses
with `Error: ...` and a non-zero exit when the database or a key is not
there, and creates nothing it was only asked to read."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import CHEAP_PASSWORD_HASH

LICSERVER = Path(sys.executable).parent / "licserver"


def _run(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("LICSERVER_", "FLASK_"))}
    clean.update(PYTHONWARNINGS="error", **CHEAP_PASSWORD_HASH, **env)
    return subprocess.run(
        [str(LICSERVER), *args], cwd=cwd, env=clean, capture_output=True, text=True, timeout=120
    )


def _refused(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode != 0, done.stdout
    assert done.stderr.startswith("Error: "), done.stderr
    assert "Traceback" not in done.stderr
    for word in words:
        assert word in done.stderr, done.stderr


@pytest.mark.parametrize("args", [("policies", "list", "cad"), ("check",), ("keys", "list")])
def test_an_empty_folder_is_refused_and_left_empty(tmp_path: Path, args: tuple[str, ...]) -> None:
    done = _run(tmp_path, *args)
    _refused(done, "no database at", str(tmp_path / "instance" / "licserver.db"), "licserver init")
    assert list(tmp_path.iterdir()) == []  # no instance/, no database, no keys


def test_check_on_a_missing_database_file_does_not_create_it(tmp_path: Path) -> None:
    missing = tmp_path / "restored.db"
    done = _run(tmp_path, "check", LICSERVER_DATABASE_URL=f"sqlite:///{missing}")
    _refused(done, f"no database at {missing}")
    assert not missing.exists()


def test_a_database_without_schema_says_run_init(tmp_path: Path) -> None:
    empty = tmp_path / "other.db"
    with sqlite3.connect(empty) as conn:
        conn.execute("CREATE TABLE notes (text TEXT)")
    done = _run(tmp_path, "policies", "list", "cad", LICSERVER_DATABASE_URL=f"sqlite:///{empty}")
    _refused(done, "has no licserver schema", "run 'licserver init'")
    with sqlite3.connect(empty) as conn:
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master")]
    assert tables == ["notes"]


def test_another_folder_finds_the_server_by_its_settings(tmp_path: Path) -> None:
    """The server's folder, then a command from elsewhere: with LICSERVER_CONFIG
    naming the database and keys it works; without the keys it says which."""
    server = tmp_path / "server"
    server.mkdir()
    assert _run(server, "init").returncode == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    config = tmp_path / "licserver.toml"
    config.write_text(
        f'DATABASE_URL = "sqlite:///{server / "instance" / "licserver.db"}"\n'
        f'KEYS_DIR = "{server / "keys"}"\n'
        'SECRET_KEY = "outside-test"\n'
    )
    done = _run(elsewhere, "keys", "list", LICSERVER_CONFIG=str(config))
    assert done.returncode == 0, done.stderr
    assert "active" in done.stdout
    assert list(elsewhere.iterdir()) == []

    # the keys folder left out: KEYS_DIR is ./keys, which is not here
    config.write_text(
        f'DATABASE_URL = "sqlite:///{server / "instance" / "licserver.db"}"\n'
        'SECRET_KEY = "outside-test"\n'
    )
    done = _run(elsewhere, "demo", LICSERVER_CONFIG=str(config))
    _refused(done, str(elsewhere / "keys"), "licserver init")
    assert list(elsewhere.iterdir()) == []
