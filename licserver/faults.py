"""TEST-ONLY fault points (tests/reliability, tests/stores, scripts/reliability.py).

With ``LICSERVER_TESTING_FAULTS=1`` and ``LICSERVER_FAULT_POINT=<point>``,
``fault(point)`` kills this worker (SIGKILL) at its ``LICSERVER_FAULT_NTH``-th
passage through that point (default 1); with ``LICSERVER_FAULT_MARKER=path``,
only the first worker to create that file does (once per server, not once per
respawned worker). Read once per process; without ``LICSERVER_TESTING_FAULTS=1``
it is a no-op. Points: ``before_commit``/``after_commit`` (an activation),
``store_before_commit`` (a store event, its effect flushed, before the COMMIT).
"""

from __future__ import annotations

import os
import signal
from functools import cache

_count = 0


@cache
def _setting() -> tuple[str, int, str]:
    if os.environ.get("LICSERVER_TESTING_FAULTS") != "1":
        return "", 0, ""
    env = os.environ
    nth = int(env.get("LICSERVER_FAULT_NTH", "1"))
    return env.get("LICSERVER_FAULT_POINT", ""), nth, env.get("LICSERVER_FAULT_MARKER", "")


def fault(point: str) -> None:
    global _count
    wanted, nth, marker = _setting()
    if wanted != point:
        return
    _count += 1
    if _count != nth:
        return
    if marker:
        try:
            os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return
    os.kill(os.getpid(), signal.SIGKILL)
