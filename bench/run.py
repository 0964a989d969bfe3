"""``make bench``: the server as users deploy it, measured with wrk.

For each database (SQLite, PostgreSQL) and data set (small; then 1,000,000
licences and 3,000,000 activations more), it starts gunicorn with sync
workers and rate limits off, and runs each scenario (``/healthz``, activation
on random licences, activation all on one licence, validate, check-in, an
update check against 1,000 releases) for a
few seconds, three rounds in turn; it reports the median req/s, p50 and p99 of
each, the ratios of the issue's targets, and each worker's peak RSS. After
every activation run it counts the live activations in the database: no
licence may be over its seat limit, and each new request must have made a new
activation. The table goes to stdout and into ``docs/performance.md``
(between its ``bench`` markers), with the machine and the command. Last,
the three SDKs' offline status benchmarks (``bench/sdk_status.py``), and
``licserver import`` of 100,000 licences (``bench/import_speed.py``).

    python -m bench.run                # the full run (about 10 minutes)
    python -m bench.run --quick        # a smaller, shorter run for development
    python -m bench.run --workers 4 --backends postgresql --sizes small
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench import import_speed, sdk_status
from bench.cases import FLOOR, SCENARIOS, SetResult, Settings, say
from bench.report import DOC, machine, report, write_doc
from bench.sets import bench_backend


def parse_args(argv: list[str]) -> Settings:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    p.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (default 2)")
    p.add_argument("--connections", type=int, help="wrk connections (default 2 per worker)")
    p.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    p.add_argument("--duration", type=float, help="seconds per run (default 6; quick 3)")
    p.add_argument("--runs", type=int, help="runs per scenario, median taken (default 3; quick 1)")
    p.add_argument("--backends", default="sqlite,postgresql", help="sqlite,postgresql")
    p.add_argument("--sizes", default="small,large", help="small,large")
    p.add_argument(
        "--scenarios",
        default=",".join(sc.name for sc in SCENARIOS[1:]),
        help="which besides the floor (default: all)",
    )
    p.add_argument(
        "--pages",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="time the console dashboard and the filtered licence list on each set "
        "(bench/pages.py; default: on)",
    )
    p.add_argument(
        "--sdk",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run the SDKs' offline status benchmarks at the end (default: on)",
    )
    p.add_argument("--page-runs", type=int, help="requests per page, median taken (default 9)")
    p.add_argument("--bulk", type=int, help="licences in the large set (default 1000000)")
    p.add_argument("--quick", action="store_true", help="short runs, a 20,000-licence large set")
    p.add_argument("--doc", type=Path, help=f"write the results here (default {DOC}; not --quick)")
    p.add_argument("--no-doc", action="store_true", help="do not write docs/performance.md")
    p.add_argument("--json", type=Path, help="also write every figure as JSON here")
    p.add_argument("--keep", action="store_true", help="keep the databases and server logs")
    p.add_argument(
        "--profile",
        action=argparse.BooleanOptionalAction,
        help="after the runs of each data set, sample a worker with py-spy during one more "
        "run of each scenario (default: on, off with --quick)",
    )
    a = p.parse_args(argv)
    quick = a.quick
    doc: Path | None = a.doc or (None if quick or a.no_doc else DOC)
    backends = [b.strip() for b in a.backends.split(",") if b.strip()]
    sizes = [s.strip() for s in a.sizes.split(",") if s.strip()]
    if set(backends) - {"sqlite", "postgresql"} or set(sizes) - {"small", "large"}:
        p.error("--backends takes sqlite,postgresql and --sizes small,large")
    return Settings(
        workers=a.workers,
        connections=a.connections or 2 * a.workers,
        threads=a.threads,
        duration=a.duration or (3.0 if quick else 6.0),
        warmup=1.0,
        runs=a.runs or (1 if quick else 3),
        backends=backends,
        sizes=sizes,
        scenarios=[FLOOR, *(sc for sc in SCENARIOS[1:] if sc.name in a.scenarios.split(","))],
        licences=50 if quick else 200,
        live_per_licence=2,
        small_licences=10_000,
        bulk_licences=a.bulk or (20_000 if quick else 1_000_000),
        bulk_per_licence=3,
        profile=a.profile if a.profile is not None else not quick,
        pages=a.pages,
        sdk=a.sdk,
        page_runs=a.page_runs or (3 if quick else 9),
        doc=doc,
        json_out=a.json,
        keep=a.keep,
        command=_command(argv),
    )


def _command(argv: list[str]) -> str:
    args = " ".join(shlex.quote(x) for x in argv)
    if os.environ.get("MAKELEVEL"):  # started by make
        return f"make bench BENCH_ARGS={shlex.quote(args)}" if args else "make bench"
    return f"python -m bench.run {args}".strip()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    s = parse_args(args)
    if not shutil.which("wrk"):
        print("wrk is not installed: apt-get install wrk (make bench does it)", file=sys.stderr)
        return 2
    env = machine()
    root = Path(tempfile.mkdtemp(prefix="licserver-bench-"))
    say(f"working in {root}")
    results: list[SetResult] = []
    try:
        for backend in s.backends:
            results += bench_backend(s, backend, root)
        sdk: dict[str, Any] = {}
        if s.sdk:
            say("SDK status benchmarks: Python, C, Node")
            sdk = sdk_status.run_all()
        rows = s.bulk_licences // 10  # 100,000; --quick 2,000
        say(f"import: {rows:,} licences (bench/import_speed.py)")
        imported = [import_speed.report(b, import_speed.run(b, rows)) for b in s.backends]
    finally:
        if not s.keep:
            shutil.rmtree(root, ignore_errors=True)
    text = report(s, results, sdk, env)
    text += "\n\n`licserver import` (bench/import_speed.py):\n"
    text += "\n".join(line for lines in imported for line in lines)
    print()
    print(text)
    if s.doc:
        write_doc(s.doc, text)
        say(f"written to {s.doc}")
    if s.json_out:
        s.json_out.write_text(
            json.dumps(
                {
                    "settings": {**asdict(s), "doc": str(s.doc), "json_out": str(s.json_out)},
                    "machine": env,
                    "results": [asdict(r) for r in results],
                    "sdk": sdk,
                },
                indent=2,
            )
        )
    bad_seats = any(r.seat_checks for r in results)
    return 1 if bad_seats else 0


if __name__ == "__main__":
    sys.exit(main())
