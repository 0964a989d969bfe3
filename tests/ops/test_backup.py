"""`licserver backup` of a SQLite database while gunicorn serves activations,
restored and passed by `licserver check`; `check` failing on damaged copies
and on a database without its keys; PostgreSQL's polite refusal."""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from flask import Flask

from licserver.crypto import b64u
from tests.ops.helpers import Installation, OpsServer, issue_licence
from tests.support import loopback
from tests.support.database import BACKEND

sqlite_only = pytest.mark.skipif(BACKEND != "sqlite", reason="licserver backup copies SQLite")


@sqlite_only
def test_backup_while_serving_then_restore_and_check(
    ops: Installation, ops_app: Flask, ops_server: OpsServer, tmp_path: Path
) -> None:
    lic = issue_licence(seats=100_000)
    answered: list[tuple[str, int]] = []
    stop = threading.Event()

    def load(n: int) -> None:
        with loopback.Client(base_url=ops_server.url, timeout=30) as http:
            i = 0
            while not stop.is_set():
                iid = f"ops-load-{n}-{i:05d}"
                i += 1
                r = http.post(
                    "/api/v1/activations",
                    json={"license_key": lic.key, "installation_id": iid, "machine_name": "PC"},
                )
                answered.append((iid, r.status_code))

    threads = [threading.Thread(target=load, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    try:
        deadline = time.monotonic() + 20
        while len(answered) < 30 and time.monotonic() < deadline:
            time.sleep(0.02)
        before_backup = {iid for iid, status in list(answered) if status == 201}
        backup = tmp_path / "licserver-backup.db"
        # three clients keep activating meanwhile: requests are in flight throughout
        done = ops.cli("backup", str(backup))
        after = len(answered)
        while len(answered) < after + 10 and time.monotonic() < deadline:
            time.sleep(0.02)  # and the server goes on answering
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert done.returncode == 0, done.stderr
    assert f"to {backup}" in done.stdout
    assert {status for _, status in answered} == {201}
    assert len(before_backup) >= 30 and len(answered) >= after + 10

    # restore it elsewhere, as after losing the server
    restored = tmp_path / "restored" / "licserver.db"
    restored.parent.mkdir()
    shutil.copy(backup, restored)
    check = ops.cli("check", DATABASE_URL=f"sqlite:///{restored}")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "check passed" in check.stdout
    assert "schema: " in check.stdout and "activations: " in check.stdout

    with sqlite3.connect(restored) as conn:
        in_copy = {
            row[0]
            for row in conn.execute(
                "SELECT a.installation_id FROM activations a JOIN licenses l "
                "ON a.license_id = l.id WHERE l.public_id = ?",
                (lic.id,),
            )
        }
        (seats_used,) = conn.execute(
            "SELECT seats_used FROM licenses WHERE public_id = ?", (lic.id,)
        ).fetchone()
    missing = before_backup - in_copy
    assert not missing, f"{len(missing)} activations answered 201 before the backup are missing"
    assert seats_used == len(in_copy)  # a consistent snapshot: no half-made activation

    # and the live database lost nothing either
    live = Path(ops.url.removeprefix("sqlite:///"))
    with sqlite3.connect(live) as conn:
        live_ids = {r[0] for r in conn.execute("SELECT installation_id FROM activations")}
    assert {iid for iid, _ in answered} <= live_ids

    # the copy is never overwritten
    again = ops.cli("backup", str(backup))
    assert again.returncode == 1 and "exists" in again.stderr


@sqlite_only
def test_check_fails_on_a_damaged_copy(ops: Installation, tmp_path: Path) -> None:
    backup = tmp_path / "copy.db"
    ops.ok("backup", str(backup))
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(backup.read_bytes()[: backup.stat().st_size // 2])
    done = ops.cli("check", DATABASE_URL=f"sqlite:///{damaged}")
    assert done.returncode == 1
    assert "the database cannot be read" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout

    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    done = ops.cli("check", DATABASE_URL=f"sqlite:///{empty}")
    assert done.returncode == 1 and "no licserver schema" in done.stderr


def test_check_passes_and_fails_without_the_keys(
    ops: Installation, ops_app: Flask, tmp_path: Path
) -> None:
    issue_licence()
    done = ops.cli("check")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "licenses: " in done.stdout and "check passed" in done.stdout

    # restored without the active signing key's private file
    bare = tmp_path / "keys-without-pem"
    bare.mkdir()
    shutil.copy(ops.keys_dir / "data.key", bare / "data.key")
    done = ops.cli("check", KEYS_DIR=str(bare))
    assert done.returncode == 1
    assert "active signing key" in done.stderr and "is not in" in done.stderr

    # restored with another data key: the stored licence keys are unreadable
    done = ops.cli("check", DATA_KEY=b64u(b"\x01" * 32))
    assert done.returncode == 1
    assert "cannot be decrypted" in done.stderr


@pytest.mark.skipif(BACKEND != "postgresql", reason="PostgreSQL's answer")
def test_backup_on_postgresql_prints_pg_dump(ops: Installation, tmp_path: Path) -> None:
    done = ops.cli("backup", str(tmp_path / "x.dump"))
    assert done.returncode == 2
    assert "pg_dump --format=custom" in done.stderr
    assert not (tmp_path / "x.dump").exists()
