"""A real gunicorn serving ``licserver:create_app()`` for tests that talk HTTP.

``LiveServer(database, workers, env={...})`` starts one on a free loopback
port against the session's test database and waits until it answers;
``stop()`` ends it. ``env`` overrides the server's ``LICSERVER_*`` settings
(rate limits on, another database...); ``ready_path`` is the URL that must
answer 200 before the server counts as up (``/healthz`` for a server whose
database is meant to be unreachable); ``config=True`` adds the shipped
``gunicorn.conf.py``; ``args`` are more gunicorn options (``["--timeout", "2"]``).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from importlib.metadata import version
from pathlib import Path

import httpx
import pytest

from tests.support import CHEAP_PASSWORD_HASH, loopback
from tests.support.database import TestDatabase

GUNICORN = Path(sys.executable).parent / "gunicorn"
# The configuration the README deploys (worker class, limits, metrics hooks);
# ``config=True`` serves with it (the options below still override it).
SHIPPED_CONFIG = Path(__file__).resolve().parents[1] / "gunicorn.conf.py"
START_DEADLINE_S = 30.0
LISTENING_RE = re.compile(r"Listening at: http://127\.0\.0\.1:(\d+)")
# gunicorn 27 opens a control socket at one fixed path in $HOME; test servers
# running side by side (two suites at once) must not share it.
_NO_CONTROL_SOCKET = ["--no-control-socket"] if int(version("gunicorn").split(".")[0]) >= 27 else []


class LiveServer:
    """One gunicorn process (an arbiter and its workers) on a free loopback port."""

    def __init__(
        self,
        database: TestDatabase,
        workers: int,
        *,
        env: Mapping[str, str] | None = None,
        ready_path: str = "/readyz",
        config: bool = False,
        args: Sequence[str] = (),
    ) -> None:
        self.workers = workers
        self.dir = Path(tempfile.mkdtemp(prefix="gunicorn-", dir=database.workdir))
        self.log_path = self.dir / "server.log"
        server_env = {k: v for k, v in os.environ.items() if not k.startswith("LICSERVER_")}
        server_env.update(
            LICSERVER_DATABASE_URL=database.url,
            LICSERVER_KEYS_DIR=str(database.keys_dir),
            LICSERVER_INSTANCE_DIR=str(self.dir / "instance"),
            LICSERVER_SECRET_KEY="e2e-secret",
            LICSERVER_RATE_LIMITS="off",
            PYTHONUNBUFFERED="1",
        )
        server_env.update(CHEAP_PASSWORD_HASH)
        server_env.update(env or {})
        self._log = open(self.log_path, "wb")  # closed in stop()
        self.process = subprocess.Popen(
            [
                str(GUNICORN),
                *(["--config", str(SHIPPED_CONFIG)] if config else []),
                "--bind",
                "127.0.0.1:0",  # the kernel picks a free port; we read it from the log
                "--workers",
                str(workers),
                "--timeout",
                "60",
                "--graceful-timeout",
                "5",
                *_NO_CONTROL_SOCKET,
                *args,
                "licserver:create_app()",
            ],
            cwd=self.dir,
            env=server_env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.url = ""
        try:
            self._wait_ready(ready_path)
        except BaseException:
            self.stop()
            raise

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def _wait_ready(self, ready_path: str) -> None:
        deadline = time.monotonic() + START_DEADLINE_S
        last_error = "no answer yet"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"gunicorn exited with {self.process.returncode}:\n{self.log()}")
            if not self.url:
                found = LISTENING_RE.search(self.log())
                if found:
                    self.url = f"http://127.0.0.1:{found.group(1)}"
            if self.url:
                try:
                    r = loopback.get(f"{self.url}{ready_path}", timeout=2)
                    if r.status_code == 200:
                        return
                    last_error = f"{ready_path} answered {r.status_code}: {r.text}"
                except httpx.TransportError as exc:
                    last_error = repr(exc)
            time.sleep(0.05)
        pytest.fail(
            f"gunicorn was not ready within {START_DEADLINE_S:.0f} s ({last_error}):\n{self.log()}"
        )

    def alive(self) -> bool:
        return self.process.poll() is None

    def client(self, token: str | None = None) -> httpx.Client:
        """An HTTP client for this server; the caller closes it (``with``)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return loopback.Client(base_url=self.url, headers=headers, timeout=60)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
