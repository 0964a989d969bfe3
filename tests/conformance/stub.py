"""A loopback HTTP server with one canned answer, counting the requests: the
kit's stand-in for a server that rate-limits or fails (429, 503, 4xx).

It signs its answers as the real server does (API.md "Signed answers") with the
kit's key ``kit-k1`` (seed bytes 0..31, the key the canned tests pin), for the
request's own nonce; ``signed=False`` answers unsigned, as a proxy would.
``forge`` makes the answer one a fake server could send: ``"wrong"`` (signed
in the right form under kit-k1 by another key), ``"replay"`` (signed for
another nonce), ``"flip"`` (signed, then one body byte changed)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from licserver import signing

KIT_KID = "kit-k1"
KIT_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER_KEY = Ed25519PrivateKey.generate()


class StubServer:
    def __init__(
        self,
        status: int,
        headers: dict[str, str],
        body: Any,
        *,
        signed: bool = True,
        forge: str | None = None,
    ) -> None:
        self.hits = 0
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                stub.hits += 1
                raw = b"" if body is None else json.dumps(body).encode()
                nonce = self.headers.get(signing.NONCE_HEADER) or ""
                signature = signing.answer_signature(
                    KIT_KID,
                    OTHER_KEY if forge == "wrong" else KIT_KEY,
                    method=self.command,
                    target=self.path,
                    status=status,
                    t=int(time.time()),
                    body=raw,
                    nonce="an-earlier-nonce" if forge == "replay" else nonce,
                )
                if forge == "flip":
                    i = raw.rfind(b'"') - 1  # a letter of the last key or string
                    raw = raw[:i] + bytes([raw[i] ^ 0x01]) + raw[i + 1 :]
                self.send_response(status)
                ctype = "application/json" if status < 400 else "application/problem+json"
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(raw)))
                self.send_header("Connection", "close")
                for k, v in headers.items():
                    self.send_header(k, v)
                if signed:
                    self.send_header(signing.ANSWER_SIGNATURE_HEADER, signature)
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = do_DELETE = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
