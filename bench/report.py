"""The report of a ``make bench`` run: the machine, the figures, the issue's
targets, and the block it writes into docs/performance.md."""

from __future__ import annotations

import platform
import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bench import pages, sdk_status
from bench.cases import SCENARIOS, Figures, SetResult, Settings
from bench.launcher import PG_ADMIN_URL

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "performance.md"
BEGIN_MARK = "<!-- bench:begin (written by `make bench`; edits here are overwritten) -->"
END_MARK = "<!-- bench:end -->"


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
