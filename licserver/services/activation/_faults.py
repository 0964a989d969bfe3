"""TEST-ONLY: the fault point around an activation's COMMIT (tests/reliability,
scripts/reliability.py; docs/reliability.md).

With ``LICSERVER_TESTING_FAULTS=1``, ``LICSERVER_FAULT_POINT=before_commit|after_commit``
kills this worker (SIGKILL) at that point of its ``LICSERVER_FAULT_NTH``-th
activation (default 1); with ``LICSERVER_FAULT_MARKER=path``, only the first worker
to create that file does (once per server, not once per respawned worker). Read
once per process; without ``LICSERVER_TESTING_FAULTS=1`` ``fault`` is a no-op.
"""

from __future__ import annotations

import os
import signal
from functools import cache

BEFORE_COMMIT = "before_commit"
AFTER_COMMIT = "after_commit"

_count = 0


@cache
def _setting() -> tuple[str, int, str]:
    if os.environ.get("LICSERVER_TESTING_FAULTS") != "1":
        return "", 0, ""
    env = os.environ
    nth = int(env.get("LICSERVER_FAULT_NTH", "1"))
    return env.get("LICSERVER_FAULT_POINT", ""), nth, env.get("LICSERVER_FAULT_MARKER", "")


def fault(point: str) -> None:
    """Kill this worker here if the test asked for ``point`` (else nothing)."""
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
