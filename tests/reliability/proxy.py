"""A loopback TCP proxy that loses a share of the server's answers at random:
the request reaches the real server, which answers (so it has committed), and
the proxy hangs up on the client instead. Seeded, so a sequential run loses the
same answers every time."""

from __future__ import annotations

import random
import threading

from tests.sdk.proxy import LosingProxy


class RandomLosingProxy(LosingProxy):
    def __init__(self, upstream_url: str, *, share: float, seed: int) -> None:
        self.share = share
        self._random = random.Random(seed)
        self.lost = 0
        super().__init__(upstream_url, lose=0)

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
                lose = self._random.random() < self.share
                self.lost += lose
            worker = threading.Thread(target=self._relay, args=(conn, lose), daemon=True)
            self._threads.append(worker)
            worker.start()
