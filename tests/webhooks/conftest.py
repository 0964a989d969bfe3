"""Webhook fixtures: the app allows loopback endpoints (the receiver lives on
127.0.0.1) with a short timeout; a real HTTP receiver in a thread; a clock the
test moves by hand."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from tests.webhooks.helpers import TIMEOUT_SECONDS, Clock, Worker
from tests.webhooks.receiver import Receiver


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "WEBHOOK_ALLOW_PRIVATE": True, "WEBHOOK_TIMEOUT_SECONDS": TIMEOUT_SECONDS}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    try:
        yield r
    finally:
        r.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def worker(app: Flask, clock: Clock) -> Worker:
    return Worker(app, clock)
