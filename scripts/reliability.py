"""Full-size reliability runs (docs/reliability.md): the scenarios of
tests/reliability at the sizes the issue asks for, against real gunicorn
servers on loopback, and a restart of a private PostgreSQL under check-in load.

    .venv/bin/python scripts/reliability.py load   [--db sqlite,postgresql]
    .venv/bin/python scripts/reliability.py faults [--db sqlite,postgresql]
    .venv/bin/python scripts/reliability.py pg-restart
    .venv/bin/python scripts/reliability.py tokens
    .venv/bin/python scripts/reliability.py fuzz   [--db ...] [--max-examples 100]
    .venv/bin/python scripts/reliability.py all

PostgreSQL runs make (and drop) a database of their own on 127.0.0.1:5432
(RELIABILITY_PG_URL); ``pg-restart`` starts a PostgreSQL cluster of its own on
another port (initdb in a temporary folder, as the ``postgres`` user when run
as root) and restarts only that one. Redis: RELIABILITY_REDIS_URL (default
redis://127.0.0.1:6379/0), keys under a prefix of the run's own, deleted after.
Each subcommand prints its figures as Markdown; exit status 1 when a figure
misses its target.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import redis  # noqa: E402
from reliability_common import (  # noqa: E402
    FAILED,
    REDIS_URL,
    check,
    database,
    free_port,
    machine,
    out,
    race_layout,
    servers,
    wait_port,
)
from reliability_pg import cmd_pg_restart  # noqa: E402

from tests.reliability import harness as H  # noqa: E402
from tests.reliability.diskfull import disk_full_run  # noqa: E402
from tests.reliability.proxy import RandomLosingProxy  # noqa: E402

# ---- load ------------------------------------------------------------------------------


def cmd_load(backend: str, args: argparse.Namespace) -> None:
    n_servers, workers, concurrent = race_layout(backend)
    out(f"### Load held — {backend}")
    out()
    with database(backend) as (tdb, factory), servers(tdb, n_servers, workers) as group:
        engine = H.engine_for(tdb.url)
        # seat race
        rounds = []
        for rep in range(args.repeat):
            lic = factory.license(seats=5)
            rounds.append(
                H.seat_race(group, engine, {"license_key": lic.key}, lic.id, concurrent, f"r{rep}")
            )
        exact = sum(1 for r in rounds if r.statuses == {201: 5, 409: concurrent - 5})
        five_xx = sum(len(r.server_errors) for r in rounds)
        live_ok = all(r.live_rows == r.seats_used == 5 for r in rounds)
        secs = sorted(r.seconds for r in rounds)
        locked = sum(s.log().count("database is locked") for s in group)
        out(
            f"- Seat race: {n_servers} gunicorn × {workers} workers, {concurrent} concurrent "
            f"activations of distinct installations on a 5-seat licence, {args.repeat} rounds: "
            f"exactly 5 × 201 and {concurrent - 5} × 409 SEAT_LIMIT_REACHED in {exact}/"
            f"{args.repeat} rounds ({check(exact == args.repeat, 'seat race exact')}); "
            f"5xx: {five_xx} ({check(five_xx == 0, 'seat race 5xx')}); active rows = seats_used"
            f" = 5 after every round: {check(live_ok, 'seat race rows')}; "
            f"'database is locked' in server logs: {locked}; "
            f"round time median {secs[len(secs) // 2]:.2f} s, max {secs[-1]:.2f} s."
        )
        # the same with password credentials (the full path on PostgreSQL too)
        lic = factory.license(seats=5)
        creds = {"license_id": lic.id, "activation_password": lic.activation_password}
        pw = H.seat_race(group, engine, creds, lic.id, concurrent, "pw")
        ok = pw.statuses == {201: 5, 409: concurrent - 5} and pw.live_rows == pw.seats_used == 5
        out(
            f"- Same race with licence id + activation password credentials: "
            f"{dict(pw.statuses)}, active rows {pw.live_rows}: {check(ok, 'password race')}."
        )
        # one installation racing itself
        lic = factory.license(seats=1)
        same = H.same_installation(group, engine, {"license_key": lic.key}, lic.id, 50)
        ok = (
            same.statuses == {201: 1, 200: 49}
            and len(same.activation_ids) == 1
            and same.live_rows == same.seats_used == 1
        )
        out(
            f"- One installation activating 50 times in parallel on a 1-seat licence: "
            f"{dict(same.statuses)}, {len(same.activation_ids)} activation id, "
            f"{same.live_rows} active row: {check(ok, 'same installation')}."
        )
        # churn
        lic = factory.license(seats=3)
        ch = H.churn(
            group, engine, {"license_key": lic.key}, lic.id, clients=20, rounds=args.churn_rounds
        )
        ok = (
            not ch.unexpected
            and ch.max_live <= 3
            and ch.max_seats_used <= 3
            and (ch.final_live, ch.final_seats_used) == (0, 0)
        )
        out(
            f"- Churn: 20 clients × {args.churn_rounds} activate+deactivate on a 3-seat licence "
            f"({ch.outcomes['201+200']} completed cycles, {ch.outcomes['409']} × 409) in "
            f"{ch.seconds:.1f} s; {ch.samples} samples of the active count by a separate "
            f"connection: max {ch.max_live} active rows, max seats_used {ch.max_seats_used}; "
            f"at the end {ch.final_live}: {check(ok, 'churn')}"
            + (f"; unexpected: {ch.unexpected[:3]}" if ch.unexpected else ".")
        )
        engine.dispose()
    # rate limits across two servers through Redis
    prefix = f"licserver-reliability-{secrets.token_hex(6)}"
    env = {
        "LICSERVER_RATE_LIMITS": "on",
        "LICSERVER_REDIS_URL": REDIS_URL,
        "LICSERVER_REDIS_KEY_PREFIX": prefix,
        "LICSERVER_CLIENT_RATE_LIMIT": "50 per minute",
    }
    try:
        with (
            database(backend) as (tdb, _),
            servers(tdb, 2, 2, env=env, ready_path="/healthz") as group,
        ):
            statuses = H.shared_rate_limit(group, 120)
    finally:
        _drop_redis_prefix(prefix)
    out(
        f"- Per-IP limit of 50/minute with Redis, 2 servers × 2 workers, 120 requests from "
        f"one IP alternating between them: {statuses[200]} × 200, {statuses[429]} × 429 "
        f"({check(statuses == {200: 50, 429: 70}, 'shared limit')})."
    )
    out()


def _drop_redis_prefix(prefix: str) -> None:
    r = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(r.scan_iter(match=f"*{prefix}*", count=1000))
        if keys:
            r.delete(*keys)
    finally:
        r.close()


# ---- faults ----------------------------------------------------------------------------


def cmd_faults(backend: str, args: argparse.Namespace) -> None:
    out(f"### Faults survived — {backend}")
    out()
    for point in ("before_commit", "after_commit"):
        kills = []
        for _ in range(args.kills):
            with database(backend) as (tdb, factory):
                marker = tdb.workdir / "fault-fired"
                env = {
                    "LICSERVER_TESTING_FAULTS": "1",
                    "LICSERVER_FAULT_POINT": point,
                    "LICSERVER_FAULT_MARKER": str(marker),
                }
                with servers(tdb, 1, 2, env=env) as (server,):
                    engine = H.engine_for(tdb.url)
                    lic = factory.license(seats=1)
                    got = H.activate_through_a_kill(
                        server, engine, lic.key, lic.product, lic.id, tdb.workdir / "state"
                    )
                    live = [r for r in got.rows if r[1] is None]
                    kills.append(
                        marker.exists()
                        and got.sdk_valid
                        and live == [(got.sdk_activation_id, None)]
                        and got.seats_used == 1
                    )
                    engine.dispose()
        out(
            f"- Worker SIGKILLed {point.replace('_', ' ')} of an activation "
            f"(LICSERVER_FAULT_POINT={point}), {args.kills} runs: the SDK's retry ended with "
            f"one live row, the SDK's activation id and seats_used = 1 in {sum(kills)}/"
            f"{len(kills)} ({check(all(kills), f'kill {point}')})."
        )
    # lost answers
    with database(backend) as (tdb, factory), servers(tdb, 1, 4) as (server,):
        engine = H.engine_for(tdb.url)
        lic = factory.license(seats=args.lossy_clients)
        proxy = RandomLosingProxy(server.url, share=0.3, seed=int(time.time()))
        try:
            got = H.sdks_through_losses(
                proxy.url,
                H.public_keys(server.url),
                engine,
                lic.key,
                lic.product,
                lic.id,
                tdb.workdir / "states",
                clients=args.lossy_clients,
                parallel=10,
            )
        finally:
            proxy.close()
        ok = got.converged == got.clients and got.live_rows == got.seats_used == got.clients
        out(
            f"- 30% of answers lost by a loopback proxy (after the server answered): "
            f"{args.lossy_clients} SDKs (retries=3), 10 at a time, each activating then checking"
            f" in: {got.converged}/{got.clients} converged; the proxy lost {proxy.lost} of "
            f"{proxy.connections} answers; seats used {got.seats_used} = active rows "
            f"{got.live_rows} = distinct installations {got.clients}: "
            f"{check(ok, 'lossy')}" + (f"; failures: {got.failures[:3]}" if got.failures else ".")
        )
        engine.dispose()
    # redis down
    cmd_redis_down(backend)
    if backend == "sqlite":
        with database(backend) as (tdb, _):
            full = disk_full_run(tdb.workdir, tdb, max_activations=5000, headroom=1024 * 1024)
        ok = (
            full.first_failure_status == 503
            and full.other_statuses == {}
            and full.live_rows == full.seats_used == full.created == full.created_events
            and full.integrity == "ok"
        )
        out(
            f"- SQLite disk full (RLIMIT_FSIZE = database size + {full.headroom_bytes // 1024} "
            f"KiB in the worker): {full.created} activations answered 201, then "
            f"{full.first_failure_status} {full.first_failure_code} ({full.failures} tried); "
            f"after: active rows {full.live_rows}, seats_used {full.seats_used}, "
            f"activation.created events {full.created_events}, integrity_check "
            f"'{full.integrity}', validate still answers: {full.readable_after}: "
            f"{check(ok, 'disk full')}."
        )
    out()


def cmd_redis_down(backend: str) -> None:
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    with database(backend) as (tdb, factory):
        store = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""],
            cwd=tdb.workdir,
            stdout=subprocess.DEVNULL,
        )
        try:
            wait_port(port)
            env = {"LICSERVER_RATE_LIMITS": "on", "LICSERVER_REDIS_URL": url}
            with servers(tdb, 1, 2, env=env, ready_path="/healthz") as (server,):
                lic = factory.license(seats=5)
                body = H.activation_body({"license_key": lic.key}, "redis-install-1", "R")
                results: dict[str, tuple[int, str, float]] = {}
                with httpx.Client(base_url=server.url, timeout=30) as http:
                    http.post("/api/v1/activations", json=body)
                    store.kill()
                    store.wait()
                    calls: dict[str, Callable[[], httpx.Response]] = {
                        "POST /api/v1/activations": lambda: http.post(
                            "/api/v1/activations", json=body
                        ),
                        "POST /api/v1/validate": lambda: http.post("/api/v1/validate", json=body),
                        "GET /api/v1/keys": lambda: http.get("/api/v1/keys"),
                        "GET /healthz": lambda: http.get("/healthz"),
                    }
                    for name, call in calls.items():
                        start = time.monotonic()
                        r = call()
                        results[name] = (
                            r.status_code,
                            r.headers.get("content-type", ""),
                            time.monotonic() - start,
                        )
                    store = subprocess.Popen(
                        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""],
                        cwd=tdb.workdir,
                        stdout=subprocess.DEVNULL,
                    )
                    wait_port(port)
                    back = http.post("/api/v1/activations", json=body).status_code
        finally:
            store.kill()
            store.wait()
    closed = all(
        s == 503 and c.startswith("application/problem+json") and t < 1.5
        for n, (s, c, t) in results.items()
        if n != "GET /healthz"
    )
    listing = "; ".join(f"{n} → {s} in {t * 1000:.0f} ms" for n, (s, _, t) in results.items())
    out(
        f"- Redis (a private redis-server) killed under a running server: {listing}; "
        f"rate-limited endpoints fail closed with 503 problem+json within 1 s: "
        f"{check(closed, 'redis down')}; Redis restarted: activation answers {back} "
        f"({check(back == 200, 'redis back')}) without a licserver restart."
    )


# ---- fuzzing -------------------------------------------------------------------------


def cmd_fuzz(backend: str, args: argparse.Namespace) -> None:
    from tests.reliability.fuzz import run_schemathesis

    out(f"### schemathesis — {backend}")
    out()
    with (
        database(backend) as (tdb, _),
        servers(tdb, 1, 2, config=True) as (server,),
    ):
        from licserver.extensions import db
        from licserver.services import tokens

        _, token = tokens.create(db.session(), "fuzz", "full")
        for who, tok in (("anonymous", None), ("admin token", token)):
            res = run_schemathesis(
                server.url,
                tok,
                max_examples=args.max_examples,
                max_time=args.fuzz_time,
                workdir=tdb.workdir,
            )
            out(
                f"- {who}: `{res.command}` — {res.summary} "
                f"({check(res.ok, f'schemathesis {who} {backend}')})"
            )
    out()


# ---- token parsers (hypothesis) --------------------------------------------------------


def cmd_tokens(args: argparse.Namespace) -> None:
    out("### Signed-token parsers (hypothesis, full profile)")
    out()
    test = "tests/reliability/test_token_properties.py"
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test],
        cwd=ROOT,
        env={**os.environ, "RELIABILITY_HYPOTHESIS": "full"},
        capture_output=True,
        text=True,
    )
    last = (proc.stdout.strip().splitlines() or [""])[-1]
    out(
        f"- `RELIABILITY_HYPOTHESIS=full pytest {test}`: 5,000 examples per mutation kind "
        f"(8 kinds) and per round trip, server and SDK: {last} in "
        f"{time.monotonic() - start:.0f} s ({check(proc.returncode == 0, 'tokens')})."
    )
    if proc.returncode:
        out(proc.stdout[-4000:])
    out()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("command", choices=["load", "faults", "pg-restart", "tokens", "fuzz", "all"])
    p.add_argument("--db", default="sqlite,postgresql", help="comma-separated backends")
    p.add_argument("--repeat", type=int, default=20, help="seat-race rounds")
    p.add_argument("--churn-rounds", type=int, default=50, help="per churn client")
    p.add_argument("--kills", type=int, default=3, help="runs per fault point")
    p.add_argument("--lossy-clients", type=int, default=50)
    p.add_argument("--checkin-clients", type=int, default=20)
    p.add_argument("--downtime", type=float, default=3.0, help="seconds PostgreSQL stays down")
    p.add_argument("--max-examples", type=int, default=100, help="schemathesis, per operation")
    p.add_argument("--fuzz-time", type=int, default=150, help="schemathesis seconds per run")
    p.add_argument("--json", action="store_true", help="also print the failures as JSON")
    args = p.parse_args(argv)
    backends = [b.strip() for b in args.db.split(",") if b.strip()]
    out(f"_{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {machine()}._")
    out()
    started = time.monotonic()
    for backend in backends:
        if args.command in ("load", "all"):
            cmd_load(backend, args)
        if args.command in ("faults", "all"):
            cmd_faults(backend, args)
        if args.command in ("fuzz", "all"):
            cmd_fuzz(backend, args)
    if args.command in ("pg-restart", "all"):
        cmd_pg_restart(args)
    if args.command in ("tokens", "all"):
        cmd_tokens(args)
    out(f"_{time.monotonic() - started:.0f} s in all; misses: {FAILED or 'none'}._")
    if args.json:
        out(json.dumps(FAILED))
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
