"""Idle and trickling clients against a live server (docs/reliability.md, "Slow
clients"), for tests/reliability/test_slow_clients.py and
``scripts/slow_clients.py``.

``SlowClients(url, idle=200, trickling=50)`` keeps that many connections open
from one background thread: the idle ones send nothing; the trickling ones
send a request one byte per ``interval`` seconds (half of them an endless
header, half a body slower than its ``Content-Length``). A connection the
server closes is opened again, so the numbers hold for the whole run;
``closed_by_server`` counts those closings.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from tests.support import loopback

_HEAD_TRICKLE = b"GET /api/v1/keys HTTP/1.1\r\nHost: slow\r\nX-Slow: " + b"a" * 4000
_BODY_TRICKLE = (
    b"POST /api/v1/activations HTTP/1.1\r\nHost: slow\r\n"
    b"Content-Type: application/json\r\nContent-Length: 4000\r\n\r\n" + b" " * 4000
)


@dataclass
class _Trickler:
    sock: socket.socket
    data: bytes
    sent: int = 0


@dataclass
class SlowClients:
    url: str
    idle: int = 200
    trickling: int = 50
    interval: float = 0.5
    closed_by_server: int = 0
    _idle: list[socket.socket] = field(default_factory=list)
    _tricklers: list[_Trickler] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _connect(self) -> socket.socket:
        parts = urlsplit(self.url)
        sock = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), 5)
        sock.setblocking(False)
        return sock

    def _trickler(self, i: int) -> _Trickler:
        return _Trickler(self._connect(), _HEAD_TRICKLE if i % 2 == 0 else _BODY_TRICKLE)

    def __enter__(self) -> SlowClients:
        self._idle = [self._connect() for _ in range(self.idle)]
        self._tricklers = [self._trickler(i) for i in range(self.trickling)]
        self._thread = threading.Thread(target=self._run, name="slow-clients", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        for sock in self._idle + [t.sock for t in self._tricklers]:
            sock.close()

    def _closed(self, sock: socket.socket) -> bool:
        try:
            sock.recv(65536)  # b"" (closed) or an answer: either way it is over
            return True
        except BlockingIOError:
            return False
        except OSError:
            return True

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for n, sock in enumerate(self._idle):
                if self._closed(sock):
                    self.closed_by_server += 1
                    sock.close()
                    self._idle[n] = self._connect()
            for n, t in enumerate(self._tricklers):
                try:
                    if t.sent >= len(t.data) or self._closed(t.sock):
                        raise ConnectionResetError
                    t.sent += t.sock.send(t.data[t.sent : t.sent + 1])
                except OSError:
                    self.closed_by_server += 1
                    t.sock.close()
                    self._tricklers[n] = self._trickler(n)


@dataclass
class Activations:
    statuses: list[int]  # 0: no answer
    seconds: list[float]  # each answer's latency

    def p99(self) -> float:
        ordered = sorted(self.seconds)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def activate_many(
    url: str, creds: dict[str, str], n: int, tag: str, threads: int = 4, until: float = 0.0
) -> Activations:
    """``n`` distinct installations activate on one licence over ``threads``
    connections (kept alive), or more, until ``time.monotonic() >= until``."""
    import time

    import httpx

    lock = threading.Lock()
    statuses: list[int] = []
    seconds: list[float] = []
    counter = iter(range(1_000_000))

    def worker() -> None:
        with loopback.Client(base_url=url, timeout=30) as http:
            while True:
                with lock:
                    i = next(counter)
                if i >= n and time.monotonic() >= until:
                    return
                body = {**creds, "installation_id": f"{tag}-{i:05d}", "machine_name": f"PC-{i}"}
                start = time.perf_counter()
                try:
                    status = http.post("/api/v1/activations", json=body).status_code
                except httpx.HTTPError:
                    status = 0  # no answer (a timeout, a closed connection)
                with lock:
                    statuses.append(status)
                    seconds.append(time.perf_counter() - start)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return Activations(statuses, seconds)
