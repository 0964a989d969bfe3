"""The server under ``make bench``: a fresh database, `licserver init`, and
gunicorn as the README deploys it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path

BIN = Path(sys.executable).parent
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
LISTENING_RE = re.compile(r"Listening at: http://127\.0\.0\.1:(\d+)")
GUNICORN_MAJOR = int(version("gunicorn").split(".")[0])


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
