"""Servers and helpers of tests/policies/test_end_to_end.py (``policy`` and
``issue`` also of test_sdk_models.py): two real gunicorns on the test database
whose clock the tests move (the test-only ``LICSERVER_TESTING_CLOCK_FILE``:
licserver/models/base.py), and ``licserver sweep`` run as the operator runs
it: a separate process on the same database and clock."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

from tests.live import LiveServer
from tests.support.database import TestDatabase
from tests.support.factory import Factory
from tests.support.sdk import Clock, ok

BIN = Path(sys.executable).parent / "licserver"


class Time:
    """Moves the servers' clock (the file they read) and the SDK clients' clock together."""

    def __init__(self, path: Path) -> None:
        self.path, self.offset = path, 0.0
        self.sdk = Clock()
        self.set(0)

    def set(self, seconds: float) -> None:
        self.offset = seconds
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(f"{seconds}\n", encoding="ascii")
        os.replace(tmp, self.path)

    def advance(self, seconds: float) -> None:
        self.set(self.offset + seconds)
        self.sdk.now += seconds


class Servers:
    def __init__(self, database: TestDatabase) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="models-", dir=database.workdir))
        self.clock_file = self.dir / "clock"
        self.clock_file.write_text("0\n", encoding="ascii")
        env = {"LICSERVER_TESTING_CLOCK_FILE": str(self.clock_file)}
        self.env = env
        self.database = database
        self.a = LiveServer(database, 2, env=env)
        self.b = LiveServer(database, 2, env=env)

    def stop(self) -> None:
        self.a.stop()
        self.b.stop()


def sweep(servers: Servers) -> str:
    """``licserver sweep`` as cron runs it: its own process, the servers' database and clock."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LICSERVER_", "FLASK_"))}
    env.update(
        LICSERVER_DATABASE_URL=servers.database.url,
        LICSERVER_KEYS_DIR=str(servers.database.keys_dir),
        LICSERVER_INSTANCE_DIR=str(servers.dir / "cli-instance"),
        LICSERVER_SECRET_KEY="e2e-secret",
        **servers.env,
    )
    done = subprocess.run(
        [str(BIN), "sweep"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def policy(staff: httpx.Client, product: str, name: str, **settings: Any) -> dict[str, Any]:
    body: dict[str, Any] = ok(
        staff.post(
            f"/api/v1/products/{product}/policies", json={"name": name, "settings": settings}
        ),
        201,
    )
    return body


def issue(
    staff: httpx.Client, factory: Factory, product: str, seats: int = 1, **body: Any
) -> dict[str, Any]:
    out: dict[str, Any] = ok(
        staff.post(
            "/api/v1/licenses",
            json={"product": product, "customer": factory.customer(), "seats": seats, **body},
        ),
        201,
    )
    return out
