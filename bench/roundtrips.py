"""What one request costs in database round trips, and where its time goes.

Runs the client API's use cases in-process (Flask's test client, the real app
on a fresh database made like ``make bench`` makes it) and counts, per request,
every statement the database driver is sent (BEGIN, COMMIT and ROLLBACK
included, and the pool's pings and resets).

    python -m bench.roundtrips                      # both databases, the counts
    python -m bench.roundtrips --backends sqlite --sql    # and the statements
    python -m bench.roundtrips --profile validate   # pyinstrument over 500 requests
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import event

from bench import data
from bench.launcher import bench_database, run_init, server_env

Call = Callable[[Any, int], Any]


def _calls(rows: data.ScenarioRows) -> dict[str, Call]:
    def activate(c: Any, i: int) -> Any:
        key = rows.random_keys[i % len(rows.random_keys)]
        body = {
            "license_key": key,
            "installation_id": f"roundtrip-{os.getpid()}-{i:06d}",
            "machine_name": "BENCH-PC",
            "client": {"app_version": "1.0", "os": "Linux"},
        }
        r = c.post("/api/v1/activations", json=body)
        assert r.status_code == 201, r.get_json()
        return r

    def activate_one(c: Any, i: int) -> Any:
        body = {
            "license_key": rows.hot_key,
            "installation_id": f"roundtrip-one-{os.getpid()}-{i:06d}",
            "machine_name": "BENCH-PC",
        }
        r = c.post("/api/v1/activations", json=body)
        assert r.status_code == 201, r.get_json()
        return r

    def validate(c: Any, i: int) -> Any:
        key, iid = rows.validate[i % len(rows.validate)]
        r = c.post("/api/v1/validate", json={"license_key": key, "installation_id": iid})
        assert r.status_code == 200 and r.get_json()["code"] == "VALID", r.get_json()
        return r

    def checkin(c: Any, i: int) -> Any:
        aid, token = rows.checkin[i % len(rows.checkin)]
        r = c.post(f"/api/v1/activations/{aid}/checkin", json={"activation_token": token})
        assert r.status_code == 200, r.get_json()
        return r

    def updates(c: Any, i: int) -> Any:
        aid, token = rows.checkin[i % len(rows.checkin)]
        ask = {"activation_id": aid, "activation_token": token, "current_version": "1.0.0"}
        r = c.post("/api/v1/updates", json={**ask, "platform": "windows"})
        assert r.status_code == 200 and r.get_json()["update"], r.get_json()
        return r

    def healthz(c: Any, i: int) -> Any:
        return c.get("/healthz")

    return {
        "healthz": healthz,
        "activate": activate,
        "activate_one": activate_one,
        "validate": validate,
        "checkin": checkin,
        "updates": updates,
    }


class StatementLog:
    """Every statement the driver sends to the database for the app, in order:
    what goes through SQLAlchemy's cursor, and BEGIN, COMMIT, ROLLBACK and pings
    where the driver sends them (nothing is counted that the driver skips: a
    COMMIT in autocommit mode, a pool reset's ROLLBACK with no transaction open)."""

    def __init__(self, app: Flask) -> None:
        from licserver.extensions import db

        with app.app_context():
            engine = db.engine
        self.lines: list[str] = []
        self.postgres = engine.dialect.name == "postgresql"
        event.listen(engine, "before_cursor_execute", self._execute)
        event.listen(engine, "begin", self._begin)
        event.listen(engine, "commit", lambda conn: self._end(conn, "COMMIT"))
        event.listen(engine, "rollback", lambda conn: self._end(conn, "ROLLBACK"))
        event.listen(engine.pool, "reset", self._reset)
        event.listen(engine.pool, "checkout", self._checkout)
        self.pre_ping = bool(getattr(engine.pool, "_pre_ping", False))

    @staticmethod
    def _autocommit(conn: Any) -> bool:
        return bool(conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT")

    def _execute(self, conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        self.lines.append(" ".join(statement.split()))

    def _begin(self, conn: Any) -> None:
        # psycopg sends BEGIN itself, before the transaction's first statement
        # (SQLite's BEGIN is ours, executed through SQLAlchemy: already seen)
        if self.postgres and not self._autocommit(conn):
            self.lines.append("BEGIN")

    def _end(self, conn: Any, what: str) -> None:
        if not self._autocommit(conn):
            self.lines.append(what)

    def _reset(self, dbapi_conn: Any, *rest: Any) -> None:
        if self.postgres:
            busy = dbapi_conn.info.transaction_status != 0  # psycopg: IDLE is 0
        else:
            busy = bool(dbapi_conn.in_transaction)
        if busy:
            self.lines.append("ROLLBACK (the pool's reset)")

    def _checkout(self, *a: Any) -> None:
        if self.pre_ping:
            self.lines.append("SELECT 1 (pool_pre_ping)")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.roundtrips", description=__doc__)
    p.add_argument("--backends", default="sqlite,postgresql")
    p.add_argument("--sql", action="store_true", help="print the statements of one request")
    p.add_argument("--profile", help="run pyinstrument over this scenario's requests")
    p.add_argument("--cprofile", help="cProfile this scenario's requests (by own time)")
    p.add_argument("--sort", default="tottime", help="cProfile sort key")
    p.add_argument("--lines", type=int, default=30, help="cProfile lines")
    p.add_argument("--callers", help="cProfile: print the callers of functions matching this")
    p.add_argument("--requests", type=int, default=500)
    p.add_argument("--timing", type=int, default=500, help="requests timed per use case")
    a = p.parse_args(argv)
    from licserver import create_app

    root = Path(tempfile.mkdtemp(prefix="licserver-roundtrips-"))
    try:
        for backend in a.backends.split(","):
            workdir = root / backend
            workdir.mkdir()
            with bench_database(backend, workdir, keep=False) as url:
                env = server_env(url, workdir)
                run_init(env, workdir)
                os.environ["LICSERVER_INSTANCE_DIR"] = env["LICSERVER_INSTANCE_DIR"]
                cfg = {
                    "DATABASE_URL": url,
                    "KEYS_DIR": env["LICSERVER_KEYS_DIR"],
                    "SECRET_KEY": "bench-secret",
                    "RATE_LIMITS": "off",
                }
                rows = data.make_scenario_rows(create_app(cfg), 20, 2)
                data.make_releases(create_app(cfg), 1000)  # for "updates", as bench/run.py
                app = create_app(cfg)
                log = StatementLog(app)
                client = app.test_client()
                calls = _calls(rows)
                print(
                    f"\n{backend}: statements per request (the 3rd of each kind), "
                    "and in-process time per request (test client, no HTTP server)"
                )
                for name, call in calls.items():
                    for i in range(3):
                        log.lines.clear()
                        call(client, i)
                    statements = list(log.lines)
                    kinds = Counter(line.split()[0] for line in statements)
                    summary = ", ".join(f"{n} {k}" for k, n in kinds.most_common())
                    # the fastest of five batches: other work on the machine only slows
                    batch, best = max(a.timing // 5, 1), float("inf")
                    for b in range(5 if a.timing else 0):
                        started = time.perf_counter()
                        for i in range(batch):
                            call(client, 100 + b * batch + i)
                        best = min(best, (time.perf_counter() - started) * 1000 / batch)
                    ms = best if a.timing else 0.0
                    print(f"  {name:<13} {len(statements):2d}  {ms:6.2f} ms  ({summary})")
                    if a.sql:
                        for line in statements:
                            print(f"      {line[:160]}")
                if a.cprofile:
                    import cProfile
                    import pstats

                    call = calls[a.cprofile]
                    for i in range(50):
                        call(client, 1000 + i)
                    prof = cProfile.Profile()
                    prof.enable()
                    for i in range(a.requests):
                        call(client, 2000 + i)
                    prof.disable()
                    st = pstats.Stats(prof).sort_stats(a.sort)
                    st.print_stats(a.lines)
                    if a.callers:
                        st.print_callers(a.callers)
                if a.profile:
                    from pyinstrument import Profiler  # type: ignore[import-not-found]

                    call = calls[a.profile]
                    for i in range(50):
                        call(client, 1000 + i)
                    profiler = Profiler(interval=0.0002)
                    profiler.start()
                    for i in range(a.requests):
                        call(client, 2000 + i)
                    profiler.stop()
                    print(profiler.output_text(unicode=True, color=False, show_all=False))
                with app.app_context():
                    from licserver.extensions import db

                    db.session.remove()
                    db.engine.dispose()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
