"""Bad input tried, generated: schemathesis against the live OpenAPI document,
anonymous and with an admin token (bounded; ``scripts/reliability.py fuzz``
runs it longer), on gunicorn with the shipped gunicorn.conf.py: a long URL
or header it generates meets gunicorn's limits, answered in problem+json."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from tests.live import LiveServer
from tests.reliability.fuzz import run_schemathesis
from tests.support.database import TestDatabase

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def _fuzz_server(test_database: TestDatabase) -> Iterator[LiveServer]:
    server = LiveServer(test_database, 2, config=True)
    yield server
    server.stop()


@pytest.mark.parametrize("who", ["anonymous", "admin"])
def test_schemathesis_finds_no_server_error_and_no_schema_break(
    who: str, app: Flask, _fuzz_server: LiveServer, admin_token: str, tmp_path: Path
) -> None:
    server = _fuzz_server

    got = run_schemathesis(
        server.url,
        admin_token if who == "admin" else None,
        max_examples=3,
        max_time=12,
        seed=20261122,
        workdir=tmp_path,
    )

    assert got.ok, got.output[:6000] + "\n...\n" + got.output[-6000:]
