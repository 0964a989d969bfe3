"""What ``make bench`` measures: the scenarios, a run's settings and figures,
and one wrk run (bench/wrk/*.lua)."""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LUA_DIR = ROOT / "bench" / "wrk"
RESULT_RE = re.compile(r"^BENCH_RESULT (\{.*\})$", re.MULTILINE)


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


def say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


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
