"""``licserver import``'s speed: customers, then licences (each with a legacy
key) of bench/import_file.py's generated files, through the import jobs the
CLI and the console run (dry run, then the import), on a new database.
Prints rows/s of each phase; ``make bench`` runs it on 100,000 licences
(docs/performance.md has the figures).

    python -m bench.import_speed                      # 100,000 licences, SQLite
    python -m bench.import_speed --quick              # 5,000 (development)
    python -m bench.import_speed --postgresql --licences 20000
    python -m bench.import_speed --quick --profile    # cProfile's top functions
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from flask import Flask

from bench import import_file
from licserver.extensions import db
from licserver.runtime import context
from licserver.services import Actor, Origin
from licserver.services import products as product_service
from licserver.services.imports import jobs

ORIGIN = Origin(Actor("admin", "bench"))


@dataclass
class Phase:
    name: str
    rows: int
    seconds: float  # wall clock
    cpu: float  # this process's CPU time (the machine may be shared)

    @property
    def per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        ms = 1000 * self.seconds / max(1, self.rows)
        return (
            f"{self.name:<24} {self.rows:>8,} rows  {self.seconds:7.1f} s"
            f"  {self.per_second:8,.0f} rows/s  {ms:5.2f} ms/row"
            f"  (CPU {1000 * self.cpu / max(1, self.rows):5.2f} ms/row)"
        )


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _job(app: Flask, kind: str, path: Path) -> tuple[Phase, Phase, int]:
    """Dry run and import of one file, timed, and the rows written."""
    with app.app_context():
        ctx = context()
        job = jobs.create(ctx, kind, path.name, path.read_bytes(), "bench")
        total, t0 = job.total, _clock()
        job = jobs.check(ctx, job.id, ORIGIN)
        t1 = _clock()
        assert job.bad_rows == 0, job.problems[:3]
        jobs.start(ctx, job.id)
        job = jobs.run(ctx, job.id, ORIGIN)
        t2 = _clock()
        assert job.state == "done" and job.failed == 0, job.problems[:3]
        written = job.created + job.updated
        db.session.remove()
    check = Phase(f"{kind}: dry run", total, t1[0] - t0[0], t1[1] - t0[1])
    run = Phase(f"{kind}: import", total, t2[0] - t1[0], t2[1] - t1[1])
    return check, run, written


def measure(app: Flask, licences: int, workdir: Path) -> list[Phase]:
    import_file.main(str(workdir / "files"), str(licences))
    with app.app_context():
        product_service.create(context(), code="bench-import", name="Bench import")
        db.session.remove()
    customers = max(1, licences // 10)
    out: list[Phase] = []
    for kind, name, rows in (
        ("customers", "customers", customers),
        ("licences", "licences", licences),
    ):
        check, run, written = _job(app, kind, workdir / "files" / f"{name}.csv")
        assert written == rows, (kind, written, rows)
        out += [check, run]
    return out


def run(backend: str, licences: int, *, profile: bool = False) -> list[Phase]:
    """A new database of ``backend``, the import measured on it."""
    from bench.launcher import bench_database, run_init, server_env
    from licserver import create_app

    workdir = Path(tempfile.mkdtemp(prefix="licserver-import-"))
    with bench_database(backend, workdir, keep=False) as url:
        env = server_env(url, workdir)
        run_init(env, workdir)
        os.environ["LICSERVER_INSTANCE_DIR"] = env["LICSERVER_INSTANCE_DIR"]
        app = create_app(
            {"DATABASE_URL": url, "KEYS_DIR": env["LICSERVER_KEYS_DIR"], "SECRET_KEY": "b"}
        )
        if not profile:
            phases = measure(app, licences, workdir)
        else:
            prof = cProfile.Profile()
            phases = prof.runcall(measure, app, licences, workdir)
            pstats.Stats(prof).sort_stats("cumulative").print_stats(40)
        with app.app_context():
            db.engine.dispose()
    return phases


def report(backend: str, phases: list[Phase]) -> list[str]:
    return [f"{backend}:", *("  " + p.line() for p in phases)]


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.import_speed")
    p.add_argument("--licences", type=int, help="licences in the file (default 100000)")
    p.add_argument("--quick", action="store_true", help="5,000 licences")
    p.add_argument("--postgresql", action="store_true")
    p.add_argument("--profile", action="store_true", help="print cProfile's top functions")
    a = p.parse_args()
    licences = a.licences or (5_000 if a.quick else 100_000)
    backend = "postgresql" if a.postgresql else "sqlite"
    phases = run(backend, licences, profile=a.profile)
    print("\n".join(report(backend, phases)))


if __name__ == "__main__":
    main()
