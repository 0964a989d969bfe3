"""Bad input tried, by hand: malformed JSON of every kind, wrong content types,
oversized bodies and headers, absurd list limits, sent over real HTTP to a
gunicorn: always a 4xx problem+json, never a 5xx, and the worker's memory
stays bounded while it refuses them."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.live import LiveServer
from tests.support.factory import Factory

pytestmark = pytest.mark.e2e

CLIENT_POSTS = ["/api/v1/activations", "/api/v1/validate", "/api/v1/activations/A-X/checkin"]
VALID = b'{"license_key": "LK1.a.b", "installation_id": "install-0001", "machine_name": "PC"}'

MALFORMED: dict[str, bytes] = {
    **{f"truncated at {n}": VALID[:n] for n in (1, 2, 10, 20, 40, len(VALID) - 1)},
    "empty": b"",
    "whitespace": b" \n\t ",
    "array": b"[1, 2, 3]",
    "string": b'"text"',
    "number": b"42",
    "null": b"null",
    "trailing comma": b'{"a": 1,}',
    "single quotes": b"{'a': 1}",
    "unquoted key": b"{a: 1}",
    "comment": b'{"a": 1 /* x */}',
    "two objects": b'{"a": 1}{"b": 2}',
    "NaN": b'{"license_key": NaN}',
    "Infinity": b'{"seats": Infinity}',
    "-Infinity": b'{"seats": -Infinity}',
    "deep arrays": b"[" * 30000 + b"]" * 30000,
    "deep objects": b'{"a":' * 10000 + b"1" + b"}" * 10000,
    "deep inside a field": b'{"client": ' + b"[" * 20000 + b"]" * 20000 + b"}",
    "not UTF-8": b'{"machine_name": "\xff\xfe"}',
    "UTF-16": VALID.decode().encode("utf-16"),
    "lone surrogate escape": b'{"license_key": "\\ud800", "installation_id": "install-0001", '
    b'"machine_name": "PC"}',
    "lone surrogate in a name": b'{"license_key": "k", "installation_id": "install-0001", '
    b'"machine_name": "a\\udfffb"}',
    "NUL in a string": b'{"license_key": "a\\u0000b", "installation_id": "install-0001", '
    b'"machine_name": "PC"}',
    "raw NUL": b'{"license_key": "a\x00b"}',
    "control character": b'{"machine_name": "a\x01b"}',
    "huge number": b'{"installation_id": ' + b"9" * 5000 + b"}",
    "huge exponent": b'{"installation_id": 1e999999}',
    "wrong types": b'{"license_key": 1, "installation_id": [], "machine_name": {}}',
    "duplicate keys": b'{"machine_name": "a", "machine_name": 1}',
    "unknown field": b'{"license_key": "k", "installation_id": "install-0001", '
    b'"machine_name": "PC", "admin": true}',
    "BOM": b"\xef\xbb\xbf" + VALID,
}


def _assert_problem_4xx(r: httpx.Response, what: str) -> None:
    assert 400 <= r.status_code < 500, (what, r.status_code, r.text[:500])
    assert r.headers["content-type"].startswith("application/problem+json"), (what, r.text[:300])
    body = r.json()
    assert body["status"] == r.status_code and body["code"], (what, body)


@pytest.fixture
def server(race_servers: list[LiveServer]) -> LiveServer:
    return race_servers[0]


def test_malformed_json_of_every_kind_is_a_4xx_problem(server: LiveServer) -> None:
    with server.client() as http:
        for path in CLIENT_POSTS:
            for what, raw in MALFORMED.items():
                r = http.post(path, content=raw, headers={"Content-Type": "application/json"})
                _assert_problem_4xx(r, f"{path}: {what}")


def test_admin_endpoints_refuse_malformed_json_the_same_way(
    server: LiveServer, admin_token: str
) -> None:
    with server.client(admin_token) as http:
        for path in ("/api/v1/products", "/api/v1/customers", "/api/v1/licenses"):
            for what, raw in MALFORMED.items():
                r = http.post(path, content=raw, headers={"Content-Type": "application/json"})
                _assert_problem_4xx(r, f"{path}: {what}")


@pytest.mark.parametrize(
    "ctype",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        "application/json; charset=latin-1",
        "",
    ],
)
def test_any_content_type_is_read_as_json_or_refused_as_4xx(
    server: LiveServer, factory: Factory, ctype: str
) -> None:
    lic = factory.license()
    body = json.dumps(
        {"license_key": lic.key, "installation_id": "ctype-install-1", "machine_name": "PC"}
    ).encode()
    with server.client() as http:
        r = http.post("/api/v1/activations", content=body, headers={"Content-Type": ctype})
        # JSON is JSON whatever the label (clients forget it) ...
        assert r.status_code == 201, (ctype, r.text)
        # ... and a real form or XML body is a 400 problem
        r = http.post(
            "/api/v1/activations", content=b"license_key=x&a=b", headers={"Content-Type": ctype}
        )
        _assert_problem_4xx(r, ctype)


def test_oversized_bodies_are_413_problems(server: LiveServer) -> None:
    big = b'{"machine_name": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    with server.client() as http:
        r = http.post("/api/v1/activations", content=big)
        _assert_problem_4xx(r, "2 MiB")
        assert r.status_code == 413

        # streamed without a Content-Length (chunked): the limit holds as well
        def chunks() -> Iterator[bytes]:
            for _ in range(64):
                yield b"x" * 32768

        r = http.post(
            "/api/v1/activations", content=chunks(), headers={"Content-Type": "application/json"}
        )
        assert r.status_code in (400, 413), r.text
        _assert_problem_4xx(r, "chunked")


def test_large_headers_within_gunicorns_limits_are_problems(server: LiveServer) -> None:
    with server.client() as http:
        r = http.get("/api/v1/products", headers={"Authorization": "Bearer " + "x" * 8000})
        _assert_problem_4xx(r, "8 KB bearer")
        assert r.json()["code"] == "UNAUTHORIZED"
        r = http.delete(
            "/api/v1/activations/A-X", headers={"Authorization": "Activation " + "y" * 8000}
        )
        _assert_problem_4xx(r, "8 KB activation token")
        many = {f"X-Filler-{i}": "z" * 50 for i in range(90)}
        r = http.post("/api/v1/validate", content=VALID, headers=many)
        _assert_problem_4xx(r, "90 headers")


def test_headers_past_gunicorns_limits_are_refused_before_licserver(server: LiveServer) -> None:
    """gunicorn's own 4xx, never a 5xx or a hang (problem+json with the shipped
    gunicorn.conf.py: test_shipped_server.py)."""
    with server.client() as http:
        r = http.get("/api/v1/keys", headers={"X-Big": "x" * 20000})
        assert 400 <= r.status_code < 500
        r = http.get("/api/v1/keys", headers={f"X-H{i}": "1" for i in range(150)})
        assert 400 <= r.status_code < 500
        assert http.get("/healthz").status_code == 200


@pytest.mark.parametrize(
    "limit", ["0", "-1", "201", "1" + "0" * 30, "1e3", "abc", "", "50.0", "0x10"]
)
def test_absurd_list_limits_are_422(server: LiveServer, admin_token: str, limit: str) -> None:
    with server.client(admin_token) as http:
        for path in ("/api/v1/licenses", "/api/v1/products", "/api/v1/activations"):
            r = http.get(path, params={"limit": limit})
            _assert_problem_4xx(r, f"{path}?limit={limit}")
            assert r.status_code == 422, (path, limit, r.text)
        r = http.get("/api/v1/licenses", params={"cursor": "x" * 3000})
        _assert_problem_4xx(r, "long cursor")


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _worker_pids(server: LiveServer) -> list[int]:
    arbiter = server.process.pid
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == arbiter:
            pids.append(int(stat.parent.name))
    return pids


def test_memory_stays_bounded_while_refusing_bad_bodies(
    start_server: Callable[..., LiveServer],
) -> None:
    server = start_server(1)
    [worker] = _worker_pids(server)
    deep = b"[" * 32000 + b"]" * 32000
    big = b"x" * (2 * 1024 * 1024)
    with server.client() as http:
        for _ in range(10):  # warm up: first-use allocations are not growth
            http.post("/api/v1/activations", content=deep)
        before = _rss_kib(worker)
        for _ in range(60):
            assert http.post("/api/v1/activations", content=deep).status_code == 400
            assert http.post("/api/v1/activations", content=big).status_code == 413
        after = _rss_kib(worker)
    assert after - before < 32 * 1024, (before, after)
    assert server.alive() and _worker_pids(server) == [worker]  # no crash, no restart


def test_a_half_sent_body_does_not_hang_or_crash_the_server(server: LiveServer) -> None:
    """The client says 1000 bytes, sends 10 and hangs up."""
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(
            b"POST /api/v1/activations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 1000\r\n\r\n{"license_'
        )
    with server.client() as http:
        assert http.get("/healthz").status_code == 200
