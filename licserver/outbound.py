"""Outbound HTTP to addresses our users give us (webhook receivers, store
integrations): one POST, pinned to the address that was checked.

The host name is resolved once; unless private addresses are allowed, a name
that resolves to any non-public address (loopback, private ranges, link-local:
``licserver.domain.webhooks.is_public_address``) is refused before connecting,
and the connection goes to the checked address (no second lookup a DNS
rebinding could answer differently) while sending the URL's host name (Host
header, TLS SNI and certificate check). A timeout on connecting and on every
read, no redirects followed, at most 4 KiB of the answer read; ``post`` never
raises: every failure is an ``Outcome``.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from licserver.domain.webhooks import is_public_address, is_success

MAX_RESPONSE_BYTES = 4096
EXCERPT_CHARS = 500


@dataclass(frozen=True)
class Outcome:
    """How one attempt went: the receiver's status code, or what failed."""

    status_code: int | None
    error: str | None
    duration_ms: int
    excerpt: str | None = None
    ok: bool = field(default=False)


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to the address that was checked, sends the URL's host name."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(
        self, host: str, port: int, address: str, timeout: float, context: ssl.SSLContext
    ) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._address = address
        self._ctx = context

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._ctx.wrap_socket(sock, server_hostname=self.host)


def _excerpt(data: bytes) -> str | None:
    if not data:
        return None
    text = data.decode("utf-8", errors="replace")
    text = "".join(ch if ch in "\n\t" or ch.isprintable() else " " for ch in text)
    return text[:EXCERPT_CHARS]


def _short(message: str) -> str:
    return message[:500]


class _Timer:
    def __init__(self) -> None:
        self.started = time.monotonic()

    def ms(self) -> int:
        return int((time.monotonic() - self.started) * 1000)


def _resolve(host: str, port: int, allow_private: bool) -> list[str] | str:
    """The addresses to connect to, or why there are none."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError) as exc:
        return _short(f"cannot resolve {host}: {exc}")
    addresses = [str(info[4][0]) for info in infos]
    if not allow_private:
        blocked = [a for a in addresses if not is_public_address(a)]
        if blocked:
            return _short(f"{host} resolves to a non-public address ({blocked[0]}); not sent")
    return addresses


def post(
    url: str, body: bytes, headers: Mapping[str, str], timeout: float, allow_private: bool
) -> Outcome:
    """POST ``body`` to ``url``: a timeout on connecting and on every read, no
    redirects followed, at most 4 KiB of the answer read. Never raises."""
    timer = _Timer()
    parts = urlsplit(url)
    host = parts.hostname or ""
    https = parts.scheme == "https"
    try:
        port = parts.port or (443 if https else 80)
    except ValueError as exc:
        return Outcome(None, _short(f"cannot resolve {host}: {exc}"), timer.ms())
    addresses = _resolve(host, port, allow_private)
    if isinstance(addresses, str):
        return Outcome(None, addresses, timer.ms())
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    conn: http.client.HTTPConnection
    if https:
        conn = _PinnedHTTPS(host, port, addresses[0], timeout, ssl.create_default_context())
    else:
        conn = _PinnedHTTP(host, port, addresses[0], timeout)
    try:
        conn.request("POST", path, body=body, headers=dict(headers))
        response = conn.getresponse()
        data = response.read(MAX_RESPONSE_BYTES)
        code = response.status
    except TimeoutError:
        return Outcome(None, f"timed out after {timeout:g} s", timer.ms())
    except (OSError, http.client.HTTPException) as exc:
        return Outcome(None, _short(f"{type(exc).__name__}: {exc}"), timer.ms())
    finally:
        conn.close()
    if is_success(code):
        return Outcome(code, None, timer.ms(), _excerpt(data), ok=True)
    if 300 <= code < 400:
        error = f"HTTP {code}: redirects are not followed"
    else:
        error = f"HTTP {code}"
    return Outcome(code, error, timer.ms(), _excerpt(data))
