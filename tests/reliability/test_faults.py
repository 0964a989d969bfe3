"""Faults survived (docs/reliability.md): a worker killed around the COMMIT of
an activation, answers lost on the way back, the rate-limit store going away,
SQLite's disk filling up. ``scripts/reliability.py faults`` runs them full size
(and restarts a private PostgreSQL under check-in load)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine

from tests.live import LiveServer
from tests.reliability.harness import (
    activate_through_a_kill,
    public_keys,
    sdks_through_losses,
    seat_counts,
)
from tests.reliability.proxy import RandomLosingProxy
from tests.support.database import BACKEND
from tests.support.factory import Factory
from tests.support.portal import csrf_of

pytestmark = pytest.mark.e2e

Start = Callable[..., LiveServer]


@pytest.mark.parametrize("point", ["before_commit", "after_commit"])
def test_worker_killed_at_commit_leaves_one_seat_and_one_activation(
    point: str, start_server: Start, factory: Factory, engine: Engine, tmp_path: Path
) -> None:
    marker = tmp_path / "fault-fired"
    # one worker: the retry waits in the listen queue for the respawned worker;
    # the shipped configuration (threads): the kill aborts an activation in flight
    server = start_server(
        1,
        config=True,
        env={
            "LICSERVER_TESTING_FAULTS": "1",
            "LICSERVER_FAULT_POINT": point,
            "LICSERVER_FAULT_MARKER": str(marker),
        },
    )
    lic = factory.license(seats=1)

    got = activate_through_a_kill(server, engine, lic.key, lic.product, lic.id, tmp_path / "state")

    assert marker.exists(), "the fault point was not reached"
    assert "was sent SIGKILL" in server.log() or "exited with code" in server.log()
    assert got.sdk_valid
    # one row, live, the SDK's; the seat counted once
    assert got.rows == [(got.sdk_activation_id, None)]
    assert got.seats_used == 1
    if point == "before_commit":  # the killed transaction left nothing
        assert got.event_kinds == ["activation.created"]
    else:  # it had committed; the retry found it
        assert got.event_kinds == ["activation.created", "activation.reused"]
    assert server.alive()


def test_sdks_converge_when_thirty_percent_of_answers_are_lost(
    start_server: Start, factory: Factory, engine: Engine, tmp_path: Path
) -> None:
    server = start_server(1)
    lic = factory.license(seats=20)
    # sequential, so the seeded proxy loses the same answers on every run
    proxy = RandomLosingProxy(server.url, share=0.3, seed=20261122)
    try:
        got = sdks_through_losses(
            proxy.url,
            public_keys(server.url),
            engine,
            lic.key,
            lic.product,
            lic.id,
            tmp_path,
            clients=8,
        )
    finally:
        proxy.close()

    assert got.failures == []
    assert got.converged == 8
    assert proxy.lost >= 3, "the run should have lost answers"
    assert (got.live_rows, got.seats_used) == (8, 8)


# ---- Redis, the rate-limit store, going away ----------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivateRedis:
    """A redis-server of the test's own on a free port (the shared one stays untouched)."""

    def __init__(self, workdir: Path, port: int) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[Callable[[int], PrivateRedis]]:
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed (apt-get install redis-server)")
    started: list[PrivateRedis] = []

    def start(port: int) -> PrivateRedis:
        r = PrivateRedis(tmp_path, port)
        started.append(r)
        return r

    yield start
    for r in started:
        if r.process.poll() is None:
            r.kill()


def _timed(fn: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
    start = time.monotonic()
    r = fn()
    return r, time.monotonic() - start


def test_rate_limited_endpoints_fail_closed_while_redis_is_down(
    start_server: Start,
    factory: Factory,
    engine: Engine,
    private_redis: Callable[[int], PrivateRedis],
) -> None:
    port = _free_port()
    store = private_redis(port)
    env = {"LICSERVER_RATE_LIMITS": "on", "LICSERVER_REDIS_URL": store.url}
    server = start_server(1, env=env, ready_path="/healthz")
    lic = factory.license(seats=5)
    body = {"license_key": lic.key, "installation_id": "redis-install-1", "machine_name": "PC"}
    with server.client() as http:
        assert http.post("/api/v1/activations", json=body).status_code == 201
        csrf = csrf_of(http.get("/portal/login").text)

        store.kill()
        for call in (
            lambda: http.post("/api/v1/activations", json=body),
            lambda: http.post("/api/v1/validate", json=body),
            lambda: http.get("/api/v1/keys"),
        ):
            r, seconds = _timed(call)
            assert r.status_code == 503, r.text
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["code"] == "SERVICE_UNAVAILABLE"
            assert r.headers.get("Retry-After")
            assert seconds < 1.5, seconds  # a second's socket timeout at most, no hang
        # the portal's log-in spends a per-IP allowance: closed too, within a second,
        # with a page a person can read
        r, seconds = _timed(
            lambda: http.post(
                "/portal/login", data={"csrf_token": csrf, "login": "a@b.test", "password": "x"}
            )
        )
        assert r.status_code == 503, r.text
        assert r.headers["content-type"].startswith("text/html")
        assert "Temporarily unavailable" in r.text
        assert seconds < 1.5
        # not rate-limited, so not affected
        assert http.get("/healthz").status_code == 200
        assert http.get("/readyz").status_code == 200

        # Redis back: service resumes without a restart of licserver
        private_redis(port)
        r = http.post("/api/v1/activations", json=body)
        assert r.status_code == 200, r.text
    assert seat_counts(engine, lic.id) == (1, 1)
    assert server.alive()


# ---- SQLite: the disk fills up ---------------------------------------------------------


@pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite's own file; PostgreSQL: see the script")
def test_sqlite_disk_full_answers_503_and_loses_nothing(
    factory: Factory, engine: Engine, test_database: object, tmp_path: Path
) -> None:
    from tests.reliability.diskfull import disk_full_run

    got = disk_full_run(tmp_path, test_database, max_activations=400)  # type: ignore[arg-type]

    assert got.first_failure_status == 503, got
    assert got.first_failure_code == "SERVICE_UNAVAILABLE"
    assert got.created > 0
    assert got.other_statuses == {}, got
    # what was answered 201 is all there, and nothing else
    assert got.live_rows == got.seats_used == got.created
    assert got.created_events == got.created
    assert got.integrity == "ok"
    assert got.readable_after
