"""A loopback TCP proxy that loses answers: the request reaches the real
server, the server answers (so it has committed), and the proxy hangs up on
the client instead of passing the answer on. Later connections go through."""

from __future__ import annotations

import selectors
import socket
import threading
from urllib.parse import urlsplit


class LosingProxy:
    def __init__(self, upstream_url: str, *, lose: int = 1) -> None:
        parts = urlsplit(upstream_url)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.lose = lose
        self.connections = 0
        self.lost_answers: list[bytes] = []  # what the server said, never delivered
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept_loop, daemon=True)
        self._accepting.start()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
                lose = self.connections <= self.lose
            worker = threading.Thread(target=self._relay, args=(conn, lose), daemon=True)
            self._threads.append(worker)
            worker.start()

    def _relay(self, client: socket.socket, lose: bool) -> None:
        swallowed = bytearray()
        with client, socket.create_connection(self._upstream, timeout=30) as upstream:
            client.settimeout(30)
            with selectors.DefaultSelector() as sel:
                sel.register(client, selectors.EVENT_READ)
                sel.register(upstream, selectors.EVENT_READ)
                while not self._stop.is_set():
                    for key, _ in sel.select(timeout=0.1):
                        sock = key.fileobj
                        assert isinstance(sock, socket.socket)
                        data = sock.recv(65536)
                        if sock is client:
                            if not data:
                                return  # the client gave up
                            upstream.sendall(data)
                        elif data and lose:
                            swallowed += data
                        elif data:
                            client.sendall(data)
                        else:  # the server has answered in full and closed
                            if lose:
                                self.lost_answers.append(bytes(swallowed))
                            return

    def close(self) -> None:
        self._stop.set()
        self._accepting.join(timeout=5)
        self._listener.close()
        for worker in self._threads:
            worker.join(timeout=5)
