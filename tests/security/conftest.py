"""Fixtures of the security tests: the portal's (accounts, a browser on HTTPS,
real SMTP) and the SDK's (a live gunicorn), reused as they are."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.live import LiveServer
from tests.support.database import TestDatabase


@pytest.fixture
def live(
    app: Flask,
    _sdk_servers: dict[str, LiveServer],
    test_database: TestDatabase,
) -> LiveServer:
    """A gunicorn shared by this folder's tests, on freshly emptied tables: its
    access log in its output, and a deactivation budget of one per day."""
    server = _sdk_servers.get("security")
    if server is None or not server.alive():
        server = _sdk_servers["security"] = LiveServer(
            test_database,
            1,
            env={
                "GUNICORN_CMD_ARGS": "--access-logfile -",
                "LICSERVER_DEACTIVATION_BUDGET": "1 per day",
            },
        )
    return server
