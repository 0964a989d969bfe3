"""A loopback "fake server" between an SDK and the real one: it passes each
request on (with its ``Licserver-Nonce``) and the real answer back — or, in one
of its forging modes, an answer a fake server on the network could make:

- ``unsigned``: the real answer with its signature header taken off;
- ``wrong``: the real answer re-signed, in the right format and under the real
  kid, by a key that is not the server's;
- ``replay``: a real, correctly signed answer to the same request sent with
  another nonce (an answer recorded earlier, played back);
- ``flip``: the real answer, its signature kept, with one body byte changed;
- ``forge``: a body of the fake's own (``forged_status``, ``forged_body``)
  with no signature, e.g. a 403 LICENSE_REVOKED or a 503.

``mode = "pass"`` (the default) relays faithfully."""

from __future__ import annotations

import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from licserver import signing
from tests.support import loopback

SIGNATURE = signing.ANSWER_SIGNATURE_HEADER
NONCE = signing.NONCE_HEADER
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "date", "server"}


class FakeServer:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.mode = "pass"
        self.forged_status = 200
        self.forged_body: Any = {}
        self.requests: list[tuple[str, str, str | None]] = []  # (method, path, nonce)
        self._attacker = Ed25519PrivateKey.generate()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                fake._handle(self)

            do_GET = do_POST = do_DELETE = do_PUT = _any

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    # ---- one request --------------------------------------------------------

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        nonce = h.headers.get(NONCE)
        self.requests.append((h.command, h.path, nonce))
        if self.mode == "forge":
            raw = json.dumps(self.forged_body).encode()
            ctype = "application/json" if self.forged_status < 400 else "application/problem+json"
            self._reply(h, self.forged_status, {"Content-Type": ctype}, raw)
            return
        headers = {k: v for k, v in h.headers.items() if k.lower() not in ("host", NONCE.lower())}
        if nonce is not None:
            # replay: what the real server said to this request under another nonce
            headers[NONCE] = f"other-{secrets.token_hex(8)}" if self.mode == "replay" else nonce
        with loopback.Client(timeout=30) as http:
            r = http.request(h.command, self.upstream + h.path, content=body, headers=headers)
        out = {k.lower(): v for k, v in r.headers.items() if k.lower() not in _HOP_BY_HOP}
        raw = r.content
        real = out.pop(SIGNATURE.lower(), None)
        assert real is not None, f"{h.command} {h.path}: the real server did not sign"
        if self.mode != "unsigned":
            out[SIGNATURE] = real
        if self.mode == "wrong":
            kid = real.split('"')[1]
            out[SIGNATURE] = signing.answer_signature(
                kid,
                self._attacker,
                method=h.command,
                target=h.path,
                status=r.status_code,
                t=int(real.split('"')[3]),
                body=raw,
                nonce=nonce or "",
            )
        elif self.mode == "flip":
            i = _a_value_byte(raw)
            raw = raw[:i] + bytes([raw[i] ^ 0x01]) + raw[i + 1 :]
        self._reply(h, r.status_code, out, raw)

    @staticmethod
    def _reply(h: BaseHTTPRequestHandler, status: int, headers: dict[str, str], raw: bytes) -> None:
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(raw)))
        h.end_headers()
        h.wfile.write(raw)


def _a_value_byte(raw: bytes) -> int:
    """The index of a byte inside the answer's JSON (a letter of its last
    string value), so that the flipped body is still a plausible answer."""
    end = raw.rstrip().rfind(b'"')
    assert end > 0, raw
    return end - 1
