"""A real SMTP server for tests (aiosmtpd on 127.0.0.1, a free port), collecting
every message it is handed.

Registered by ``tests/conftest.py`` (``pytest_plugins``); it provides:

- ``smtp_server``: the running server (``host``, ``port``, ``messages``);
- ``with_smtp(app_config, smtp_server)``: point the app's mail at it. The app
  reads ``app_config`` when it is built, so do this in an ``app_config``
  override fixture (or before the test first touches ``app``/``client``/``admin``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


class _Collector:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        data = raw if isinstance(raw, bytes) else str(raw).encode()
        msg = message_from_bytes(data, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        with self.lock:
            self.messages.append(msg)
            self.envelopes.append((str(envelope.mail_from), list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


class _FreePortController(Controller):
    """Binds port 0 and learns the port the kernel chose: no race for a free port."""

    def _trigger_server(self) -> None:
        server: Any = self.server
        if self.port == 0 and server is not None:
            self.port = server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


class SmtpServer:
    """A running SMTP server and what it has received."""

    def __init__(self, controller: _FreePortController, collector: _Collector) -> None:
        self.host = "127.0.0.1"
        self._controller = controller
        self._collector = collector

    @property
    def port(self) -> int:
        port: int = self._controller.port
        return port

    @property
    def messages(self) -> list[EmailMessage]:
        with self._collector.lock:
            return list(self._collector.messages)

    @property
    def envelopes(self) -> list[tuple[str, list[str]]]:
        """(MAIL FROM, RCPT TO list) of each message."""
        with self._collector.lock:
            return list(self._collector.envelopes)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[EmailMessage]:
        """The messages, once at least ``count`` have arrived (sending is synchronous,
        so this only covers the server thread's hand-over)."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.messages


def with_smtp(app_config: dict[str, Any], server: SmtpServer) -> dict[str, Any]:
    app_config["SMTP_HOST"] = server.host
    app_config["SMTP_PORT"] = server.port
    app_config["SMTP_TIMEOUT"] = 5
    return app_config


def body_text(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    assert part is not None, "no text/plain part"
    content: str = part.get_content()
    return content


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    collector = _Collector()
    controller = _FreePortController(collector, hostname="127.0.0.1", port=0)
    controller.start()
    try:
        yield SmtpServer(controller, collector)
    finally:
        controller.stop()
