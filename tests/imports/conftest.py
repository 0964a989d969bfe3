"""A gunicorn of the imports tests' own, on the tables the ``app`` fixture emptied."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from tests.live import LiveServer
from tests.support.database import TestDatabase


@pytest.fixture
def server(app: Flask, test_database: TestDatabase) -> Iterator[LiveServer]:
    live = LiveServer(test_database, workers=1)
    try:
        yield live
    finally:
        live.stop()
