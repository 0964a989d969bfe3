"""One database, one data set: load the rows, start gunicorn, run the scenarios
(and the console pages and the profile) against it."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench import pages
from bench.cases import FLOOR, RELEASES, Figures, Run, SetResult, Settings, say, wrk
from bench.launcher import BIN, Server, bench_database, run_init, server_env

# ---- one database, one data set ----------------------------------------------


@dataclass
class DataFiles:
    """One file per scenario for the Lua scripts: tab-separated rows."""

    by_scenario: dict[str, Path]

    @classmethod
    def write(cls, rows: Any, folder: Path) -> DataFiles:
        folder.mkdir(parents=True, exist_ok=True)
        contents = {
            "activate": [[k] for k in rows.random_keys],
            "activate_one": [[rows.hot_key]],
            "validate": [list(v) for v in rows.validate],
            "checkin": [list(c) for c in rows.checkin],
            "updates": [list(c) for c in rows.checkin],
        }
        paths = {}
        for name, lines in contents.items():
            path = folder / f"{name}.tsv"
            path.write_text("".join("\t".join(line) + "\n" for line in lines))
            paths[name] = path
        return cls(paths)


def measure_set(
    s: Settings,
    result: SetResult,
    server: Server,
    files: DataFiles,
    seat_check: Callable[[], Any],
) -> None:
    say(f"  warming up ({s.warmup:g} s per scenario)")
    wrk(s, server.url, FLOOR, None, s.warmup, "warm")
    # The floor's worker: the whole app loaded, only /healthz served.
    result.floor_rss_kib = server.peak_rss_kib()
    for sc in s.scenarios[1:]:
        wrk(s, server.url, sc, files.by_scenario[sc.name], s.warmup, f"warm{sc.name}")
    runs: dict[str, list[Run]] = {sc.name: [] for sc in s.scenarios}
    before = seat_check()
    for n in range(s.runs):
        # Rounds rather than one scenario after the other: a slow spell on the
        # machine then touches every scenario alike, not only one.
        for sc in s.scenarios:
            run = wrk(
                s,
                server.url,
                sc,
                files.by_scenario.get(sc.name),
                s.duration,
                f"r{n}{sc.name}{os.getpid()}",
            )
            runs[sc.name].append(run)
            line = (
                f"  {result.backend}/{result.size} {sc.name:<13} run {n + 1}: "
                f"{run.rps:8.1f} req/s  p50 {run.p50_ms:6.2f} ms  p99 {run.p99_ms:6.2f} ms"
            )
            if run.errors:
                line += f"  {run.errors} ERRORS"
            if sc.writes_seats:
                after = seat_check()
                made = after.live_activations - before.live_activations
                if after.over_limit:
                    result.seat_checks.append(f"over the seat limit: {after.over_limit}")
                if after.miscounted:
                    result.seat_checks.append(f"seats_used wrong: {after.miscounted}")
                if made < run.requests:
                    result.seat_checks.append(
                        f"{sc.name}: {run.requests} answers but only {made} new activations"
                    )
                result.activations_checked = after.live_activations
                line += f"  (+{made} activations, seats checked)"
                before = after
            say(line)
    result.figures = {name: Figures.of(r) for name, r in runs.items()}
    result.peak_rss_kib = server.peak_rss_kib()
    if s.profile:
        # every set: the large set's profile beside the small one's is target 5's evidence
        profile_set(s, result, server, files)


def profile_set(s: Settings, result: SetResult, server: Server, files: DataFiles) -> None:
    """One more run of each scenario with py-spy sampling a worker (not measured):
    where a request's time goes, in µs per request, by what the code belongs to."""
    from bench import profile

    for sc in s.scenarios:
        out = server.log_path.parent / f"profile-{sc.name}.txt"
        sampler = threading.Thread(
            target=profile.record, args=(server.worker_pids()[0], s.duration, out)
        )
        sampler.start()
        time.sleep(0.2)  # py-spy attached before the load starts
        try:
            run = wrk(s, server.url, sc, files.by_scenario.get(sc.name), s.duration, f"p{sc.name}")
        finally:
            sampler.join()
        try:
            shares = profile.summarise(out)
        except OSError:
            say(f"  no profile of {sc.name} (py-spy missing, or not allowed to attach)")
            return
        # the sampled worker served about 1/workers of the requests
        us_per_request = s.workers / run.rps * 1e6
        result.profiles[sc.name] = {
            cat: share * us_per_request for cat, share in shares.items() if cat != profile.IDLE
        }
        top = sorted(result.profiles[sc.name].items(), key=lambda kv: -kv[1])[:3]
        say(
            f"  profile {result.backend}/{result.size} {sc.name}: "
            + ", ".join(f"{us:.0f} µs {cat}" for cat, us in top)
        )


def small_product(app: Any) -> str:
    """The code of the small set's first bulk product (a tenth of its licences)."""
    from sqlalchemy import select

    from licserver.extensions import db
    from licserver.models import Product

    with app.app_context():
        code = db.session.scalar(
            select(Product.code).where(Product.code.like("bulk-%")).order_by(Product.id).limit(1)
        )
        db.session.remove()
    return str(code)


def prepare_pages(
    app: Any, env: dict[str, str], workdir: Path, result: SetResult, seen: int
) -> int:
    """Before a set's console pages are timed: a history of events for the
    licences loaded since the last set (licence ids above ``seen``), the staff
    account (first time), and the dashboard's stored figures taken as cron
    would (``licserver dashboard refresh``, timed). Returns the highest licence id."""
    from sqlalchemy import func, select

    from bench import dashboard as dash
    from licserver.extensions import db
    from licserver.models import Event, License

    t0 = time.monotonic()
    made = dash.add_events(app, after_id=seen)
    with app.app_context():
        top = int(db.session.scalar(select(func.max(License.id))) or 0)
        result.events = int(db.session.scalar(select(func.count()).select_from(Event)) or 0)
        db.session.remove()
    say(f"{result.backend}: {made:,} events added in {time.monotonic() - t0:.1f} s")
    if not seen:
        pages.make_staff(BIN / "licserver", env, workdir)
    t0 = time.monotonic()
    subprocess.run(
        [str(BIN / "licserver"), "dashboard", "refresh"],
        env=env,
        cwd=workdir,
        check=True,
        capture_output=True,
    )
    result.dashboard_refresh_s = time.monotonic() - t0
    say(f"{result.backend}/{result.size}: dashboard refresh {result.dashboard_refresh_s:.1f} s")
    return top


def bench_backend(s: Settings, backend: str, root: Path) -> list[SetResult]:
    from bench import data
    from licserver import create_app

    workdir = root / backend
    workdir.mkdir(parents=True)
    results = []
    with bench_database(backend, workdir, s.keep) as url:
        env = server_env(url, workdir)
        say(f"{backend}: licserver init")
        run_init(env, workdir)
        os.environ["LICSERVER_INSTANCE_DIR"] = env["LICSERVER_INSTANCE_DIR"]
        app = create_app(
            {
                "DATABASE_URL": url,
                "KEYS_DIR": env["LICSERVER_KEYS_DIR"],
                "SECRET_KEY": "bench-secret",
                "RATE_LIMITS": "off",
            }
        )
        t0 = time.monotonic()
        rows = data.make_scenario_rows(app, s.licences, s.live_per_licence)
        say(
            f"{backend}: {s.licences + 1} licences and {len(rows.checkin)} activations made "
            f"through the services in {time.monotonic() - t0:.1f} s"
        )
        files = DataFiles.write(rows, workdir / "data")
        data.make_releases(app, RELEASES)
        say(f"{backend}: {RELEASES:,} releases of the scenario product")
        # Around the scenario rows, a small data set of its own size: the planner
        # then sees tables of some size from the start (see docs/performance.md).
        rep = data.bulk_load(app, s.small_licences, s.bulk_per_licence)
        say(
            f"{backend}: small data set: {rep.licences:,} licences and {rep.activations:,} "
            f"activations loaded in {rep.seconds:.1f} s"
        )

        def seat_check() -> Any:
            return data.check_seats(app, rows.license_ids)

        product_code = small_product(app) if s.pages else ""
        events = 0

        for size in ("small", "large"):
            if size == "large" and "large" in s.sizes:
                say(
                    f"{backend}: loading {s.bulk_licences:,} licences and "
                    f"{s.bulk_licences * s.bulk_per_licence:,} activations"
                )
                rep = data.bulk_load(app, s.bulk_licences, s.bulk_per_licence)
                say(
                    f"{backend}: loaded in {rep.seconds:.1f} s "
                    f"(+{rep.analyze_seconds:.1f} s statistics)"
                )
            if size not in s.sizes:
                continue
            result = SetResult(backend, size)
            if size == "large":
                result.load = asdict(rep)
            if s.pages:
                events = prepare_pages(app, env, workdir, result, events)
            say(f"{backend}/{size}: gunicorn, {s.workers} sync workers")
            server = Server(env, s.workers, workdir / f"server-{size}")
            try:
                if s.pages:
                    result.pages = pages.time_pages(server.url, product_code, s.page_runs)
                    say(
                        f"  {backend}/{size} pages (median of {s.page_runs}): "
                        + ", ".join(f"{k} {v:.0f} ms" for k, v in result.pages.items())
                    )
                measure_set(s, result, server, files, seat_check)
            finally:
                server.stop()
            results.append(result)
    return results
