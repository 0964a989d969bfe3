"""``scripts/reliability.py pg-restart``: a private PostgreSQL cluster restarted
under check-in load (never the shared server)."""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx  # noqa: E402
from reliability_common import check, database, free_port, out, servers  # noqa: E402

from tests.reliability import harness as H  # noqa: E402

# ---- PostgreSQL restart (a private cluster) --------------------------------------------


class PrivateCluster:
    """initdb + pg_ctl on a free port, in a temporary folder; never the shared server."""

    def __init__(self) -> None:
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        if not bins:
            raise SystemExit("no /usr/lib/postgresql/*/bin/initdb: install postgresql")
        self.bin = bins[-1].parent
        self.dir = Path(tempfile.mkdtemp(prefix="licserver-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "-N"
        )
        self.start()

    def _run(self, *cmd: str) -> None:
        if os.geteuid() == 0:
            cmd = ("runuser", "-u", "postgres", "--", *cmd)
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def start(self) -> None:
        opts = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off "
            "-c max_connections=100"
        )
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", opts, "-l",
            str(self.dir / "log"), "-w", "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


@dataclass
class Sample:
    start: float
    end: float
    status: int
    ctype: str
    code: str


def cmd_pg_restart(args: argparse.Namespace) -> None:
    out("### PostgreSQL restart under check-in load (a private cluster)")
    out()
    cluster = PrivateCluster()
    try:
        _pg_restart_run(cluster, args)
    finally:
        cluster.destroy()
    out()


def _pg_restart_run(cluster: PrivateCluster, args: argparse.Namespace) -> None:
    with database("postgresql", cluster.url) as (tdb, factory), servers(tdb, 1, 4) as (server,):
        lic = factory.license(seats=args.checkin_clients)
        acts = []
        with httpx.Client(base_url=server.url, timeout=30) as http:
            for i in range(args.checkin_clients):
                r = http.post(
                    "/api/v1/activations",
                    json=H.activation_body({"license_key": lic.key}, f"pg-install-{i:03d}", "P"),
                )
                acts.append((r.json()["activation_id"], r.json()["activation_token"]))
        samples: list[Sample] = []
        stop = threading.Event()
        t0 = time.monotonic()

        def load(i: int) -> None:
            aid, token = acts[i]
            with httpx.Client(base_url=server.url, timeout=120) as http:
                while not stop.is_set():
                    s = time.monotonic() - t0
                    try:
                        r = http.post(
                            f"/api/v1/activations/{aid}/checkin", json={"activation_token": token}
                        )
                        code = r.json().get("code", "") if r.status_code != 200 else ""
                        status, ctype = r.status_code, r.headers.get("content-type", "")
                    except httpx.HTTPError as exc:
                        status, ctype, code = 0, "", type(exc).__name__
                    samples.append(Sample(s, time.monotonic() - t0, status, ctype, code))
                    time.sleep(0.02)

        threads = [threading.Thread(target=load, args=(i,)) for i in range(len(acts))]
        for t in threads:
            t.start()
        time.sleep(3)
        down = time.monotonic() - t0
        cluster.stop("fast")
        time.sleep(args.downtime)
        cluster.start()
        up = time.monotonic() - t0
        time.sleep(15)
        stop.set()
        for t in threads:
            t.join(timeout=130)
    errors = [s for s in samples if s.status != 200]
    outside = [s for s in errors if s.end < down or s.start > up + 10]
    bad_shape = [
        s
        for s in errors
        if not (
            s.status == 503
            and s.ctype.startswith("application/problem+json")
            and s.code == "SERVICE_UNAVAILABLE"
        )
    ]
    after = [s for s in samples if s.start > up]
    # when the last failed request ended, relative to the restart's end (negative: before)
    last_error_after = max((s.end - up for s in errors), default=float("-inf"))
    ok_after = sum(1 for s in after if s.status == 200)
    first_ok_after = min((s.end - up for s in after if s.status == 200), default=float("inf"))
    longest = max(s.end - s.start for s in samples)
    out(
        f"- {len(acts)} installations checking in continuously through 1 gunicorn × 4 workers;"
        f" the private PostgreSQL stopped (`pg_ctl stop -m fast`) at t={down:.1f} s and "
        f"started again at t={up:.1f} s ({args.downtime} s down): {len(samples)} requests, "
        f"{len(errors)} errors, all {dict(Counter((s.status, s.code) for s in errors))} — "
        f"each a 503 problem+json SERVICE_UNAVAILABLE: {check(not bad_shape, 'pg 503 shape')}; "
        f"errors outside the restart window (+10 s): {len(outside)} "
        f"({check(not outside, 'pg outside window')}); the first 200 came "
        f"{first_ok_after:.2f} s after `pg_ctl start` returned, the last error ended "
        f"{last_error_after:+.2f} s from it ({check(last_error_after <= 10, 'pg recovery 10 s')}"
        f"), and {ok_after}/{len(after)} requests started after it succeeded; longest request "
        f"{longest:.2f} s (worker timeout 60 s: {check(longest < 60, 'pg hang')})."
    )
