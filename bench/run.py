"""``make bench``: the server as users deploy it, measured with wrk.

For each database (SQLite, PostgreSQL) and data set (small; then 1,000,000
licences and 3,000,000 activations more), it starts gunicorn with sync
workers and rate limits off, and runs each scenario (``/healthz``, activation
on random licences, activation all on one licence, validate, check-in) for a
few seconds, three rounds in turn; it reports the median req/s, p50 and p99 of
each, the ratios of the issue's targets, and each worker's peak RSS. After
every activation run it counts the live activations in the database: no
licence may be over its seat limit, and each new request must have made a new
activation. The table goes to stdout and into ``docs/performance.md``
(between its ``bench`` markers), with the machine and the command.

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
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LUA_DIR = ROOT / "bench" / "wrk"
DOC = ROOT / "docs" / "performance.md"
STATUS_BENCH = ROOT / "bench" / "status_bench.py"
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
]


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
    p.add_argument("--bulk", type=int, help="licences in the large set (default 1000000)")
    p.add_argument("--quick", action="store_true", help="short runs, a 20,000-licence large set")
    p.add_argument("--doc", type=Path, help=f"write the results here (default {DOC}; not --quick)")
    p.add_argument("--no-doc", action="store_true", help="do not write docs/performance.md")
    p.add_argument("--json", type=Path, help="also write every figure as JSON here")
    p.add_argument("--keep", action="store_true", help="keep the databases and server logs")
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
        doc=doc,
        json_out=a.json,
        keep=a.keep,
        command="python -m bench.run " + " ".join(shlex.quote(x) for x in argv)
        if argv
        else "make bench",
    )


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
        # Around the scenario rows, a small data set of its own size: the planner
        # then sees tables of some size from the start (see docs/performance.md).
        rep = data.bulk_load(app, s.small_licences, s.bulk_per_licence)
        say(
            f"{backend}: small data set: {rep.licences:,} licences and {rep.activations:,} "
            f"activations loaded in {rep.seconds:.1f} s"
        )

        def seat_check() -> Any:
            return data.check_seats(app, rows.license_ids)

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
            say(f"{backend}/{size}: gunicorn, {s.workers} sync workers")
            server = Server(env, s.workers, workdir / f"server-{size}")
            try:
                measure_set(s, result, server, files, seat_check)
            finally:
                server.stop()
            results.append(result)
    return results


# ---- the SDK's status() ------------------------------------------------------


def status_bench() -> dict[str, Any]:
    """Runs bench/status_bench.py (the SDK's own benchmark) when it exists."""
    if not STATUS_BENCH.exists():
        return {"missing": True}
    out = subprocess.run(
        [sys.executable, str(STATUS_BENCH)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    found = RESULT_RE.search(out.stdout)
    parsed: dict[str, Any] = json.loads(found.group(1)) if found else {}
    if "ratio" not in parsed:
        m = re.search(r"ratio\D{0,20}?([0-9]+(?:\.[0-9]+)?)", out.stdout, re.IGNORECASE)
        if m:
            parsed["ratio"] = float(m.group(1))
    parsed["output"] = (out.stdout + out.stderr).strip()
    parsed["returncode"] = out.returncode
    return parsed


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


def targets(results: list[SetResult], sdk: dict[str, Any]) -> list[Target]:
    out: list[Target] = []
    by = {(r.backend, r.size): r for r in results}
    goals = {"postgresql": (0.30, 0.55), "sqlite": (0.45, 0.70)}
    for backend in ("postgresql", "sqlite"):
        small = by.get((backend, "small")) or by.get((backend, "large"))
        if small is None:
            continue
        f = small.figures
        floor = f["healthz"].rps
        act_goal, val_goal = goals[backend]
        act = _ratio(f["activate"].rps, floor)
        val = _ratio(f["validate"].rps, floor)
        out.append(
            Target(
                f"1. {backend} activation / floor",
                f"{act:.0%}",
                f"≥ {act_goal:.0%}",
                act >= act_goal,
            )
        )
        out.append(
            Target(
                f"2. {backend} validate / floor", f"{val:.0%}", f"≥ {val_goal:.0%}", val >= val_goal
            )
        )
    for r in results:
        for name in ("activate", "activate_one", "validate"):
            fig = r.figures[name]
            tail = _ratio(fig.p99_ms, fig.p50_ms)
            out.append(
                Target(
                    f"3. {r.backend}/{r.size} {name} p99 / p50",
                    f"{tail:.2f}",
                    "≤ 3",
                    tail <= 3,
                )
            )
    for r in results:
        one = _ratio(r.figures["activate_one"].rps, r.figures["activate"].rps)
        out.append(
            Target(
                f"4. {r.backend}/{r.size} one licence / random", f"{one:.0%}", "≥ 70%", one >= 0.7
            )
        )
        out.append(
            Target(
                f"4. {r.backend}/{r.size} seats over the limit",
                "none" if not r.seat_checks else "; ".join(r.seat_checks),
                f"none ({r.activations_checked:,} live activations counted)",
                not r.seat_checks,
            )
        )
    for backend in ("postgresql", "sqlite"):
        small, large = by.get((backend, "small")), by.get((backend, "large"))
        if small is None or large is None:
            continue
        for name in ("activate", "activate_one", "validate", "checkin"):
            fs, fl = small.figures[name], large.figures[name]
            # normalised by each set's own floor, so that a busier machine during one
            # set does not pass for an effect of the data
            thr = _ratio(
                fl.rps / large.figures["healthz"].rps, fs.rps / small.figures["healthz"].rps
            )
            raw = _ratio(fl.rps, fs.rps)
            p99 = _ratio(fl.p99_ms, fs.p99_ms)
            out.append(
                Target(
                    f"5. {backend} {name} large / small",
                    f"req/s {thr:.0%} (raw {raw:.0%}), p99 {p99:.0%}",
                    "req/s ≥ 90%, p99 ≤ 110%",
                    thr >= 0.9 and p99 <= 1.1,
                )
            )
    for r in results:
        rss = _ratio(r.peak_rss_kib, r.floor_rss_kib)
        out.append(
            Target(
                f"6. {r.backend}/{r.size} worker peak RSS / floor's",
                f"{rss:.2f} ({r.peak_rss_kib / 1024:.0f} / {r.floor_rss_kib / 1024:.0f} MiB)",
                "≤ 2.5",
                rss <= 2.5,
            )
        )
    if sdk.get("missing"):
        out.append(
            Target(
                "7. SDK status() / PyJWT EdDSA decode", "bench/status_bench.py missing", "≤ 1", None
            )
        )
    elif "ratio" in sdk:
        out.append(
            Target(
                "7. SDK status() / PyJWT EdDSA decode",
                f"{sdk['ratio']:.2f}",
                "≤ 1",
                sdk["ratio"] <= 1,
            )
        )
    else:
        out.append(
            Target("7. SDK status() / PyJWT EdDSA decode", "no ratio in its output", "≤ 1", None)
        )
    return out


def report(s: Settings, results: list[SetResult], sdk: dict[str, Any], env: dict[str, str]) -> str:
    lines = [
        f"Measured {env['date']} with `{s.command}`: gunicorn {s.workers} sync workers, "
        f"wrk {s.threads} thread(s) and {s.connections} connections on loopback, "
        f"`LICSERVER_RATE_LIMITS=off`; {s.runs} run(s) of {s.duration:g} s per scenario "
        "(taken in rounds), the median shown. The figures that matter are the ratios: "
        "all of them come from this one run, on a machine shared with other work.",
        "",
        "Machine: "
        f"{env['nproc']} CPUs ({env['cpu']}); {env['os']}; load average at the start "
        f"{env['load']}.  ",
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
        floor = r.figures["healthz"].rps
        for sc in SCENARIOS:
            if sc.name not in r.figures:
                continue
            f = r.figures[sc.name]
            lines.append(
                f"| {r.backend} | {r.size} | {sc.title} | {f.rps:.0f} | {f.p50_ms:.2f} | "
                f"{f.p99_ms:.2f} | {_ratio(f.p99_ms, f.p50_ms):.2f} | "
                f"{_ratio(f.rps, floor):.0%} | {f.errors} |"
            )
    lines += ["", "Worker peak RSS (VmHWM, largest worker):", ""]
    for r in results:
        lines.append(
            f"- {r.backend}/{r.size}: {r.peak_rss_kib / 1024:.0f} MiB after every scenario, "
            f"{r.floor_rss_kib / 1024:.0f} MiB after `/healthz` only"
        )
    loads = [r for r in results if r.load]
    if loads:
        lines += ["", "Large data set, loaded before its runs (bench/data.py):", ""]
        for r in loads:
            assert r.load is not None
            lines.append(
                f"- {r.backend}: {r.load['licences']:,} licences, {r.load['activations']:,} "
                f"activations, {r.load['customers']:,} customers in {r.load['seconds']:.1f} s "
                f"(+{r.load['analyze_seconds']:.1f} s "
                f"{'VACUUM ANALYZE' if r.backend == 'postgresql' else 'ANALYZE'})"
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
    lines += ["", "SDK `status()` against PyJWT (bench/status_bench.py):", ""]
    if sdk.get("missing"):
        lines.append("bench/status_bench.py is not there yet: no figure.")
    else:
        lines += ["```", sdk.get("output", "")[-3000:], "```"]
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
        say("SDK status() benchmark")
        sdk = status_bench()
    finally:
        if not s.keep:
            shutil.rmtree(root, ignore_errors=True)
    try:
        text = report(s, results, sdk, env)
    except KeyError:  # a partial run (--scenarios): no targets
        text = "\n".join(
            f"{r.backend}/{r.size} {name}: {f.rps:.0f} req/s, p50 {f.p50_ms:.2f} ms, "
            f"p99 {f.p99_ms:.2f} ms"
            for r in results
            for name, f in r.figures.items()
        )
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
