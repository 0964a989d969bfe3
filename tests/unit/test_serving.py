"""The pure parts of the shipped gunicorn worker (licserver/serving.py): when
a request has fully arrived, which targets are under /api/, and the
problem+json answer it writes itself."""

from __future__ import annotations

import json

import pytest

from licserver.serving import BODY_BUFFER, HEAD_BUFFER, is_api_target, problem_answer
from licserver.serving import request_complete as complete


def test_a_request_is_complete_with_its_head_and_announced_body() -> None:
    assert not complete(b"")
    assert not complete(b"GET /api/v1/keys HTTP/1.1\r\nHost: x\r\n")
    assert complete(b"GET /api/v1/keys HTTP/1.1\r\nHost: x\r\n\r\n")
    assert complete(b"GET / HTTP/1.0\n\n")
    head = b"POST /api/v1/activations HTTP/1.1\r\nContent-length:  5 \r\n\r\n"
    assert not complete(head + b"abcd")
    assert complete(head + b"abcde")
    # a body the app will refuse (413) is not waited for past BODY_BUFFER
    big = b"POST / HTTP/1.1\r\nContent-Length: 999999999\r\n\r\n"
    assert not complete(big + b"x" * (BODY_BUFFER - 1))
    assert complete(big + b"x" * BODY_BUFFER)
    # a head that never ends goes to gunicorn's parser (its limits answer)
    assert not complete(b"GET /" + b"x" * (HEAD_BUFFER - 10))
    assert complete(b"GET /" + b"x" * HEAD_BUFFER)


@pytest.mark.parametrize(
    ("head", "api"),
    [
        (b"GET /api/v1/customers?q=1 HTTP/1.1\r\n", True),
        (b"GET /api HTTP/1.1\r\n", True),
        (b"GET /api?x HTTP/1.1\r\n", True),
        (b"POST http://licserver.example/api/v1/validate HTTP/1.1\r\n", True),
        (b"GET /apiary HTTP/1.1\r\n", False),
        (b"GET /portal/login HTTP/1.1\r\n", False),
        (b"GET http://licserver.example HTTP/1.1\r\n", False),
        (b"GARBAGE\r\n", False),
        (b"", False),
    ],
)
def test_api_targets(head: bytes, api: bool) -> None:
    assert is_api_target(head) is api


def test_problem_answer_is_a_whole_http_answer() -> None:
    raw = problem_answer(431, "too big")
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "HTTP/1.1 431 Request Header Fields Too Large"
    headers = dict(line.split(": ", 1) for line in lines[1:])
    assert headers["Content-Type"] == "application/problem+json"
    assert headers["Connection"] == "close"
    assert int(headers["Content-Length"]) == len(body)
    problem = json.loads(body)
    assert problem == {
        "type": "about:blank",
        "title": "Request Header Fields Too Large",
        "status": 431,
        "code": "MALFORMED_REQUEST",
        "detail": "too big",
        "request_id": headers["X-Request-ID"],
    }
