"""security.redact_text: what gunicorn's access log prints of any URL."""

from __future__ import annotations

import pytest

from licserver.security import redact_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "https://shop.test/portal/invitation/AbC-123_x",
            "https://shop.test/portal/invitation/[redacted]",
        ),
        ("/portal/reset/tok?next=/x", "/portal/reset/[redacted]?next=/x"),
        ("/portal/downloads/file/t.o.k", "/portal/downloads/file/[redacted]"),
        (
            "GET /api/v1/updates/download/act123/tok3n HTTP/1.1",
            "GET /api/v1/updates/download/act123/[redacted] HTTP/1.1",
        ),
        ("/api/v1/products?limit=5&Token=abc&x=1", "/api/v1/products?limit=5&Token=[redacted]&x=1"),
        ("/portal/licenses?page=2", "/portal/licenses?page=2"),
        ("-", "-"),
    ],
)
def test_tokens_in_urls_are_redacted(text: str, expected: str) -> None:
    assert redact_text(text) == expected
