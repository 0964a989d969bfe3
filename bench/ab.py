"""Two or more servers, one scenario, wrk runs alternating between them.

For a before/after comparison on a busy machine: each target is a gunicorn
(the bench's own ``Server``) on its own database and, optionally, its own copy
of the ``licserver`` package (``tree``: a folder holding a ``licserver/``,
put first on ``PYTHONPATH``). All are started, then wrk runs the scenario on
each in turn, ``--rounds`` times, so that a slow spell of the machine touches
every target alike; the median of each and the ratios to the first are
printed, with the workers' own CPU time per request (from /proc: user and
system time, which other work on the machine moves far less than req/s).

    # the floor, before and after a change (copies of the package)
    python -m bench.ab --scenario healthz \\
        --target before=sqlite:////tmp/a.db,tree=/tmp/trees/before \\
        --target after=sqlite:////tmp/a.db,tree=/tmp/trees/after
    # validate on a kept small and a kept large bench database (bench.run --keep)
    python -m bench.ab --scenario validate \\
        --target small=postgresql://postgres@127.0.0.1/bench_1,workdir=/tmp/X/postgresql \\
        --target large=postgresql://postgres@127.0.0.1/bench_2,workdir=/tmp/Y/postgresql

A target is ``LABEL=DATABASE_URL[,workdir=KEPT_WORKDIR][,tree=FOLDER]``: the
workdir of a kept bench database (its keys and the scenarios' rows), and a
folder holding a ``licserver/`` package to run instead of the installed one.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bench.cases import SCENARIOS, Run, Scenario, Settings, wrk
from bench.launcher import Server, run_init, server_env


@dataclass
class Target:
    label: str
    url: str
    workdir: Path | None  # a kept bench workdir (keys, data); None: a new one
    tree: Path | None  # a folder with a licserver/ package to run instead


def _target(spec: str) -> Target:
    label, _, rest = spec.partition("=")
    url, *options = rest.split(",")
    opts = dict(o.split("=", 1) for o in options)
    workdir, tree = opts.get("workdir"), opts.get("tree")
    return Target(label, url, Path(workdir) if workdir else None, Path(tree) if tree else None)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.ab", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--target",
        action="append",
        required=True,
        help="LABEL=DATABASE_URL[,workdir=KEPT_WORKDIR][,tree=FOLDER] (at least two)",
    )
    p.add_argument("--scenario", default="healthz", help="healthz, validate, checkin, ...")
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--duration", type=float, default=4.0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument(
        "--profile",
        action="store_true",
        help="then one more run on each with py-spy on a worker: where its time goes",
    )
    a = p.parse_args(argv)
    targets = [_target(t) for t in a.target]
    scenario = next(sc for sc in SCENARIOS if sc.name == a.scenario)
    s = Settings(
        workers=a.workers,
        connections=2 * a.workers,
        threads=1,
        duration=a.duration,
        warmup=1.0,
        runs=a.rounds,
        backends=[],
        sizes=[],
        scenarios=[scenario],
        licences=0,
        live_per_licence=0,
        small_licences=0,
        bulk_licences=0,
        bulk_per_licence=0,
        profile=False,
        doc=None,
        json_out=None,
        keep=False,
        command="",
    )
    root = Path(tempfile.mkdtemp(prefix="licserver-ab-"))
    servers: list[Server] = []
    try:
        for t in targets:
            workdir = t.workdir or root / t.label
            env = server_env(t.url, workdir)
            if t.workdir is None:
                workdir.mkdir(parents=True)
                run_init(env, workdir)
            if t.tree is not None:
                env["PYTHONPATH"] = os.pathsep.join(
                    [str(t.tree), *filter(None, [os.environ.get("PYTHONPATH")])]
                )
            servers.append(Server(env, a.workers, root / f"server-{t.label}"))
        data = [
            (t.workdir / "data" / f"{scenario.name}.tsv") if t.workdir else None for t in targets
        ]
        for server, d in zip(servers, data, strict=True):
            wrk(s, server.url, scenario, d, 1.0, "warm")
        runs: dict[str, list[Run]] = {t.label: [] for t in targets}
        cpu_us: dict[str, list[float]] = {t.label: [] for t in targets}
        for n in range(a.rounds):
            # alternate the order too, so that neither is always first after the other
            order = list(zip(targets, servers, data, strict=True))
            if n % 2:
                order.reverse()
            for t, server, d in order:
                cpu0 = _cpu_seconds(server)
                r = wrk(s, server.url, scenario, d, a.duration, f"ab{n}{t.label}")
                cpu = (_cpu_seconds(server) - cpu0) / r.requests * 1e6 if r.requests else 0.0
                runs[t.label].append(r)
                cpu_us[t.label].append(cpu)
                print(
                    f"round {n + 1} {t.label:<10} {r.rps:8.1f} req/s  p50 {r.p50_ms:6.2f} ms  "
                    f"p99 {r.p99_ms:6.2f} ms  worker CPU {cpu:6.0f} µs/request",
                    flush=True,
                )
        if a.profile:
            for t, server, d in zip(targets, servers, data, strict=True):
                _profile(s, t.label, server, scenario, d, root)
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(root, ignore_errors=True)
    first = targets[0].label
    base_rps = statistics.median(r.rps for r in runs[first])
    base_p99 = statistics.median(r.p99_ms for r in runs[first])
    print(f"\n{scenario.title}, {a.rounds} alternating runs of {a.duration:g} s, medians:")
    for t in targets:
        rs = runs[t.label]
        rps = statistics.median(r.rps for r in rs)
        p50 = statistics.median(r.p50_ms for r in rs)
        p99 = statistics.median(r.p99_ms for r in rs)
        # the ratio of each round's pair, then their median: robust to drifts of the machine
        paired = statistics.median(
            x.rps / y.rps for x, y in zip(rs, runs[first], strict=True) if y.rps
        )
        cpu = statistics.median(cpu_us[t.label])
        print(
            f"  {t.label:<10} {rps:8.1f} req/s  p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  "
            f"worker CPU {cpu:5.0f} µs/request   / {first}: req/s {rps / base_rps:.1%} "
            f"(paired {paired:.1%}), p99 {p99 / base_p99:.0%}, "
            f"CPU {cpu / statistics.median(cpu_us[first]):.1%}"
        )
    return 0


def _cpu_seconds(server: Server) -> float:
    """User and system CPU time of the server's workers so far (the figure that
    other work on the machine moves least)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in server.worker_pids():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def _profile(
    s: Settings, label: str, server: Server, scenario: Scenario, data: Path | None, root: Path
) -> None:
    """py-spy on one worker during one more run: µs per request by category
    (as ``make bench`` reports them) and the innermost frames."""
    from bench import profile

    out = root / f"profile-{label}.txt"
    sampler = threading.Thread(
        target=profile.record, args=(server.worker_pids()[0], s.duration, out)
    )
    sampler.start()
    time.sleep(0.2)
    try:
        run = wrk(s, server.url, scenario, data, s.duration, f"prof{label}")
    finally:
        sampler.join()
    if not out.exists():
        print(f"{label}: no profile (py-spy missing or not allowed to attach)")
        return
    us = s.workers / run.rps * 1e6
    print(f"\n{label}: {run.rps:.0f} req/s during the profile; µs per request of one worker:")
    for cat, share in profile.summarise(out).items():
        if cat != profile.IDLE and share * us >= 5:
            print(f"  {share * us:7.0f}  {cat}")
    print(f"{label}: innermost frames, share of the worker's busy samples:")
    for frames, share in profile.top_frames(out, 12):
        print(f"  {share:6.1%}  {frames}")


if __name__ == "__main__":
    sys.exit(main())
