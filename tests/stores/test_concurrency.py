"""Exactly once under concurrency and crashes, through real gunicorn servers:
one store event delivered 50 times at once to two servers issues one licence,
one order and one email; several events for one new buyer make one customer;
a worker killed after the effect was flushed but before the COMMIT leaves
nothing, and the store's redelivery applies the event once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import conftest
from tests.live import LiveServer
from tests.mail import SmtpServer
from tests.stores import fixtures as f
from tests.stores.helpers import SECRET, events, make_integration
from tests.support.factory import AdminClient

pytestmark = pytest.mark.e2e

Start = Callable[..., LiveServer]


@pytest.fixture
def start(test_database: conftest.TestDatabase, smtp_server: SmtpServer) -> Iterator[Start]:
    """``start(workers, env={...})``: a gunicorn of the test's own, mailing to
    the test SMTP server, stopped after the test."""
    started: list[LiveServer] = []

    def _start(workers: int = 2, env: dict[str, str] | None = None) -> LiveServer:
        mail = {
            "LICSERVER_SMTP_HOST": smtp_server.host,
            "LICSERVER_SMTP_PORT": str(smtp_server.port),
        }
        s = LiveServer(test_database, workers, env={**mail, **(env or {})})
        started.append(s)
        return s

    yield _start
    for s in started:
        s.stop()


def _deliver_at_once(servers: list[LiveServer], path: str, bodies: list[bytes]) -> list[Any]:
    barrier = threading.Barrier(len(bodies))

    def post(i: int) -> Any:
        body = bodies[i]
        headers = f.headers("generic", SECRET, body)
        with servers[i % len(servers)].client() as http:
            barrier.wait(timeout=60)
            r = http.post(path, content=body, headers=headers)
            return r.status_code, r.json()

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(post, range(len(bodies))))


def _paid(eid: str, order: str, email: str = "rush@example.com") -> bytes:
    return f.dumps(
        f.generic(eid, "order.paid", email=email, order=order, items=[{"item": "ruler-pro"}])
    )


def test_fifty_deliveries_to_two_servers_issue_one_licence(
    start: Start, smtp_server: SmtpServer, admin: AdminClient, product: str
) -> None:
    integ = make_integration(admin, "generic")
    servers = [start(2), start(2)]
    path = f"/api/v1/integrations/{integ['id']}/events"
    got = _deliver_at_once(servers, path, [_paid("g-rush", "R-1")] * 50)
    assert {status for status, _ in got} == {200}, got
    first = [b for _, b in got if not b["received"][0]["repeat"]]
    assert len(first) == 1 and first[0]["received"][0]["outcome"] == "applied"
    assert len(admin.get("/api/v1/licenses").get_json()["items"]) == 1
    assert [o["number"] for o in admin.get("/api/v1/orders").get_json()["items"]] == ["R-1"]
    assert [e["event_id"] for e in events(admin, integ)] == ["g-rush"]
    smtp_server.wait_for(1)
    time.sleep(1)  # a second email would have arrived by now
    assert [m["To"] for m in smtp_server.messages] == ["rush@example.com"]


def test_events_for_one_new_buyer_at_once_make_one_customer(
    start: Start, admin: AdminClient, product: str
) -> None:
    integ = make_integration(admin, "generic")
    servers = [start(2), start(2)]
    path = f"/api/v1/integrations/{integ['id']}/events"
    bodies = [_paid(f"g-buyer-{i}", f"B-{i}", email="New.Buyer@example.com") for i in range(8)]
    got = _deliver_at_once(servers, path, bodies)
    assert [b["received"][0]["outcome"] for _, b in got] == ["applied"] * 8, got
    customers = admin.get("/api/v1/customers").get_json()["items"]
    assert [c["email"] for c in customers] == ["new.buyer@example.com"]
    assert len(admin.get("/api/v1/licenses").get_json()["items"]) == 8


def test_a_crash_before_the_commit_leaves_nothing_and_the_redelivery_applies_once(
    start: Start, admin: AdminClient, product: str, tmp_path: Path
) -> None:
    integ = make_integration(admin, "generic")
    env = {
        "LICSERVER_TESTING_FAULTS": "1",
        "LICSERVER_FAULT_POINT": "store_before_commit",
        "LICSERVER_FAULT_MARKER": str(tmp_path / "fired"),
    }
    server = start(1, env=env)
    path = f"/api/v1/integrations/{integ['id']}/events"
    body = _paid("g-crash", "C-1")
    with server.client() as http:
        with pytest.raises(httpx.TransportError):  # the worker died mid-request
            http.post(path, content=body, headers=f.headers("generic", SECRET, body))
    assert (tmp_path / "fired").exists()
    assert events(admin, integ) == []
    assert admin.get("/api/v1/licenses").get_json()["items"] == []
    assert admin.get("/api/v1/orders").get_json()["items"] == []
    with server.client() as http:  # the store sends it again (to the respawned worker)
        deadline = time.monotonic() + 30
        while True:
            try:
                r = http.post(path, content=body, headers=f.headers("generic", SECRET, body))
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, server.log()[-2000:]
                time.sleep(0.2)
    assert r.status_code == 200 and r.json()["received"][0]["outcome"] == "applied"
    assert len(admin.get("/api/v1/licenses").get_json()["items"]) == 1
    assert [e["outcome"] for e in events(admin, integ)] == ["applied"]
