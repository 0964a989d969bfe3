from __future__ import annotations

import pytest

from licserver.domain.email import is_email


@pytest.mark.parametrize(
    "text", ["a@b.co", "first.last+tag@mail.example.org", "x" * 64 + "@example.com"]
)
def test_addresses_accepted(text: str) -> None:
    assert is_email(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "no-at.example.com",
        "two@@example.com",
        "sp ace@example.com",
        "nodot@localhost",
        "x" * 65 + "@example.com",
        "a@" + "b" * 190 + "." + "c" * 63,  # 256 characters: over the 254 allowed
    ],
)
def test_addresses_refused(text: str) -> None:
    assert not is_email(text)
