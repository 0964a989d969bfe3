"""Webhook fixtures: the app allows loopback endpoints (the receiver lives on
127.0.0.1) with a short timeout; a real HTTP receiver in a thread; a clock the
test moves by hand."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask

from licserver.extensions import db
from licserver.models import utcnow
from licserver.runtime import context
from licserver.services import webhooks as svc
from tests.webhooks.receiver import Receiver

TIMEOUT_SECONDS = 2


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


class Clock:
    """The worker's time, moved by the test."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


class Worker:
    """``services.webhooks`` as the deliver command runs it."""

    def __init__(self, app: Flask, clock: Clock) -> None:
        self.app, self.clock = app, clock

    def add(self, url: str, events: list[str], **kw: Any) -> tuple[str, str]:
        endpoint, secret = svc.create(
            context(),
            url=url,
            events=events,
            **kw,
        )
        return endpoint.public_id, secret

    def deliver(self) -> svc.PassResult:
        try:
            return svc.deliver(replace(context(), clock=self.clock))
        finally:
            db.session.remove()

    def deliver_in_own_context(self) -> svc.PassResult:
        """As another process would: its own app context, session and connection."""
        with self.app.app_context():
            try:
                return svc.deliver(replace(context(), clock=self.clock))
            finally:
                db.session.remove()


@pytest.fixture
def worker(app: Flask, clock: Clock) -> Worker:
    return Worker(app, clock)
