"""SQLite on a full disk: a database of its own, a gunicorn whose worker may not
grow any file past a cap (tests/reliability/gunicorn_fsize.py), and activations
until one is refused. Then the database is opened without the cap and checked."""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from licserver.runtime import context
from tests.live import LiveServer
from tests.support import loopback
from tests.support.database import TestDatabase
from tests.support.factory import Factory

FSIZE_CONFIG = Path(__file__).with_name("gunicorn_fsize.py")


@dataclass
class DiskFull:
    created: int = 0
    first_failure_status: int | None = None
    first_failure_code: str | None = None
    failures: int = 0
    other_statuses: dict[int, int] = field(default_factory=dict)
    live_rows: int = 0
    seats_used: int = 0
    created_events: int = 0
    integrity: str = ""
    readable_after: bool = False
    headroom_bytes: int = 0


def _seed(url: str, keys_dir: Path) -> tuple[str, str]:
    from licserver import create_app, migrate
    from licserver.extensions import db
    from licserver.runtime import runtime
    from licserver.services.keys import ensure_signing_key

    app = create_app({"DATABASE_URL": url, "KEYS_DIR": str(keys_dir), "SECRET_KEY": "t"})
    with app.app_context():
        migrate.upgrade(db.engine)
        runtime().box(create=True)
        ensure_signing_key(context(), keys_dir, "")
        lic = Factory(app).license(seats=100000)
        db.session.remove()
        db.engine.dispose()
    return lic.id, lic.key


def disk_full_run(
    workdir: Path, test_database: TestDatabase, *, max_activations: int, headroom: int = 192 * 1024
) -> DiskFull:
    path = workdir / "full.db"
    url = f"sqlite:///{path}"
    license_id, key = _seed(url, test_database.keys_dir)
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    limit = path.stat().st_size + headroom
    out = DiskFull(headroom_bytes=headroom)
    server = LiveServer(
        TestDatabase(url=url, keys_dir=test_database.keys_dir, workdir=workdir),
        1,
        env={
            "GUNICORN_CMD_ARGS": f"--config {FSIZE_CONFIG}",
            "LICSERVER_TEST_FSIZE_LIMIT": str(limit),
        },
    )
    others: Counter[int] = Counter()
    try:
        with loopback.Client(base_url=server.url, timeout=60) as http:
            for i in range(max_activations):
                r = http.post(
                    "/api/v1/activations",
                    json={
                        "license_key": key,
                        "installation_id": f"full-install-{i:05d}",
                        "machine_name": f"FULL-{i}",
                    },
                )
                if r.status_code == 201:
                    out.created += 1
                    continue
                if out.first_failure_status is None:
                    out.first_failure_status = r.status_code
                    out.first_failure_code = r.json().get("code")
                if r.status_code == 503:
                    out.failures += 1
                    if out.failures >= 3:  # it stays refused; enough
                        break
                else:
                    others[r.status_code] += 1
            # reads still answer
            v = http.post(
                "/api/v1/validate",
                json={"license_key": key, "installation_id": "full-install-00000"},
            )
            out.readable_after = v.status_code == 200
    finally:
        server.stop()
    out.other_statuses = dict(others)
    with sqlite3.connect(path) as conn:
        out.integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        out.live_rows = conn.execute(
            "SELECT count(*) FROM activations a JOIN licenses l ON l.id = a.license_id "
            "WHERE l.public_id = ? AND a.deactivated_at IS NULL",
            (license_id,),
        ).fetchone()[0]
        out.seats_used = conn.execute(
            "SELECT seats_used FROM licenses WHERE public_id = ?", (license_id,)
        ).fetchone()[0]
        out.created_events = conn.execute(
            "SELECT count(*) FROM events WHERE kind = 'activation.created'"
        ).fetchone()[0]
    return out
