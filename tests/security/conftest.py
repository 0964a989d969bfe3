"""Fixtures of the security tests: the portal's (accounts, a browser on HTTPS,
real SMTP) and the SDK's (a live gunicorn), reused as they are."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from tests.conftest import TestDatabase
from tests.live import LiveServer
from tests.portal.conftest import (  # noqa: F401  (fixtures)
    browser,
    make_account,
    new_browser,
    smtp,
)


@pytest.fixture(scope="session")
def _security_servers(test_database: TestDatabase) -> Iterator[dict[str, LiveServer]]:
    servers: dict[str, LiveServer] = {}
    try:
        yield servers
    finally:
        for s in servers.values():
            s.stop()


@pytest.fixture
def live(
    app: Flask, _security_servers: dict[str, LiveServer], test_database: TestDatabase
) -> LiveServer:
    """A gunicorn shared by this folder's tests, on freshly emptied tables: its
    access log in its output, and a deactivation budget of one per day."""
    server = _security_servers.get("live")
    if server is None or not server.alive():
        server = _security_servers["live"] = LiveServer(
            test_database,
            1,
            env={
                "GUNICORN_CMD_ARGS": "--access-logfile -",
                "LICSERVER_DEACTIVATION_BUDGET": "1 per day",
            },
        )
    return server
