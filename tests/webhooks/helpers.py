"""Helpers of tests/webhooks (not fixtures): moved out of its conftest so test
modules import them from here."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from flask import Flask

from licserver.extensions import db
from licserver.models import utcnow
from licserver.runtime import context
from licserver.services import webhooks as svc

TIMEOUT_SECONDS = 2


class Clock:
    """The worker's time, moved by the test."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


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
