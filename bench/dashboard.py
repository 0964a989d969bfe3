"""The dashboard's queries on a large data set (docs/performance.md).

``add_events`` gives the bulk licences of bench/data.py a history the dashboard
counts: over the last 90 days, ``per_licence`` activations each and a refusal
for one licence in ten. ``measure`` times, in one process, the dashboard's
queries as plain queries (every figure from the licences, activations and
events) and as the page runs them (stored figures and daily counts, the
events' tail counted live).

    python -m bench.dashboard --licences 100000            # SQLite
    python -m bench.dashboard --licences 100000 --postgresql
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from licserver.extensions import db
from licserver.models import License
from licserver.runtime import context
from licserver.services import dashboard

REFUSAL_CODES = ("SEATS_EXHAUSTED", "LICENSE_EXPIRED", "INVALID_CREDENTIALS")
EVENT_COLUMNS = "at, kind, license_id, customer_id, actor_type, actor_id, reason, data"


def add_events(app: Flask, per_licence: int = 1, seed: int = 7, after_id: int = 0) -> int:
    """Events for the bulk licences (public ids ``L-Z...``; row id above
    ``after_id``: those of a later load only), spread over the last 90 days;
    returns how many."""
    rnd = random.Random(seed)
    now = datetime.now(UTC)
    with app.app_context():
        session = db.session()
        rows = session.execute(
            select(License.id, License.customer_id).where(
                License.public_id.like("L-Z%"), License.id > after_id
            )
        ).all()
        url = db.engine.url
        session.rollback()
        db.session.remove()
        db.engine.dispose()
    postgres = url.get_backend_name() == "postgresql"

    def at() -> datetime:
        # at least an hour old: as if the last refresh ran since
        return now - timedelta(seconds=rnd.uniform(3600, 89 * 86400))

    made = []
    for lid, cid in rows:
        for _ in range(per_licence):
            made.append((at(), "activation.created", lid, cid, "client", None, None, "{}"))
        if lid % 10 == 0:
            code = REFUSAL_CODES[lid % 3]
            made.append((at(), "activation.refused", lid, cid, "client", None, code, "{}"))
    made.sort(key=lambda r: r[0])  # ids in the order of time, as the server writes them

    def events() -> Any:
        for row in made:
            if postgres:
                yield row
            else:  # SQLAlchemy's SQLite form of UTC times
                yield (row[0].replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f"), *row[1:])

    n = 0
    if postgres:
        import psycopg

        dsn = url.set(drivername="postgresql").render_as_string(False)
        with psycopg.connect(dsn) as conn, conn.cursor() as cur:
            with cur.copy(f"COPY events ({EVENT_COLUMNS}) FROM STDIN") as cp:
                for row in events():
                    cp.write_row(row)
                    n += 1
            conn.commit()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("VACUUM (ANALYZE) events")
        return n
    import sqlite3

    assert url.database
    conn = sqlite3.connect(url.database, isolation_level=None)
    try:
        conn.execute("BEGIN")
        marks = ", ".join("?" * len(EVENT_COLUMNS.split(",")))
        all_rows = list(events())
        conn.executemany(f"INSERT INTO events ({EVENT_COLUMNS}) VALUES ({marks})", all_rows)
        conn.execute("COMMIT")
        conn.execute("ANALYZE events")
        return len(all_rows)
    finally:
        conn.close()


def _timed(fn: Any) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def measure(app: Flask, runs: int = 3) -> dict[str, float]:
    """Best of ``runs`` seconds of: the plain queries, the first refresh (every
    event folded), a refresh with nothing new, and the page's read."""
    out: dict[str, float] = {}
    with app.app_context():
        ctx = context()
        now = ctx.now()
        s = ctx.session

        def plain() -> None:
            dashboard.take_figures(s, now)
            dashboard._count_events(s, 0, None)  # every event, counted per day
            s.rollback()

        out["plain_state"] = min(
            _timed(lambda: (dashboard.take_figures(s, now), s.rollback())) for _ in range(runs)
        )
        out["plain_per_day"] = min(
            _timed(lambda: (dashboard._count_events(s, 0, None), s.rollback())) for _ in range(runs)
        )
        out["plain_all"] = out["plain_state"] + out["plain_per_day"]
        out["first_refresh"] = _timed(lambda: dashboard.refresh(ctx))
        out["refresh_nothing_new"] = min(
            _timed(lambda: dashboard.refresh(ctx)) for _ in range(runs)
        )
        out["read"] = min(_timed(lambda: dashboard.read(ctx)) for _ in range(runs))
        out["events"] = float(s.scalar(select(func.count()).select_from(dashboard.Event)) or 0)
        s.rollback()
        db.session.remove()
    return out


def main() -> None:
    from bench import data
    from bench.launcher import bench_database, run_init, server_env
    from licserver import create_app

    p = argparse.ArgumentParser(prog="python -m bench.dashboard")
    p.add_argument("--licences", type=int, default=100_000)
    p.add_argument("--postgresql", action="store_true")
    a = p.parse_args()
    backend = "postgresql" if a.postgresql else "sqlite"
    workdir = Path(tempfile.mkdtemp(prefix="licserver-dash-"))
    with bench_database(backend, workdir, keep=False) as url:
        env = server_env(url, workdir)
        run_init(env, workdir)
        os.environ["LICSERVER_INSTANCE_DIR"] = env["LICSERVER_INSTANCE_DIR"]
        app = create_app(
            {"DATABASE_URL": url, "KEYS_DIR": env["LICSERVER_KEYS_DIR"], "SECRET_KEY": "b"}
        )
        rep = data.bulk_load(app, a.licences, 3)
        events = add_events(app)
        print(
            f"{backend}: {rep.licences:,} licences, {rep.activations:,} activations, "
            f"{events:,} events"
        )
        print(json.dumps(measure(app), indent=2))


if __name__ == "__main__":
    main()
