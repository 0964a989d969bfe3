"""Signed answers (API.md "Signed answers"): every answer to a client-API
request carries ``Licserver-Answer-Signature``, whatever its status.

One place: ``init_app`` installs a before-request step that refuses a
malformed ``Licserver-Nonce`` (400 MALFORMED_REQUEST, before any view runs) and
an after-request step that signs. The after-request step is app-wide, not on
the client blueprint, so the 404/405 answers of unmatched routes under client
paths are signed too; it runs last of all after-request steps, when the body
is final (observability stamps the request id into problem bodies).
The text signed and the nonce rule are plain functions in ``licserver.signing``.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any
from urllib.parse import quote

from flask import Flask, Response, request

from licserver import signing
from licserver.domain.errors import MalformedRequest
from licserver.extensions import db
from licserver.runtime import runtime
from licserver.security import ORIGINAL_TARGET

log = logging.getLogger(__name__)

_PRINTABLE = "".join(chr(c) for c in range(33, 127))
_NONCE_ENVIRON = "HTTP_" + signing.NONCE_HEADER.upper().replace("-", "_")

# Paths only the client API answers: any method (a 405 is signed too).
_CLIENT_ONLY = re.compile(r"/api/v1/(?:validate|keys|updates|activations/[^/]+/checkin)")
# Paths shared with the admin API: the client's method only.
_SHARED = (
    ("POST", re.compile(r"/api/v1/activations")),
    ("DELETE", re.compile(r"/api/v1/activations/[^/]+")),
)


def is_client_request(method: str, path: str) -> bool:
    """Is this (method, decoded path) a client-API request whose answer is signed?"""
    if _CLIENT_ONLY.fullmatch(path):
        return True
    return any(method == m and rx.fullmatch(path) for m, rx in _SHARED)


def request_target(environ: dict[str, Any]) -> str:
    """The path (and ``?query``) as the client sent it: the server's raw request
    URI (gunicorn's RAW_URI, REQUEST_URI), else rebuilt from the environ."""
    raw = environ.get(ORIGINAL_TARGET) or environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if isinstance(raw, str) and raw:
        if not raw.startswith("/"):  # absolute-form: http://host/path?query
            scheme, sep, rest = raw.partition("://")
            if sep:
                slash = rest.find("/")
                raw = rest[slash:] if slash >= 0 else "/"
        raw = raw.partition("#")[0]
        # the signed text is ASCII: a raw non-ASCII byte is signed percent-encoded
        return raw if raw.isascii() else quote(raw.encode("latin-1", "replace"), safe=_PRINTABLE)
    path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    # PATH_INFO is decoded latin-1 text: re-encode it the usual way
    target = quote(path.encode("latin-1"), safe="/:@!$&'()*+,;=-._~%")
    query = environ.get("QUERY_STRING", "")
    return f"{target}?{query}" if query else target


def nonce_of(environ: dict[str, Any]) -> str:
    """The request's valid nonce, or "" when none or an invalid one was sent."""
    value = environ.get(_NONCE_ENVIRON)
    if value is None or not signing.is_valid_nonce(value):
        return ""
    return str(value)


def init_app(app: Flask) -> None:
    app.before_request(_check_nonce)
    # after-request steps run last-registered first: at the head of the list, last
    app.after_request_funcs.setdefault(None, []).insert(0, _sign)


# The request's verdicts, taken once by the before-request step and read by
# the after-request step (which takes them itself when an earlier
# before-request step answered first): a client request? its valid nonce.
_CLIENT = "licserver.answers.client"
_NONCE = "licserver.answers.nonce"


def _check_nonce() -> None:
    environ = request.environ
    client = environ[_CLIENT] = is_client_request(request.method, request.path)
    value = environ.get(_NONCE_ENVIRON)
    if value is None or not client:
        environ[_NONCE] = ""
        return
    if not signing.is_valid_nonce(value):
        raise MalformedRequest(
            f"{signing.NONCE_HEADER} must be 1 to 128 of the characters A-Z a-z 0-9 . _ ~ -."
        )
    environ[_NONCE] = value


def _sign(resp: Response) -> Response:
    environ = request.environ
    method = request.method
    client = environ.get(_CLIENT)
    if client is None:
        client = is_client_request(method, request.path)
    if not client:
        return resp
    try:
        # the key object in memory; the session is only opened when keys are due a reload
        kid, key = runtime().keyring.answer_signer(db.session)
    except Exception as exc:  # no key loaded and none loadable now: unsigned, said in the log
        log.warning("answer to %s %s not signed: %s", method, request.path, type(exc).__name__)
        return resp
    nonce = environ.get(_NONCE)
    resp.headers[signing.ANSWER_SIGNATURE_HEADER] = signing.answer_signature(
        kid,
        key,
        method=method,
        target=request_target(environ),
        status=resp.status_code,
        t=int(time.time()),
        body=b"" if method == "HEAD" else resp.get_data(),
        nonce=nonce_of(environ) if nonce is None else nonce,
    )
    return resp
