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
import platform
import re
import shlex
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bench import import_speed, pages, sdk_status

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LUA_DIR = ROOT / "bench" / "wrk"
DOC = ROOT / "docs" / "performance.md"
BEGIN_MARK = "<!-- bench:begin (written by `make bench`; edits here are overwritten) -->"
END_MARK = "<!-- bench:end -->"
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
RESULT_RE = re.compile(r"^BENCH_RESULT (\{.*\})$", re.MULTILINE)
LISTENING_RE = re.compile(r"Listening at: http://127\.0\.0\.1:(\d+)")
GUNICORN_MAJOR = int(version("gunicorn").split(".")[0])


# ---- scenarios ---------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    script: str
    writes_seats: bool = False


FLOOR = Scenario("healthz", "GET /healthz (floor)", "healthz.lua")
SCENARIOS = [
    FLOOR,
    Scenario("activate", "activate, random licence", "activate.lua", writes_seats=True),
    Scenario("activate_one", "activate, all on one licence", "activate.lua", writes_seats=True),
    Scenario("validate", "validate", "validate.lua"),
    Scenario("checkin", "check-in", "checkin.lua"),
    Scenario("updates", "update check, 1,000 releases", "updates.lua"),
]
RELEASES = 1_000


@dataclass
class Run:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


@dataclass
class Figures:
    """The median of a scenario's runs."""

    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    runs: list[Run]

    @classmethod
    def of(cls, runs: list[Run]) -> Figures:
        return cls(
            rps=statistics.median(r.rps for r in runs),
            p50_ms=statistics.median(r.p50_ms for r in runs),
            p99_ms=statistics.median(r.p99_ms for r in runs),
            errors=sum(r.errors for r in runs),
            runs=runs,
        )


@dataclass
class SetResult:
    """One database, one data set."""

    backend: str
    size: str
    figures: dict[str, Figures] = field(default_factory=dict)
    floor_rss_kib: int = 0
    peak_rss_kib: int = 0
    seat_checks: list[str] = field(default_factory=list)  # problems found; empty: all good
    activations_checked: int = 0
    load: dict[str, Any] | None = None
    # scenario -> {category: µs per request in one worker}, from py-spy
    profiles: dict[str, dict[str, float]] = field(default_factory=dict)
    # console page -> median ms (bench/pages.py); the dashboard's refresh in s
    pages: dict[str, float] = field(default_factory=dict)
    dashboard_refresh_s: float = 0.0
    events: int = 0


# ---- settings ----------------------------------------------------------------


@dataclass
class Settings:
    workers: int
    connections: int
    threads: int
    duration: float
    warmup: float
    runs: int
    backends: list[str]
    sizes: list[str]
    scenarios: list[Scenario]
    licences: int  # scenario licences (random-licence activation, validate, check-in)
    live_per_licence: int
    small_licences: int
    bulk_licences: int
    bulk_per_licence: int
    profile: bool
    pages: bool
    page_runs: int
    sdk: bool
    doc: Path | None
    json_out: Path | None
    keep: bool
    command: str


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


def say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---- database and server -----------------------------------------------------


@contextmanager
def bench_database(backend: str, workdir: Path, keep: bool) -> Iterator[str]:
    """A new, empty database; dropped at the end unless ``keep``."""
    if backend == "sqlite":
        yield f"sqlite:///{workdir / 'bench.db'}"
        return
    import psycopg

    name = f"licserver_bench_{os.getpid()}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        if not keep:
            with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def server_env(url: str, workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LICSERVER_")}
    env.update(
        LICSERVER_DATABASE_URL=url,
        LICSERVER_KEYS_DIR=str(workdir / "keys"),
        LICSERVER_INSTANCE_DIR=str(workdir / "instance"),
        LICSERVER_SECRET_KEY="bench-secret",
        LICSERVER_RATE_LIMITS="off",
    )
    return env


class Server:
    """gunicorn as the README deploys it: sync workers, access log to a file."""

    def __init__(self, env: dict[str, str], workers: int, logdir: Path) -> None:
        logdir.mkdir(parents=True, exist_ok=True)
        self.log_path = logdir / "gunicorn.log"
        self._log = open(self.log_path, "ab")  # closed in stop()
        self.process = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "--bind",
                "127.0.0.1:0",
                "--workers",
                str(workers),
                "--timeout",
                "30",
                "--access-logfile",
                str(logdir / "access.log"),
                *(["--no-control-socket"] if GUNICORN_MAJOR >= 27 else []),
                "licserver:create_app()",
            ],
            cwd=logdir,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.workers = workers
        self.url = ""
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.log_path.read_text()[-3000:]}")
            if not self.url:
                found = LISTENING_RE.search(self.log_path.read_text(errors="replace"))
                if found:
                    self.url = f"http://127.0.0.1:{found.group(1)}"
            if self.url and len(self.worker_pids()) == self.workers:
                try:
                    # /healthz, not /readyz: the floor's worker must not have touched the database
                    with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as r:
                        if r.status == 200:
                            return
                except OSError:
                    pass
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn not ready:\n{self.log_path.read_text()[-3000:]}")

    def worker_pids(self) -> list[int]:
        pid = self.process.pid
        try:
            text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
        except OSError:
            return []
        return [int(x) for x in text.split()]

    def peak_rss_kib(self) -> int:
        """The largest VmHWM (peak resident set) among the workers."""
        peak = 0
        for pid in self.worker_pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
            if found:
                peak = max(peak, int(found.group(1)))
        return peak

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def run_init(env: dict[str, str], workdir: Path) -> None:
    """``licserver init``, as a user sets up: schema, signing key, data key."""
    subprocess.run(
        [str(BIN / "licserver"), "init"], env=env, cwd=workdir, check=True, capture_output=True
    )


# ---- wrk ---------------------------------------------------------------------


def wrk(
    s: Settings, url: str, scenario: Scenario, data: Path | None, seconds: float, tag: str
) -> Run:
    env = dict(os.environ, BENCH_LUA_DIR=str(LUA_DIR), BENCH_DATA=str(data or ""), BENCH_RUN=tag)
    cmd = [
        "wrk",
        "-t",
        str(s.threads),
        "-c",
        str(s.connections),
        "-d",
        f"{seconds:g}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA_DIR / scenario.script),
        url,
    ]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=seconds + 120)
    found = RESULT_RE.search(out.stdout)
    if out.returncode != 0 or not found:
        raise RuntimeError(f"wrk failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    r = json.loads(found.group(1))
    errors = sum(
        r[k]
        for k in (
            "connect_errors",
            "read_errors",
            "write_errors",
            "timeouts",
            "status_errors",
        )
    )
    return Run(
        rps=r["requests"] / (r["duration_us"] / 1e6),
        p50_ms=r["p50_us"] / 1000,
        p99_ms=r["p99_us"] / 1000,
        requests=r["requests"],
        errors=errors,
    )


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


# ---- the report --------------------------------------------------------------


def machine() -> dict[str, str]:
    def sh(*cmd: str) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
        except OSError:
            return "?"

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "?",
    )
    os_name = "?"
    if Path("/etc/os-release").exists():
        m = re.search(r'^PRETTY_NAME="?([^"\n]*)', Path("/etc/os-release").read_text(), re.M)
        os_name = m.group(1) if m else "?"
    pg = "?"
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, connect_timeout=5) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            pg = str(row[0]) if row else "?"
    except Exception:  # the report still gets written without PostgreSQL
        pass
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": sh("nproc"),
        "cpu": cpu,
        "memory": sh("free", "-h"),
        "os": f"{os_name}, Linux {platform.release()}",
        "load": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
        "versions": ", ".join(
            [
                f"Python {platform.python_version()}",
                *(f"{p} {version(p)}" for p in ("gunicorn", "Flask", "SQLAlchemy", "psycopg")),
                f"cryptography {version('cryptography')}",
                f"PostgreSQL {pg}",
                f"SQLite {sqlite3.sqlite_version}",
                sh("wrk", "--version").splitlines()[0].split(" Copyright")[0]
                if shutil.which("wrk")
                else "wrk ?",
            ]
        ),
    }


def _ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


@dataclass
class Target:
    label: str
    value: str
    goal: str
    met: bool | None  # None: not measured


ACTIVATION_FLOOR = {"postgresql": 0.30, "sqlite": 0.45}
VALIDATE_FLOOR = {"postgresql": 0.55, "sqlite": 0.70}


def targets(results: list[SetResult], sdk: dict[str, Any]) -> list[Target]:
    """The issue's seven targets, as far as this run measured them."""
    out: list[Target] = []
    by = {(r.backend, r.size): r for r in results}

    def fig(r: SetResult | None, name: str) -> Figures | None:
        return r.figures.get(name) if r is not None else None

    for backend in ("postgresql", "sqlite"):
        r = by.get((backend, "small")) or by.get((backend, "large"))
        floor = fig(r, "healthz")
        if r is None or floor is None:
            continue
        for n, name, goal in (
            (1, "activate", ACTIVATION_FLOOR[backend]),
            (2, "validate", VALIDATE_FLOOR[backend]),
        ):
            f = fig(r, name)
            if f is not None:
                x = _ratio(f.rps, floor.rps)
                out.append(
                    Target(
                        f"{n}. {backend}: {name} / floor", f"{x:.0%}", f"≥ {goal:.0%}", x >= goal
                    )
                )
        up, val = fig(r, "updates"), fig(r, "validate")
        if up is not None:  # issue 16: the update check's ratio ≥ validate's, same run
            x = _ratio(up.rps, floor.rps)
            goal = _ratio(val.rps, floor.rps) if val is not None else VALIDATE_FLOOR[backend]
            out.append(
                Target(f"8. {backend}: updates / floor", f"{x:.0%}", f"≥ {goal:.0%}", x >= goal)
            )
    for r in results:
        for name in ("activate", "activate_one", "validate"):
            f = fig(r, name)
            if f is not None:
                x = _ratio(f.p99_ms, f.p50_ms)
                out.append(
                    Target(f"3. {r.backend}/{r.size}: {name} p99 / p50", f"{x:.2f}", "≤ 3", x <= 3)
                )
    for r in results:
        one, rnd = fig(r, "activate_one"), fig(r, "activate")
        if one is not None and rnd is not None:
            x = _ratio(one.rps, rnd.rps)
            out.append(
                Target(
                    f"4. {r.backend}/{r.size}: one licence / random licences",
                    f"{x:.0%}",
                    "≥ 70%",
                    x >= 0.7,
                )
            )
        if one is not None or rnd is not None:
            out.append(
                Target(
                    f"4. {r.backend}/{r.size}: seats over the limit (counted after each run)",
                    "none" if not r.seat_checks else "; ".join(r.seat_checks),
                    f"none ({r.activations_checked:,} live activations counted)",
                    not r.seat_checks,
                )
            )
    for backend in ("postgresql", "sqlite"):
        small, large = by.get((backend, "small")), by.get((backend, "large"))
        fs0, fl0 = fig(small, "healthz"), fig(large, "healthz")
        if fs0 is None or fl0 is None:
            continue
        for name in ("activate", "activate_one", "validate", "checkin", "updates"):
            fs, fl = fig(small, name), fig(large, name)
            if fs is None or fl is None:
                continue
            # each set's req/s over its own floor, so that a busier spell of the machine
            # during one set does not pass for an effect of the data; raw alongside
            thr = _ratio(fl.rps / fl0.rps, fs.rps / fs0.rps)
            raw = _ratio(fl.rps, fs.rps)
            p99 = _ratio(fl.p99_ms, fs.p99_ms)
            out.append(
                Target(
                    f"5. {backend}: {name}, large / small",
                    f"req/s {thr:.0%} (raw {raw:.0%}), p99 {p99:.0%}",
                    "req/s ≥ 90%, p99 ≤ 110%",
                    thr >= 0.9 and p99 <= 1.1,
                )
            )
    for r in results:
        if r.floor_rss_kib:
            x = _ratio(r.peak_rss_kib, r.floor_rss_kib)
            out.append(
                Target(
                    f"6. {r.backend}/{r.size}: worker peak RSS / the floor's worker",
                    f"{x:.2f} ({r.peak_rss_kib / 1024:.0f} / {r.floor_rss_kib / 1024:.0f} MiB)",
                    "≤ 2.5",
                    x <= 2.5,
                )
            )
    out += page_targets(by)
    for label, value, goal, met in sdk_status.targets(sdk, 7) if sdk else []:
        out.append(Target(label, value, goal, met))
    return out


PAGE_GOAL = 3.0  # issue 14: each console page on the 1M set within 3x the small set


def page_targets(by: dict[tuple[str, str], SetResult]) -> list[Target]:
    out = []
    for backend in ("postgresql", "sqlite"):
        small, large = by.get((backend, "small")), by.get((backend, "large"))
        if small is None or large is None:
            continue
        for name, ms in small.pages.items():
            big = large.pages.get(name)
            if big is None:
                continue
            x = _ratio(big, ms)
            out.append(
                Target(
                    f"14. {backend}: {name}, large / small",
                    f"{x:.2f}× ({big:.0f} / {ms:.0f} ms)",
                    f"≤ {PAGE_GOAL:g}×",
                    x <= PAGE_GOAL,
                )
            )
    return out


def page_report(results: list[SetResult]) -> list[str]:
    """The console pages' table (bench/pages.py), when they were timed."""
    timed = [r for r in results if r.pages]
    if not timed:
        return []
    lines = [
        "",
        "Console pages (bench/pages.py: one logged-in client, one request at a time, "
        "the median; after `licserver dashboard refresh`, as cron runs it):",
        "",
        "| database | data set | events | dashboard refresh s | "
        + " | ".join(f"{p.title} ms" for p in pages.pages("<small-set product>"))
        + " |",
        "|---|---|--:|--:|" + "--:|" * len(pages.pages("")),
    ]
    for r in timed:
        cells = [f"{r.pages[p.name]:.0f}" for p in pages.pages("") if p.name in r.pages]
        lines.append(
            f"| {r.backend} | {r.size} | {r.events:,} | {r.dashboard_refresh_s:.1f} | "
            + " | ".join(cells)
            + " |"
        )
    return lines


def report(s: Settings, results: list[SetResult], sdk: dict[str, Any], env: dict[str, str]) -> str:
    lines = [
        f"Measured {env['date']} with `{s.command}`: gunicorn with {s.workers} sync workers "
        f"(access log on, as the README deploys it), wrk with {s.threads} thread(s) and "
        f"{s.connections} connections on loopback, `LICSERVER_RATE_LIMITS=off`; "
        f"{s.runs} run(s) of {s.duration:g} s per scenario, taken in rounds, the median shown. "
        "Server, database and wrk share the machine, and other work ran on it: the absolute "
        "figures move from run to run, the ratios much less. All figures here come from "
        "this one run.",
        "",
        f"Machine: {env['nproc']} CPUs ({env['cpu']}); {env['os']}; load average at the "
        f"start {env['load']}.  ",
        f"Versions: {env['versions']}.",
        "",
        "```",
        env["memory"],
        "```",
        "",
        "| database | data set | scenario | req/s | p50 ms | p99 ms | p99/p50 | / floor | errors |",
        "|---|---|---|--:|--:|--:|--:|--:|--:|",
    ]
    for r in results:
        floor = r.figures.get("healthz")
        for sc in SCENARIOS:
            f = r.figures.get(sc.name)
            if f is None:
                continue
            lines.append(
                f"| {r.backend} | {r.size} | {sc.title} | {f.rps:.0f} | {f.p50_ms:.2f} | "
                f"{f.p99_ms:.2f} | {_ratio(f.p99_ms, f.p50_ms):.2f} | "
                f"{_ratio(f.rps, floor.rps) if floor else float('nan'):.0%} | {f.errors} |"
            )
    lines += [
        "",
        "Targets (issue 7):",
        "",
        "| target | measured | goal | met |",
        "|---|---|---|---|",
    ]
    for t in targets(results, sdk):
        met = "–" if t.met is None else ("yes" if t.met else "**no**")
        lines.append(f"| {t.label} | {t.value} | {t.goal} | {met} |")
    lines += page_report(results)
    lines += ["", "Worker peak RSS (VmHWM of the largest worker):", ""]
    for r in results:
        lines.append(
            f"- {r.backend}/{r.size}: {r.peak_rss_kib / 1024:.0f} MiB after every scenario, "
            f"{r.floor_rss_kib / 1024:.0f} MiB after `/healthz` only"
        )
    lines += ["", "Data sets (bench/data.py):", ""]
    for r in results:
        if r.load:
            lines.append(
                f"- {r.backend}, large: {r.load['licences']:,} licences and "
                f"{r.load['activations']:,} activations of {r.load['customers']:,} customers "
                f"loaded in {r.load['seconds']:.1f} s (+{r.load['analyze_seconds']:.1f} s "
                f"{'VACUUM ANALYZE, CHECKPOINT' if r.backend == 'postgresql' else 'ANALYZE'}), "
                "on top of "
                "the small set"
            )
    lines.append(
        f"- small: {s.licences + 1} licences and {s.licences * s.live_per_licence} activations "
        "made through the services (the rows the scenarios use), among "
        f"{s.small_licences:,} licences and {s.small_licences * s.bulk_per_licence:,} "
        "activations loaded around them"
    )
    profiled = [r for r in results if r.profiles]
    if profiled:
        lines += [
            "",
            "Where a worker's time goes, in µs per request (py-spy sampling one worker "
            "during one more run of each scenario, after the measured ones; its time "
            "waiting for the next connection left out; bench/profile.py). Time waiting "
            "for the CPU counts where the wait began (mostly in socket writes, the "
            "database and the write turn):",
            "",
        ]
        names = [sc.name for sc in SCENARIOS if any(sc.name in r.profiles for r in profiled)]
        for r in profiled:
            cats: list[str] = []
            for name in names:
                for cat in sorted(r.profiles.get(name, {}), key=lambda c: -r.profiles[name][c]):
                    if cat not in cats:
                        cats.append(cat)
            lines.append(f"| {r.backend}/{r.size}, µs per request | " + " | ".join(names) + " |")
            lines.append("|---|" + "--:|" * len(names))
            for cat in cats:
                cells = []
                for name in names:
                    us = r.profiles.get(name, {}).get(cat)
                    cells.append(f"{us:.0f}" if us is not None and us >= 5 else "")
                if any(cells):
                    lines.append(f"| {cat} | " + " | ".join(cells) + " |")
            totals = [f"**{sum(r.profiles.get(n, {}).values()):.0f}**" for n in names]
            lines.append("| **total** | " + " | ".join(totals) + " |")
            lines.append("")
    if sdk:
        lines += ["", "The SDKs' offline status check (bench/sdk_status.py):"]
        lines += sdk_status.report(sdk)
    return "\n".join(lines)


def write_doc(path: Path, body: str) -> None:
    block = f"{BEGIN_MARK}\n{body}\n{END_MARK}"
    if path.exists():
        text = path.read_text()
        if BEGIN_MARK in text and END_MARK in text:
            head, rest = text.split(BEGIN_MARK, 1)
            _, tail = rest.split(END_MARK, 1)
            path.write_text(head + block + tail)
            return
        path.write_text(text.rstrip() + "\n\n## Latest run\n\n" + block + "\n")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"# Performance\n\n## Latest run\n\n{block}\n")


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
