"""Activations under idle and trickling clients (docs/reliability.md, "Slow
clients"): the p99 latency of activations on a quiet server, then with 200
idle and 50 trickling connections open, against gunicorn started with the
shipped gunicorn.conf.py (or with plain sync workers, for comparison).

    .venv/bin/python scripts/slow_clients.py [--db sqlite|postgresql]
        [--workers 2] [--activations 300] [--sync]

Prints the figures as Markdown; exit status 1 when an activation failed, one
was lost, or the loaded p99 is 3 times the quiet one or more.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from reliability import database, machine, servers  # noqa: E402

from tests.reliability.harness import engine_for, seat_counts  # noqa: E402
from tests.reliability.slow_clients import Activations, SlowClients, activate_many  # noqa: E402


def row(name: str, got: Activations, wall: float) -> str:
    ms = sorted(s * 1000 for s in got.seconds)
    p50 = ms[len(ms) // 2]
    return (
        f"| {name} | {len(ms)} | {dict(Counter(got.statuses))} | {p50:.1f} | "
        f"{got.p99() * 1000:.1f} | {len(ms) / wall:.0f} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--activations", type=int, default=300)
    parser.add_argument("--threads", type=int, default=4, help="concurrent activating clients")
    parser.add_argument("--sync", action="store_true", help="sync workers, no gunicorn.conf.py")
    args = parser.parse_args(argv)
    kw = {"args": ["--timeout", "30"]} if args.sync else {"config": True}
    with database(args.db) as (tdb, factory), servers(tdb, 1, args.workers, **kw) as [server]:
        lic = factory.license(seats=10 * args.activations)
        creds = {"license_id": lic.id, "activation_password": lic.activation_password}
        n = args.activations
        activate_many(server.url, creds, 20, "warm", args.threads)
        start = time.monotonic()
        quiet = activate_many(server.url, creds, n, "quiet", args.threads)
        quiet_wall = time.monotonic() - start
        with SlowClients(server.url, idle=200, trickling=50) as slow:
            time.sleep(1.0)  # every slow connection is open and waiting
            start = time.monotonic()
            loaded = activate_many(server.url, creds, n, "loaded", args.threads)
            loaded_wall = time.monotonic() - start
            reopened = slow.closed_by_server
        live, used = seat_counts(engine_for(tdb.url), lic.id)
        log = server.log()
    ratio = loaded.p99() / quiet.p99()
    answered = quiet.statuses + loaded.statuses
    ok = (
        all(s == 201 for s in answered)
        and live == used == len(answered) + 20
        and ratio < 3
        and "WORKER TIMEOUT" not in log
    )
    worker = "sync" if args.sync else "gunicorn.conf.py (licserver.serving.ApiThreadWorker)"
    print(f"{args.db}, {args.workers} workers, {worker}, {args.threads} clients; {machine()}\n")
    print("| run | activations | statuses | p50 ms | p99 ms | per s |")
    print("|---|---|---|---|---|---|")
    print(row("quiet", quiet, quiet_wall))
    print(row("200 idle + 50 trickling", loaded, loaded_wall))
    print(
        f"\np99 ratio {ratio:.2f} (goal < 3); live activations {live} = seats used {used}"
        f" (sent {len(answered) + 20}); slow connections the server closed: {reopened};"
        f" worker timeouts: {log.count('WORKER TIMEOUT')} -> {'OK' if ok else 'FAILED'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
