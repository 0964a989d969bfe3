"""domain.requests: what a request for more may say, and how it is decided."""

from __future__ import annotations

import pytest

from licserver.domain import requests as rules
from licserver.domain.errors import Conflict, ValidationFailed


def test_a_seats_request_needs_a_number_of_seats() -> None:
    assert rules.check_request(rules.SEATS, 3, "  PO-1  ") == (3, "PO-1")
    for bad in (None, 0, rules.MAX_EXTRA_SEATS + 1):
        with pytest.raises(ValidationFailed) as err:
            rules.check_request(rules.SEATS, bad, None)
        assert "seats" in err.value.errors


def test_a_renewal_ignores_seats_and_long_notes_are_refused() -> None:
    assert rules.check_request(rules.RENEWAL, 5, "") == (None, None)
    with pytest.raises(ValidationFailed) as err:
        rules.check_request(rules.RENEWAL, None, "x" * (rules.MAX_NOTE + 1))
    assert "note" in err.value.errors
    with pytest.raises(ValidationFailed):
        rules.check_request("discount", None, None)


def test_decided_once_and_a_decline_says_why() -> None:
    rules.check_open(rules.PENDING)
    with pytest.raises(Conflict):
        rules.check_open(rules.APPROVED)
    assert rules.check_reason("  too many  ") == "too many"
    for bad in (None, "   ", "x" * (rules.MAX_REASON + 1)):
        with pytest.raises(ValidationFailed):
            rules.check_reason(bad)


def test_checkout_url_and_renewal_length() -> None:
    assert rules.check_checkout_url(" https://shop.test/buy ") == "https://shop.test/buy"
    assert rules.check_checkout_url("") is None
    for bad in ("javascript:alert(1)", "shop.test/buy", "ftp://shop.test"):
        with pytest.raises(ValidationFailed):
            rules.check_checkout_url(bad)
    assert rules.renewal_days(30, 90) == 30
    assert rules.renewal_days(None, 90) == 90
    assert rules.renewal_days(None, None) == 365
    assert rules.describe(rules.SEATS, 1) == "1 more seat"
    assert rules.describe(rules.RENEWAL, None) == "a renewal"
