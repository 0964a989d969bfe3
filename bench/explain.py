"""The plans of the hot statements on a bench database (PostgreSQL).

Sends one validate and one check-in through the real app in-process (Flask's
test client) on a database that ``make bench`` made and kept
(``python -m bench.run --keep ...``), captures the statement each sends, and
runs it again under ``EXPLAIN (ANALYZE, BUFFERS)`` — the check-in, which
writes, inside a transaction that is rolled back. Then it times each
statement on its own, over many executions (same parameters), server side
(``EXPLAIN ANALYZE``'s execution time), so that a small and a large data set
can be compared without gunicorn, wrk or the machine's other work in the
figures. And, since psycopg prepares a statement from its fifth execution on,
the generic plan PostgreSQL may then choose (``--generic``).

    python -m bench.run --backends postgresql --sizes small,large --keep ...
    python -m bench.explain --url postgresql://postgres@127.0.0.1:5432/licserver_bench_NNN \\
        --workdir /tmp/licserver-bench-XXXX/postgresql
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import event, text


def _rows(path: Path) -> list[list[str]]:
    return [line.split("\t") for line in path.read_text().splitlines() if line]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m bench.explain", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("--url", required=True, help="the kept bench database")
    p.add_argument("--workdir", type=Path, required=True, help="the kept <root>/postgresql folder")
    p.add_argument("--repeat", type=int, default=200, help="executions timed per statement")
    p.add_argument("--plans", action="store_true", help="print the full plans")
    p.add_argument(
        "--generic", action="store_true", help="also EXPLAIN the generic plan (PREPARE/EXECUTE)"
    )
    a = p.parse_args(argv)

    os.environ.setdefault("LICSERVER_INSTANCE_DIR", str(a.workdir / "instance"))
    from licserver import create_app
    from licserver.extensions import db

    app = create_app(
        {
            "DATABASE_URL": a.url,
            "KEYS_DIR": str(a.workdir / "keys"),
            "SECRET_KEY": "bench-secret",
            "RATE_LIMITS": "off",
        }
    )
    with app.app_context():
        engine = db.engine
    sent: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, params: Any, *rest: Any) -> None:
        sent.append((statement, params))

    validate_rows = _rows(a.workdir / "data" / "validate.tsv")
    checkin_rows = _rows(a.workdir / "data" / "checkin.tsv")
    key, iid = validate_rows[0][0], validate_rows[0][1]
    client = app.test_client()

    def validate() -> Any:
        body = {"license_key": key, "installation_id": iid}
        return client.post("/api/v1/validate", json=body)

    def checkin() -> Any:
        aid, token = checkin_rows[0][0], checkin_rows[0][1]
        return client.post(f"/api/v1/activations/{aid}/checkin", json={"activation_token": token})

    captured: dict[str, tuple[str, Any]] = {}
    event.listen(engine, "before_cursor_execute", capture)
    try:
        for name, call in (("validate", validate), ("checkin", checkin)):
            sent.clear()
            r = call()
            if r.status_code != 200:
                print(f"{name}: {r.status_code} {r.get_data(as_text=True)}", file=sys.stderr)
                return 1
            hot = [s for s in sent if s[0].lstrip().upper().startswith(("SELECT", "WITH"))]
            captured[name] = hot[-1]
    finally:
        event.remove(engine, "before_cursor_execute", capture)

    with engine.connect() as conn:
        sizes = conn.execute(
            text(
                "SELECT relname, pg_relation_size(oid), pg_indexes_size(oid) FROM pg_class "
                "WHERE relname IN ('licenses', 'activations', 'events') ORDER BY relname"
            )
        ).all()
        counts = {
            t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()  # noqa: S608
            for t in ("licenses", "activations")
        }
        conn.rollback()
        sb = conn.exec_driver_sql("SHOW shared_buffers").scalar_one()
        conn.rollback()
        print(f"database: {counts['licenses']:,} licences, {counts['activations']:,} activations")
        for name, heap, idx in sizes:
            print(f"  {name}: table {heap / 2**20:.0f} MiB, indexes {idx / 2**20:.0f} MiB")
        print(f"  shared_buffers {sb}")
        for name, (statement, params) in captured.items():
            print(f"\n== {name}: EXPLAIN (ANALYZE, BUFFERS) of the statement it sent")
            tx = conn.begin()
            plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, params).all()
            tx.rollback()
            lines = [r[0] for r in plan]
            for line in lines if a.plans else [x for x in lines if _interesting(x)]:
                print("  " + line)
            times = _timings(conn, statement, params, a.repeat)
            if a.generic:
                print(f"  -- {name}: the generic plan (as a prepared statement may run it)")
                for line in _generic(conn, statement, params):
                    if a.plans or _interesting(line):
                        print("  " + line)
            if times:
                print(
                    f"  execution time over {len(times)} runs (server side, rolled back): "
                    f"median {statistics.median(times):.3f} ms, "
                    f"p99 {sorted(times)[int(len(times) * 0.99) - 1]:.3f} ms"
                )
    return 0


def _interesting(line: str) -> bool:
    keys = ("Scan", "Buffers", "Execution Time", "Planning Time", "Index Cond", "LockRows")
    return any(k in line for k in keys) or line.lstrip().startswith(("Update", "Insert", "->"))


def _generic(conn: Any, statement: str, params: Any) -> list[str]:
    """EXPLAIN ANALYZE of EXECUTE of the statement prepared, with
    ``plan_cache_mode = force_generic_plan``; rolled back."""
    from psycopg import sql

    raw = conn.connection.driver_connection
    names: list[str] = []

    def placeholder(m: re.Match[str]) -> str:
        if m.group(1) not in names:
            names.append(m.group(1))
        return f"${names.index(m.group(1)) + 1}"

    prepared = re.sub(r"%\((\w+)\)s", placeholder, statement).replace("%%", "%")
    args = ", ".join(sql.Literal(params[n]).as_string(raw) for n in names)
    tx = conn.begin()
    try:
        conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
        conn.exec_driver_sql("PREPARE bench_explain AS " + prepared.replace("%", "%%"))
        rows = conn.exec_driver_sql(
            f"EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_explain({args})".replace("%", "%%")
        ).all()
        return [r[0] for r in rows]
    except Exception as exc:  # noqa: BLE001 - a report, not a failure
        return [f"(no generic plan: {exc})"]
    finally:
        tx.rollback()
        conn.exec_driver_sql("DEALLOCATE ALL")
        conn.rollback()


def _timings(conn: Any, statement: str, params: Any, repeat: int) -> list[float]:
    """``EXPLAIN ANALYZE`` execution times of the statement with the same
    parameters (the first row's): the server's own time for it."""
    out = []
    for _ in range(repeat):
        tx = conn.begin()
        plan = conn.exec_driver_sql(
            "EXPLAIN (ANALYZE, FORMAT JSON) " + statement, params
        ).scalar_one()
        tx.rollback()
        doc = plan if isinstance(plan, list) else json.loads(plan)
        out.append(float(doc[0]["Execution Time"]))
    return out


if __name__ == "__main__":
    sys.exit(main())
