"""HTTP with the standard library: JSON in and out, a timeout on every request,
retries where they are safe.

Every call of the client API is idempotent for one installation (activation
answers 200 with the same activation when repeated), so a request whose answer
was lost may be sent again. Retried: connection errors and timeouts, 5xx, and
429 — with capped exponential backoff and jitter, or after the ``Retry-After``
the server asked for when it is at most ``MAX_RETRY_AFTER`` seconds (a longer
one raises at once). Other 4xx answers are final. Redirects are not followed:
a POST must not silently turn into a GET elsewhere.

Every attempt sends a fresh ``Licserver-Nonce``, and every answer must carry a
``Licserver-Answer-Signature`` by a pinned key over this request (method, path
as sent, nonce) and this answer (status, body): one that does not is
``CertificateInvalid`` at once, before the caller sees anything of it — a
fake server on the network cannot answer for the real one. Only an unsigned
429 or 5xx (a proxy's, a load balancer's) goes on as usual: retried, then
``RateLimited`` or ``ServerUnavailable``; neither changes anything.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import logging
import random
import secrets
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from email.message import Message
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from licclient._verify import (
    ANSWER_SIGNATURE_HEADER,
    NONCE_HEADER,
    InvalidToken,
    verify_answer,
)
from licclient.errors import CertificateInvalid, LicenseError, ServerUnavailable, error_for

log = logging.getLogger("licclient")

MAX_RETRY_AFTER = 60.0
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0
MAX_RESPONSE_BYTES = 1024 * 1024


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # urllib then raises HTTPError with the 3xx status


class _Unreachable(Exception):
    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason, self.permanent = reason, permanent


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from ``Retry-After`` (delta-seconds or an HTTP date); None if absent or invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class Transport:
    def __init__(
        self,
        base_url: str,
        *,
        timeout: float,
        retries: int,
        user_agent: str,
        public_keys: Mapping[str, Ed25519PublicKey] | None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"server must be an http:// or https:// URL, not {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self.user_agent = user_agent
        self._keys = public_keys
        self._sleep = sleep
        self._opener = urllib.request.build_opener(_NoRedirect())

    def request(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        retries: int | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """(status, JSON object) of a 2xx answer; the mapped ``LicenseError`` otherwise."""
        attempts = self.retries if retries is None else retries
        data = None if body is None else json.dumps(body).encode("utf-8")
        for attempt in range(attempts + 1):
            last = attempt == attempts
            nonce = secrets.token_urlsafe(18)  # 24 characters of A-Za-z0-9_-
            try:
                status, reply_headers, raw = self._once(method, path, data, headers or {}, nonce)
            except _Unreachable as exc:
                if exc.permanent or last:
                    raise ServerUnavailable(
                        f"Could not reach the licence server at {self.base_url}: {exc.reason}"
                    ) from exc.__cause__
                self._wait(method, path, self._backoff(attempt), attempt, attempts, exc.reason)
                continue
            signed = self._check_signature(method, path, status, reply_headers, raw, nonce)
            if 200 <= status < 300:
                return status, self._json_object(raw, status)
            if 300 <= status < 400:
                where = reply_headers.get("Location", "elsewhere")
                raise LicenseError(
                    f"The server at {self.base_url} redirects to {where}: "
                    "configure the URL it redirects to.",
                    status=status,
                )
            retry_after = parse_retry_after(reply_headers.get("Retry-After"))
            # an unsigned 429/5xx is judged by its status alone: its body is nobody's word
            err = error_for(status, self._problem(raw) if signed else None, retry_after)
            if status != 429 and status < 500:
                raise err
            if retry_after is not None and retry_after > MAX_RETRY_AFTER:
                raise err  # waiting that long is the caller's decision, not ours
            if last:
                raise err
            delay = (
                self._backoff(attempt)
                if retry_after is None
                else retry_after + random.uniform(0, min(1.0, 0.1 * retry_after + 0.1))
            )
            self._wait(method, path, delay, attempt, attempts, err.code or f"HTTP {status}")
        raise AssertionError("unreachable")  # pragma: no cover

    def _check_signature(
        self, method: str, path: str, status: int, headers: Message, raw: bytes, nonce: str
    ) -> bool:
        """Refuse an answer not signed for this request; let an unsigned 429/5xx
        through to the usual retries (False: unsigned). Without pinned keys (the
        CLI's ``keys`` command, which fetches the keys to pin) nothing is checked."""
        if self._keys is None:
            return True
        header = headers.get(ANSWER_SIGNATURE_HEADER)
        if header is None and (status == 429 or status >= 500):
            return False
        try:
            verify_answer(
                header,
                self._keys,
                method=method,
                target=self._target(path),
                status=status,
                body=raw,
                nonce=nonce,
            )
        except InvalidToken as exc:
            refused = CertificateInvalid(
                f"The answer from {self.base_url} (HTTP {status}) is not the licence "
                f"server's: {exc}. Nothing was changed; check the server URL, or a proxy "
                "in between.",
                code="CERTIFICATE_INVALID",
                status=status,
            )
            # the refused answer's body, for one use only: freeing a seat it may
            # have taken (LicenseClient.activate); nothing of it is trusted
            refused.unverified_body = raw  # type: ignore[attr-defined]
            raise refused from exc
        return True

    def _target(self, path: str) -> str:
        """The request target as sent: the server URL's own path, then ``path``."""
        return urllib.request.Request(self.base_url + path).selector

    def _once(
        self,
        method: str,
        path: str,
        data: bytes | None,
        headers: Mapping[str, str],
        nonce: str,
    ) -> tuple[int, Message, bytes]:
        req = urllib.request.Request(
            self.base_url + path,
            data=data,
            method=method,
            headers={
                "Accept": "application/json",
                "User-Agent": self.user_agent,
                **({"Content-Type": "application/json"} if data is not None else {}),
                **headers,
                NONCE_HEADER: nonce,
            },
        )
        try:
            with self._opener.open(req, timeout=self.timeout) as resp:
                return resp.status, resp.headers, resp.read(MAX_RESPONSE_BYTES)
        except urllib.error.HTTPError as exc:
            try:
                raw = exc.read(MAX_RESPONSE_BYTES)
            except (OSError, http.client.HTTPException):
                raw = b""
            finally:
                exc.close()
            return exc.code, exc.headers, raw
        except urllib.error.URLError as exc:
            reason = exc.reason
            # A certificate that does not verify will not verify on a retry either.
            permanent = isinstance(reason, ssl.SSLCertVerificationError)
            raise _Unreachable(str(reason), permanent=permanent) from exc
        except (OSError, http.client.HTTPException) as exc:
            # the request went out but the answer did not come back (reset,
            # closed, timed out): safe to repeat, see the module docstring
            raise _Unreachable(str(exc) or type(exc).__name__) from exc

    def _json_object(self, raw: bytes, status: int) -> dict[str, Any]:
        try:
            value = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            value = None
        if not isinstance(value, dict):
            raise ServerUnavailable(
                f"The answer from {self.base_url} (HTTP {status}) is not a licence server's: "
                "check the server URL, or a proxy in between.",
                status=status,
            )
        return value

    @staticmethod
    def _problem(raw: bytes) -> dict[str, Any] | None:
        try:
            value = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return None
        return value if isinstance(value, dict) else None

    @staticmethod
    def _backoff(attempt: int) -> float:
        """Capped exponential backoff with jitter: half fixed, half random."""
        step: float = min(BACKOFF_CAP, BACKOFF_BASE * 2.0**attempt)
        return step / 2 + random.uniform(0, step / 2)

    def _wait(
        self, method: str, path: str, delay: float, attempt: int, attempts: int, reason: str
    ) -> None:
        log.info(
            "%s %s failed (%s); retry %d of %d in %.2f s",
            method,
            path,
            reason,
            attempt + 1,
            attempts,
            delay,
            extra={"licclient_retry_delay": delay, "licclient_retry_reason": reason},
        )
        self._sleep(delay)
