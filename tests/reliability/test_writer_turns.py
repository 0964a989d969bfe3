"""SQLite writers take turns on an flock beside the database (licserver.database):
the first writers of a new server process arrive together, and every one of
them gets its turn. (Found in CI: two threads opened the turns file twice, the
process then held the flock through one descriptor and waited on it through
the other, and every writer of the worker hung.)"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from licserver.database import WRITE_LOCK, configure_engine


def test_the_first_writers_of_a_process_arriving_together_all_get_their_turn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "turns.db"
    engine = create_engine(f"sqlite:///{db}", pool_size=8)
    configure_engine(engine, busy_timeout_ms=5000)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))

    # The turns file opens slowly (a loaded machine): every thread's first
    # write is inside the open at once.
    real_open = os.open

    def slow_open(path: Any, *args: Any, **kw: Any) -> int:
        if str(path).endswith("-writers"):
            time.sleep(0.2)
        return real_open(path, *args, **kw)

    monkeypatch.setattr(os, "open", slow_open)
    start = threading.Barrier(6)
    done: list[int] = []

    def writer(n: int) -> None:
        start.wait()
        for _ in range(3):
            with engine.connect() as conn:
                conn = conn.execution_options(**{WRITE_LOCK: True})
                with conn.begin():
                    conn.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})
        done.append(n)

    threads = [threading.Thread(target=writer, args=(n,), daemon=True) for n in range(6)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 20
    for t in threads:
        t.join(timeout=max(0.0, deadline - time.monotonic()))
    assert sorted(done) == list(range(6)), "writers hung waiting for a turn"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 18

    # and the turn is free again once they are done: another process's
    # descriptor takes the flock at once
    fd = real_open(f"{db}-writers", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(fd)
    engine.dispose()
