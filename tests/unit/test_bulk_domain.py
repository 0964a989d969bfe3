"""Bulk actions' rules: the action's values, and which licences each skips."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from licserver.domain import bulk

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def test_action_values_are_checked() -> None:
    assert bulk.action(bulk.EXTEND_DAYS, days=30).days == 30
    for kind, kw, name in [
        ("nope", {}, "action"),
        (bulk.EXTEND_DAYS, {}, "days"),
        (bulk.EXTEND_DAYS, {"days": 0}, "days"),
        (bulk.EXTEND_TO, {}, "until"),
        (bulk.EXTEND_TO, {"until": datetime(2027, 1, 1)}, "until"),  # naive
        (bulk.ADD_SEATS, {"seats": 0}, "seats"),
    ]:
        with pytest.raises(bulk.BulkError) as err:
            bulk.action(kind, **kw)
        assert list(err.value.errors) == [name]


def test_what_each_action_skips() -> None:
    later = NOW + timedelta(days=10)
    suspend, reinstate = bulk.action(bulk.SUSPEND), bulk.action(bulk.REINSTATE)
    extend = bulk.action(bulk.EXTEND_DAYS, days=5)
    to = bulk.action(bulk.EXTEND_TO, until=NOW + timedelta(days=5))
    seats = bulk.action(bulk.ADD_SEATS, seats=2)
    assert bulk.skip_reason(suspend, "active", later) is None
    assert bulk.skip_reason(suspend, "suspended", later) == "already suspended"
    assert bulk.skip_reason(reinstate, "suspended", later) is None
    assert bulk.skip_reason(reinstate, "active", later) == "not suspended"
    for act in (suspend, reinstate, extend, to, seats):
        assert "revoked" in (bulk.skip_reason(act, "revoked", later) or "")
    assert bulk.skip_reason(extend, "active", None) == "never expires"
    assert bulk.skip_reason(extend, "suspended", NOW) is None
    assert bulk.skip_reason(to, "active", later) == (
        "already expires on 2026-06-11, not before 2026-06-06"
    )
    assert bulk.skip_reason(to, "active", NOW) is None
    assert bulk.skip_reason(seats, "active", None) is None


def test_new_expiry_counts_from_the_current_one() -> None:
    past = NOW - timedelta(days=3)
    assert bulk.new_expiry(bulk.action(bulk.EXTEND_DAYS, days=5), past) == NOW + timedelta(days=2)
    until = NOW + timedelta(days=40)
    assert bulk.new_expiry(bulk.action(bulk.EXTEND_TO, until=until), past) == until
    with pytest.raises(ValueError):
        bulk.new_expiry(bulk.action(bulk.SUSPEND), past)


def test_summary_counts() -> None:
    s = bulk.Summary(changed=3, skipped=[("a", "x"), ("b", "x"), ("c", "y")], failed=[("d", "z")])
    assert s.total == 7
    assert s.skipped_by_reason() == {"x": 2, "y": 1}
    assert bulk.action(bulk.ADD_SEATS, seats=1).describe() == "Add 1 seat"
