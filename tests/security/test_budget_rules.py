"""The budget rule itself (licserver.domain.budget): plain values, no app."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from licserver.domain.budget import (
    Budget,
    next_allowed,
    parse_budget,
    spends_deactivation_budget,
)

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3 per 30 days", Budget(3, timedelta(days=30))),
        ("10 per week", Budget(10, timedelta(weeks=1))),
        ("5/day", Budget(5, timedelta(days=1))),
        (" 2 PER 12 Hours ", Budget(2, timedelta(hours=12))),
        ("1 per 1 second", Budget(1, timedelta(seconds=1))),
    ],
)
def test_budgets_are_written_as_count_per_window(text: str, expected: Budget) -> None:
    assert parse_budget(text) == expected


@pytest.mark.parametrize("off", [0, "0", "", "off", "0 per day"])
def test_zero_means_no_budget(off: str | int) -> None:
    assert parse_budget(off) is None


@pytest.mark.parametrize("bad", ["3", "three per day", "3 per fortnight", "3 per 0 days", 5, True])
def test_anything_else_is_refused_with_an_example(bad: str | int) -> None:
    with pytest.raises(ValueError, match="not a budget"):
        parse_budget(bad)


def test_only_clients_and_portal_users_spend_the_deactivation_budget() -> None:
    assert spends_deactivation_budget("client")
    assert spends_deactivation_budget("user")
    assert not spends_deactivation_budget("admin")
    assert not spends_deactivation_budget("system")


def test_the_next_is_allowed_when_the_oldest_counted_leaves_the_window() -> None:
    budget = Budget(3, timedelta(days=30))
    two = [NOW - timedelta(days=1), NOW - timedelta(days=2)]
    assert next_allowed(budget, two, NOW) is None
    three = [*two, NOW - timedelta(days=10)]
    assert next_allowed(budget, three, NOW) == NOW + timedelta(days=20)
    # more than the budget (e.g. the budget was lowered): the count-th newest decides
    four = [*three, NOW - timedelta(days=29)]
    assert next_allowed(budget, four, NOW) == NOW + timedelta(days=20)
    # outside the window: not counted
    old = [NOW - timedelta(days=31), NOW - timedelta(days=40), NOW - timedelta(days=30)]
    assert next_allowed(budget, old, NOW) is None
    assert next_allowed(budget, [], NOW) is None


def test_window_text_reads_naturally() -> None:
    assert Budget(3, timedelta(days=30)).window_text() == "30 days"
    assert Budget(3, timedelta(days=1)).window_text() == "day"
    assert Budget(3, timedelta(hours=12)).window_text() == "12 hours"
    assert Budget(3, timedelta(seconds=90)).window_text() == "90 seconds"
