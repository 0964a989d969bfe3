"""A real gunicorn serving ``licserver:create_app()`` on the session's test database.

``live_server(workers=4)`` gives a running server whose tables the ``app``
fixture has just emptied; tests create rows with ``factory`` (directly in the
database) or through the admin API, then talk real HTTP to the server.
Servers are started once per worker count and stopped at the end of the run:
each start costs a second or two, and no test depends on a server's memory
(rate limits are off).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from importlib.metadata import version
from pathlib import Path

import httpx
import pytest
from flask import Flask

from tests.conftest import TestDatabase

GUNICORN = Path(sys.executable).parent / "gunicorn"
START_DEADLINE_S = 30.0
LISTENING_RE = re.compile(r"Listening at: http://127\.0\.0\.1:(\d+)")
# gunicorn 27 opens a control socket at one fixed path in $HOME; test servers
# running side by side (two suites at once) must not share it.
_NO_CONTROL_SOCKET = ["--no-control-socket"] if int(version("gunicorn").split(".")[0]) >= 27 else []


class LiveServer:
    """One gunicorn process (an arbiter and its workers) on a free loopback port."""

    def __init__(self, database: TestDatabase, workers: int) -> None:
        self.workers = workers
        self.dir = Path(tempfile.mkdtemp(prefix="gunicorn-", dir=database.workdir))
        self.log_path = self.dir / "server.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("LICSERVER_")}
        env.update(
            LICSERVER_DATABASE_URL=database.url,
            LICSERVER_KEYS_DIR=str(database.keys_dir),
            LICSERVER_INSTANCE_DIR=str(self.dir / "instance"),
            LICSERVER_SECRET_KEY="e2e-secret",
            LICSERVER_RATE_LIMITS="off",
            PYTHONUNBUFFERED="1",
        )
        self._log = open(self.log_path, "wb")  # closed in stop()
        self.process = subprocess.Popen(
            [
                str(GUNICORN),
                "--bind",
                "127.0.0.1:0",  # the kernel picks a free port; we read it from the log
                "--workers",
                str(workers),
                "--timeout",
                "60",
                "--graceful-timeout",
                "5",
                *_NO_CONTROL_SOCKET,
                "licserver:create_app()",
            ],
            cwd=self.dir,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.url = ""
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def _wait_ready(self) -> None:
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
                    r = httpx.get(f"{self.url}/readyz", timeout=2)
                    if r.status_code == 200:
                        return
                    last_error = f"/readyz answered {r.status_code}: {r.text}"
                except httpx.TransportError as exc:
                    last_error = repr(exc)
            time.sleep(0.1)
        pytest.fail(
            f"gunicorn was not ready within {START_DEADLINE_S:.0f} s ({last_error}):\n{self.log()}"
        )

    def alive(self) -> bool:
        return self.process.poll() is None

    def client(self, token: str | None = None) -> httpx.Client:
        """An HTTP client for this server; the caller closes it (``with``)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


@pytest.fixture(scope="session")
def _live_servers(test_database: TestDatabase) -> Iterator[dict[int, LiveServer]]:
    servers: dict[int, LiveServer] = {}
    try:
        yield servers
    finally:
        for server in servers.values():
            server.stop()


@pytest.fixture
def live_server(
    app: Flask, _live_servers: dict[int, LiveServer], test_database: TestDatabase
) -> Callable[..., LiveServer]:
    """``live_server(workers=4)``: a running gunicorn on the freshly emptied tables.

    Depends on ``app``, so the tables are empty and an app context is open:
    ``factory`` and ``admin_token`` work alongside it.
    """

    def start(workers: int = 4) -> LiveServer:
        server = _live_servers.get(workers)
        if server is not None and not server.alive():
            server.stop()
            server = None
        if server is None:
            server = _live_servers[workers] = LiveServer(test_database, workers)
        return server

    return start
