"""Fixtures of the reliability suite: real gunicorn servers on the session's test
database (``servers``), a direct database connection for counting (``engine``)
and a private key prefix in the Redis at 127.0.0.1:6379 (``redis_url``).

The scenarios themselves live in ``tests/reliability/harness.py``, shared with
``scripts/reliability.py``, which runs them at full size.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator

import pytest
import redis
from flask import Flask
from sqlalchemy.engine import Engine

from tests.live import LiveServer
from tests.reliability.harness import REDIS_URL, engine_for
from tests.support.database import BACKEND, TestDatabase


@pytest.fixture(scope="session")
def _shared_servers(test_database: TestDatabase) -> Iterator[dict[str, list[LiveServer]]]:
    cache: dict[str, list[LiveServer]] = {}
    try:
        yield cache
    finally:
        for group in cache.values():
            for s in group:
                s.stop()


@pytest.fixture
def race_servers(
    app: Flask, _shared_servers: dict[str, list[LiveServer]], test_database: TestDatabase
) -> list[LiveServer]:
    """PostgreSQL: two gunicorns of 2 workers each on one database; SQLite: one of 4."""
    group = _shared_servers.get("race")
    if group is None or not all(s.alive() for s in group):
        for s in group or []:
            s.stop()
        if BACKEND == "postgresql":
            group = [LiveServer(test_database, 2), LiveServer(test_database, 2)]
        else:
            group = [LiveServer(test_database, 4)]
        _shared_servers["race"] = group
    return group


@pytest.fixture
def start_server(app: Flask, test_database: TestDatabase) -> Iterator[Callable[..., LiveServer]]:
    """``start_server(workers, env={...})``: a gunicorn of the test's own, stopped after it."""
    started: list[LiveServer] = []

    def start(workers: int = 1, **kw: object) -> LiveServer:
        s = LiveServer(test_database, workers, **kw)  # type: ignore[arg-type]
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


@pytest.fixture
def engine(app: Flask, test_database: TestDatabase) -> Iterator[Engine]:
    eng = engine_for(test_database.url)
    yield eng
    eng.dispose()


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix no one else uses in the shared Redis; its keys are deleted after."""
    prefix = f"licserver-test-{secrets.token_hex(6)}"
    yield prefix
    r = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(r.scan_iter(match=f"*{prefix}*", count=1000))
        if keys:
            r.delete(*keys)
    finally:
        r.close()
