"""A loopback HTTP proxy that alters answers: every request goes to the real
server (with the proxy's own Host, so links the server builds point back
through the proxy), and ``alter(path, body)`` may change what the client gets.
For the tests of what the SDK refuses."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.support import loopback

Alter = Callable[[str, bytes], bytes]


class TamperingProxy:
    def __init__(self, upstream_url: str, alter: Alter) -> None:
        self.alter = alter
        # (method, path, Range header) of every request, in order.
        self.requests: list[tuple[str, str, str | None]] = []
        # Cut the next answer of a path containing ``cut_path`` after this
        # many bytes of its body (its Content-Length says all): a lost line.
        self.cut_path = ""
        self.cut_after: int | None = None
        upstream = loopback.Client(base_url=upstream_url, timeout=30)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _relay(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() != "content-length"}
                proxy.requests.append((self.command, self.path, self.headers.get("Range")))
                r = upstream.request(self.command, self.path, content=body, headers=headers)
                data = proxy.alter(self.path, r.content)
                cut = None
                if proxy.cut_after is not None and proxy.cut_path and proxy.cut_path in self.path:
                    cut, proxy.cut_after = proxy.cut_after, None
                self.send_response(r.status_code)
                for k, v in r.headers.items():
                    if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if cut is not None:
                    self.wfile.write(data[:cut])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self.wfile.write(data)

            do_GET = do_POST = _relay  # noqa: N815 - http.server's names

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self._upstream = upstream
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def resumed_at(self) -> int:
        """The byte the second of exactly two downloads asked for (its Range),
        the first having asked for the whole file."""
        ranges = [r[2] for r in self.requests if "/updates/download/" in r[1]]
        assert len(ranges) == 2 and ranges[0] is None, ranges
        return int((ranges[1] or "").removeprefix("bytes=").rstrip("-"))

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._upstream.close()


def forge_update(field: str, value: object) -> Alter:
    """An ``alter`` that changes one field of a ``/updates`` answer's update:
    ``manifest`` replaces the SHA-256 inside the signed manifest's payload
    (its signature kept), any other name the answer's own field."""

    def alter(path: str, body: bytes) -> bytes:
        if path != "/api/v1/updates":
            return body
        doc = json.loads(body)
        if field == "manifest":
            head, claims_b64, sig = doc["update"]["manifest"].split(".")
            claims = json.loads(base64.urlsafe_b64decode(claims_b64 + "=="))
            claims["sha256"] = value
            forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
            doc["update"]["manifest"] = f"{head}.{forged}.{sig}"
        else:
            doc["update"][field] = value
        return json.dumps(doc).encode()

    return alter


def flip_last_download_byte(path: str, body: bytes) -> bytes:
    """An ``alter`` that changes the last byte of every downloaded file."""
    if "/updates/download/" in path:
        return body[:-1] + bytes([body[-1] ^ 1])
    return body
