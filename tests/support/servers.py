"""Fixtures: a real gunicorn serving ``licserver:create_app()`` on the session's
test database (a plugin, registered in ``tests/conftest.py``).

``live_server(workers=4)`` gives a running server whose tables the ``app``
fixture has just emptied; tests create rows with ``factory`` (directly in the
database) or through the admin API, then talk real HTTP to the server.
Servers are started once per worker count and stopped at the end of the run
(of each pytest-xdist worker): each start costs a second or two, and no test
depends on a server's memory (rate limits are off).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from flask import Flask

from tests.live import LiveServer
from tests.support.database import TestDatabase


@pytest.fixture(scope="session")
def _live_servers(test_database: TestDatabase) -> Iterator[dict[int, LiveServer]]:
    servers: dict[int, LiveServer] = {}
    try:
        yield servers
    finally:
        for server in servers.values():
            server.stop()


@pytest.fixture
def live_server(
    app: Flask, _live_servers: dict[int, LiveServer], test_database: TestDatabase
) -> Callable[..., LiveServer]:
    """``live_server(workers=4)``: a running gunicorn on the freshly emptied tables.

    Depends on ``app``, so the tables are empty and an app context is open:
    ``factory`` and ``admin_token`` work alongside it.
    """

    def start(workers: int = 4) -> LiveServer:
        server = _live_servers.get(workers)
        if server is not None and not server.alive():
            server.stop()
            server = None
        if server is None:
            server = _live_servers[workers] = LiveServer(test_database, workers)
        return server

    return start
