"""The SDK against a real licserver under gunicorn, on the session's test database.

``server`` is one gunicorn (2 workers, rate limits off) for the whole run,
on tables the ``app`` fixture has just emptied; ``factory`` and ``admin``
(tests/conftest.py) create licences and act as staff beside it. ``sdk(product)``
makes a ``LicenseClient`` for that server with the server's own public keys, a
state folder of the test and a movable ``clock``; ``server_clock(seconds)``
moves the shared server's clock (and that one) forward for one test. Tests
that need a server of their own (stopped, rate-limited, without a database)
start one with ``start_server``.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask import Flask
from licclient import LicenseClient

from tests.live import LiveServer
from tests.sdk.tamper import Alter, TamperingProxy
from tests.support import loopback
from tests.support.database import TestDatabase


class Clock:
    """An injectable clock that tests move; starts at the real time."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta).total_seconds()


@pytest.fixture(scope="session")
def _sdk_servers(test_database: TestDatabase) -> Iterator[dict[str, LiveServer]]:
    servers: dict[str, LiveServer] = {}
    try:
        yield servers
    finally:
        for s in servers.values():
            s.stop()


@pytest.fixture
def server(
    app: Flask, _sdk_servers: dict[str, LiveServer], test_database: TestDatabase
) -> LiveServer:
    """The run's shared gunicorn, on freshly emptied tables."""
    shared = _sdk_servers.get("shared")
    if shared is None or not shared.alive():
        if shared is not None:
            shared.stop()
        path = _clock_file(test_database)
        _set_offset(path, 0)
        # Update checks counted as they are answered (not a second later, by
        # then maybe into the next test's emptied tables and new releases).
        env = {
            "LICSERVER_TESTING_CLOCK_FILE": str(path),
            "LICSERVER_UPDATE_COUNT_FLUSH_SECONDS": "0",
        }
        shared = _sdk_servers["shared"] = LiveServer(test_database, workers=2, env=env)
    return shared


def _clock_file(database: TestDatabase) -> Path:
    """The file the shared server's test-only clock reads (seconds ahead)."""
    return database.workdir / "sdk-server-clock"


def _set_offset(path: Path, seconds: float) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(f"{seconds}\n", encoding="ascii")
    os.replace(tmp, path)


@pytest.fixture
def server_clock(
    server: LiveServer, clock: Clock, test_database: TestDatabase
) -> Iterator[Callable[[float], None]]:
    """``server_clock(seconds)``: the shared server's clock and the test's SDK
    clock move on together (instead of waiting); back to real time after the test."""
    path = _clock_file(test_database)
    moved = [0.0]

    def advance(seconds: float) -> None:
        moved[0] += seconds
        _set_offset(path, moved[0])
        clock.now += seconds

    yield advance
    _set_offset(path, 0)


@pytest.fixture
def start_server(app: Flask, test_database: TestDatabase) -> Iterator[Callable[..., LiveServer]]:
    """``start_server(workers=1, env={...})``: a gunicorn of the test's own, stopped after it."""
    started: list[LiveServer] = []

    def start(workers: int = 1, **kw: Any) -> LiveServer:
        s = LiveServer(test_database, workers, **kw)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


def fetch_public_keys(url: str) -> dict[str, str]:
    """What a vendor pins at build time: the server's keys from GET /api/v1/keys."""
    r = loopback.get(f"{url}/api/v1/keys", timeout=10)
    assert r.status_code == 200, r.text
    return {k["kid"]: k["public_key"] for k in r.json()["keys"]}


@pytest.fixture
def public_keys(server: LiveServer) -> dict[str, str]:
    return fetch_public_keys(server.url)


@pytest.fixture
def proxy(server: LiveServer) -> Iterator[Callable[[Alter], TamperingProxy]]:
    """``proxy(alter)``: a loopback proxy in front of ``server`` whose answers
    ``alter(path, body)`` may change (tests/sdk/tamper.py); closed after the test."""
    made: list[TamperingProxy] = []

    def start(alter: Alter) -> TamperingProxy:
        made.append(TamperingProxy(server.url, alter))
        return made[-1]

    yield start
    for p in made:
        p.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


def new_installation_id() -> str:
    return f"test-{secrets.token_hex(8)}"


@pytest.fixture
def sdk(
    server: LiveServer, public_keys: dict[str, str], state_dir: Path, clock: Clock
) -> Callable[..., LicenseClient]:
    """``sdk(product, **options)``: a client of the shared server. One installation
    ID per test unless ``installation_id=`` says otherwise; ``retries`` default 1."""
    iid = new_installation_id()

    def make(product: str, **kw: Any) -> LicenseClient:
        kw.setdefault("public_keys", public_keys)
        kw.setdefault("state_dir", state_dir)
        kw.setdefault("installation_id", iid)
        kw.setdefault("clock", clock)
        kw.setdefault("retries", 1)
        return LicenseClient(kw.pop("server_url", server.url), product=product, **kw)

    return make


# ---- what staff see and do, through the admin API of the same server --------


@pytest.fixture
def staff(server: LiveServer, admin_token: str) -> Iterator[httpx.Client]:
    """The admin API over HTTP (a full-scope token), as an administrator uses it."""
    with server.client(admin_token) as http:
        yield http


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, f"{r.request.method} {r.request.url}: {r.status_code} {r.text}"
    return r.json()


def license_view(staff: httpx.Client, license_id: str) -> dict[str, Any]:
    body: dict[str, Any] = ok(staff.get(f"/api/v1/licenses/{license_id}"))
    return body


def activations(staff: httpx.Client, license_id: str, state: str = "active") -> list[Any]:
    items: list[Any] = ok(staff.get(f"/api/v1/licenses/{license_id}/activations?state={state}"))[
        "items"
    ]
    return items


def event_kinds(staff: httpx.Client, license_id: str) -> list[str]:
    return [
        e["kind"] for e in ok(staff.get(f"/api/v1/licenses/{license_id}/events?limit=200"))["items"]
    ]
