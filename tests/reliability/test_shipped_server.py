"""The shipped gunicorn.conf.py against what the first scanners found
(docs/reliability.md, "Slow clients"): gunicorn's own parse-error answers are
problem+json under /api/ (HTML stays for the portal), and idle or trickling
clients neither hold up activations nor get a worker killed in the middle of
one. ``scripts/slow_clients.py`` measures the latencies at full size."""

from __future__ import annotations

import json
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import pytest
from sqlalchemy.engine import Engine

from tests.live import LiveServer
from tests.reliability.harness import seat_counts
from tests.reliability.slow_clients import SlowClients, activate_many
from tests.support.database import TestDatabase
from tests.support.factory import Factory

pytestmark = pytest.mark.e2e

Start = Callable[..., LiveServer]


@pytest.fixture(scope="module")
def shipped(test_database: TestDatabase) -> Iterator[LiveServer]:
    """One worker with the shipped configuration (the tests using it write nothing)."""
    server = LiveServer(test_database, 1, config=True)
    yield server
    server.stop()


def raw(server: LiveServer, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send ``request`` as bytes; the answer's status, headers and body."""
    parts = urlsplit(server.url)
    with socket.create_connection((parts.hostname, parts.port), 10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


LONG_QUERY = "?q=" + "x" * 5000
BAD_REQUESTS = {
    # what was sent -> the status gunicorn answers it with
    "request line too long": (b"GET %s" + LONG_QUERY.encode() + b" HTTP/1.1\r\n\r\n", 414),
    "header too long": (b"GET %s HTTP/1.1\r\nX-Long: " + b"y" * 9000 + b"\r\n\r\n", 431),
    "too many headers": (
        b"GET %s HTTP/1.1\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(101)) + b"\r\n",
        431,
    ),
    "bad HTTP version": (b"GET %s HTTP/9.x\r\n\r\n", 400),
    "bad header name": (b"GET %s HTTP/1.1\r\nBad Header: v\r\n\r\n", 400),
}


@pytest.mark.parametrize("case", sorted(BAD_REQUESTS))
def test_parse_errors_are_problem_json_under_api_and_html_elsewhere(
    shipped: LiveServer, case: str
) -> None:
    template, expected = BAD_REQUESTS[case]
    for path in (b"/api/v1/customers", b"http://host/api/v1/keys"):
        status, headers, body = raw(shipped, template.replace(b"%s", path, 1))
        assert status == expected, body
        assert headers["content-type"] == "application/problem+json"
        problem = json.loads(body)
        assert problem["status"] == expected
        assert problem["code"] == "MALFORMED_REQUEST"
        assert problem["request_id"] == headers["x-request-id"]
        assert b"<html" not in body.lower()

    status, headers, body = raw(shipped, template.replace(b"%s", b"/portal/login", 1))
    assert status == expected
    assert headers["content-type"].startswith("text/html")


def test_requests_under_the_limits_still_reach_the_app(shipped: LiveServer) -> None:
    status, headers, body = raw(
        shipped,
        b"GET /api/v1/keys?q=" + b"x" * 3000 + b" HTTP/1.1\r\nHost: t\r\n"
        b"X-Long: " + b"y" * 8000 + b"\r\nConnection: close\r\n\r\n",
    )
    assert status == 200, body
    assert json.loads(body)["keys"]


def test_idle_and_trickling_clients_take_no_activation_away(
    start_server: Start, factory: Factory, engine: Engine
) -> None:
    """200 idle and 50 trickling connections on ONE worker whose arbiter
    timeout (2 s) they outlast: every activation is answered, none is lost,
    and the worker is never killed."""
    server = start_server(1, config=True, args=["--timeout", "2"])
    lic = factory.license(seats=100_000)  # far more than 4 s of activations take
    creds = {"license_id": lic.id, "activation_password": lic.activation_password}
    with SlowClients(server.url, idle=200, trickling=50, interval=0.25):
        got = activate_many(server.url, creds, 40, "slow", threads=4, until=time.monotonic() + 4)

    assert Counter(got.statuses) == {201: len(got.statuses)}, server.log()[-5000:]
    live, used = seat_counts(engine, lic.id)
    assert live == used == len(got.statuses)
    log = server.log()
    assert "WORKER TIMEOUT" not in log
    assert log.count("Booting worker") == 1, log


def test_every_documented_path_refuses_long_lines_and_headers_in_problem_json(
    shipped: LiveServer,
) -> None:
    """What schemathesis found on three list endpoints, on every path of the
    OpenAPI document: an over-long URL (414) or header (431) is problem+json."""
    openapi = b"GET /api/v1/openapi.json HTTP/1.1\r\nConnection: close\r\n\r\n"
    status, _, body = raw(shipped, openapi)
    assert status == 200
    documented = json.loads(body)["paths"]
    paths = [p.replace("{", "").replace("}", "") for p in documented if p.startswith("/api/")]
    assert len(paths) > 10
    for path in paths:
        for request, expected in (
            (b"GET %s?q=%s HTTP/1.1\r\n\r\n" % (path.encode(), b"z" * 5000), 414),
            (b"POST %s HTTP/1.1\r\nX-Big: %s\r\n\r\n" % (path.encode(), b"z" * 9000), 431),
        ):
            status, headers, body = raw(shipped, request)
            assert (status, headers["content-type"]) == (expected, "application/problem+json")
            assert json.loads(body)["code"] == "MALFORMED_REQUEST", (path, body)
