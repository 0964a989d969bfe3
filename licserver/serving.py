"""The gunicorn worker the shipped ``gunicorn.conf.py`` runs (docs/reliability.md,
"Slow clients").

``ApiThreadWorker`` is gunicorn's threaded worker with two changes:

- **No thread for a request that has not fully arrived.** A connection waits
  in the worker's event loop (no thread) until its request head (request line
  and headers) and, for a ``Content-Length`` body up to ``BODY_BUFFER``
  bytes, its body are in memory; only then a thread parses and serves it. An
  idle or trickling client costs a file descriptor and a few bytes, never a
  thread, and is closed ``READ_TIMEOUT`` seconds after the wait began. The
  main loop keeps notifying the arbiter whatever the threads do, so the
  arbiter's timeout never kills a worker (and the requests it serves) because
  of a client.
- **problem+json under /api/.** The answers gunicorn makes itself when it
  cannot parse a request (414 request line too long, 431 header fields too
  large or too many, 400 malformed request line or header) are
  ``application/problem+json`` with code ``MALFORMED_REQUEST`` when the
  request's target is under ``/api/``; other paths keep gunicorn's HTML page.

Imported by the gunicorn arbiter: nothing of Flask or licserver's app here.
"""

from __future__ import annotations

import errno
import json
import re
import secrets
import selectors
import threading
import time
from collections import deque
from functools import partial
from typing import Any

from gunicorn.http import errors as http_errors
from gunicorn.workers.gthread import TConn, ThreadWorker

#: Seconds a connection may take, from the moment the server waits for it, to
#: deliver a whole request (or, kept alive, to start the next one).
READ_TIMEOUT = 10.0
#: Largest body waited for in the event loop; a larger one (which the app
#: refuses with 413 anyway) is read by the thread.
BODY_BUFFER = 256 * 1024
#: A head that has not ended after this many bytes is handed to gunicorn's
#: parser, whose limits (limit_request_line, limit_request_field_size) answer.
HEAD_BUFFER = 128 * 1024
#: Seconds a thread waits on one recv() (a chunked body, a body over
#: BODY_BUFFER) before it gives the connection up.
SOCKET_TIMEOUT = 5.0

_CONTENT_LENGTH = re.compile(rb"\ncontent-length[ \t]*:[ \t]*(\d{1,12})[ \t]*\r?\n", re.IGNORECASE)
_REASONS = {
    400: "Bad Request",
    403: "Forbidden",
    414: "URI Too Long",
    417: "Expectation Failed",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
}


def request_complete(buf: bytes | bytearray) -> bool:
    """Whether ``buf`` holds a whole request head and its announced body (or
    enough that gunicorn's own limits should decide)."""
    end = buf.find(b"\r\n\r\n")
    sep = 4
    if end < 0:
        end, sep = buf.find(b"\n\n"), 2
    if end < 0:
        return len(buf) > HEAD_BUFFER
    found = _CONTENT_LENGTH.search(buf, 0, end + sep)
    if found is None:
        return True
    wanted = min(int(found.group(1)), BODY_BUFFER)
    return len(buf) >= end + sep + wanted


def is_api_target(head: bytes) -> bool:
    """Whether a request (its first bytes) targets ``/api`` or below."""
    line = head.split(b"\n", 1)[0]
    parts = line.split(b" ", 2)
    target = parts[1] if len(parts) > 1 else b""
    if b"://" in target[:16]:  # absolute form: http://host/api/...
        slash = target.find(b"/", target.find(b"://") + 3)
        target = target[slash:] if slash >= 0 else b"/"
    return target == b"/api" or target.startswith((b"/api/", b"/api?"))


def problem_answer(status: int, detail: str) -> bytes:
    """A whole HTTP/1.1 answer: problem+json, code MALFORMED_REQUEST (or
    INTERNAL_ERROR for a 5xx), connection closed."""
    reason = _REASONS.get(status, "Bad Request")
    rid = secrets.token_hex(16)
    body = {
        "type": "about:blank",
        "title": reason,
        "status": status,
        "code": "INTERNAL_ERROR" if status >= 500 else "MALFORMED_REQUEST",
        "detail": detail,
        "request_id": rid,
    }
    data = (json.dumps(body) + "\n").encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/problem+json\r\n"
        f"Content-Length: {len(data)}\r\n"
        "Cache-Control: no-store\r\n"
        f"X-Request-ID: {rid}\r\n\r\n"
    )
    return head.encode("latin-1") + data


# gunicorn's parse errors -> our status and detail; the first match answers
_PARSE_ERRORS: tuple[tuple[type[BaseException], int, str], ...] = (
    (http_errors.LimitRequestLine, 414, "The request line is longer than this server accepts."),
    (http_errors.LimitRequestHeaders, 431, "Header fields too large or too many."),
    (http_errors.ForbiddenProxyRequest, 403, "Request forbidden."),
    (http_errors.UnsupportedTransferCoding, 501, "Unsupported transfer coding."),
    (http_errors.ExpectationFailed, 417, "Unsupported Expect header."),
    (http_errors.ParseException, 400, "The request line or a header is malformed."),
)


def _status_of(exc: BaseException) -> tuple[int, str]:
    for kind, status, detail in _PARSE_ERRORS:
        if isinstance(exc, kind):
            return status, detail
    return 500, "The server could not answer this request."


class _Conn(TConn):  # type: ignore[misc]
    """A connection with the bytes the event loop read for it."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.buf = bytearray()

    def init(self) -> None:
        super().init()
        if self.buf:
            self.parser.unreader.unread(bytes(self.buf))
            self.buf.clear()
        self.sock.settimeout(SOCKET_TIMEOUT)


class ApiThreadWorker(ThreadWorker):  # type: ignore[misc]
    """gunicorn's gthread worker; see the module's docstring."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reading: deque[_Conn] = deque()  # oldest deadline first
        self._local = threading.local()

    # ---- the event loop side ---------------------------------------------

    def accept(self, listener: Any) -> None:
        try:
            client_sock, client_addr = listener.accept()
        except OSError as e:
            if e.errno in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                return
            raise
        self.nr_conns += 1
        self._wait_for_request(_Conn(self.cfg, client_sock, client_addr, listener.getsockname()))

    def on_client_socket_readable(self, conn: _Conn, client: Any) -> None:
        """A kept-alive connection began its next request: read it here too."""
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self._wait_for_request(conn)
        self._on_readable(conn, client)

    def _wait_for_request(self, conn: _Conn) -> None:
        conn.sock.setblocking(False)
        conn.timeout = time.monotonic() + READ_TIMEOUT
        self.reading.append(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_readable, conn))

    def _on_readable(self, conn: _Conn, client: Any) -> None:
        try:
            data = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if data:
            conn.buf += data
            if not request_complete(conn.buf):
                return
        self._stop_reading(conn)
        if not data:  # the client closed (or reset) before a whole request
            self.nr_conns -= 1
            conn.close()
            return
        conn.data_ready = True
        self.enqueue_req(conn)

    def _stop_reading(self, conn: _Conn) -> None:
        try:
            self.poller.unregister(conn.sock)
        except (OSError, KeyError, ValueError):
            pass
        self.reading.remove(conn)

    def murder_pending(self) -> None:
        """Close connections whose request did not arrive in READ_TIMEOUT."""
        super().murder_pending()
        now = time.monotonic()
        while self.reading and self.reading[0].timeout <= now:
            conn = self.reading[0]
            self._stop_reading(conn)
            self.nr_conns -= 1
            conn.close()

    # ---- the thread side -------------------------------------------------

    def handle(self, conn: _Conn) -> Any:
        self._local.head = bytes(conn.buf[:512])
        return super().handle(conn)

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        head = getattr(self._local, "head", b"")
        if not is_api_target(head) or isinstance(
            exc, (http_errors.InvalidResponseHeader, http_errors.InvalidResponseHeaderName)
        ):
            super().handle_error(req, client, addr, exc)
            return
        status, detail = _status_of(exc)
        if status >= 500:
            self.log.exception("Error handling request under /api/")
        else:
            ip = (addr or ("", -1))[0]
            self.log.warning("Invalid request from ip=%s: %s", ip, exc)
        try:
            client.settimeout(SOCKET_TIMEOUT)
            client.sendall(problem_answer(status, detail))
        except OSError:
            self.log.debug("Failed to send error message.")
