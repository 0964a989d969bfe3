"""The dashboard's numbers, checked against the world the test made."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from licserver.extensions import db
from licserver.services import dashboard
from tests.dashboard.conftest import NOW, World, at, clock_context
from tests.support.factory import Factory


def series(rows: list[dashboard.Series]) -> dict[str, list[int]]:
    return {s.name: s.values for s in rows}


def test_figures_as_things_stand(world: World) -> None:
    d = dashboard.read(clock_context())
    assert d.active_licences == 4  # A1, A2, A5, B1
    assert d.machines == {7: 2, 30: 5}
    assert dict(d.seat_use) == {
        "unused": 1,
        "1–25 %": 0,
        "26–50 %": 1,
        "51–75 %": 0,
        "76–99 %": 0,
        "full": 2,
    }
    assert d.expiring == 1
    assert dict(d.expiring_by_week)["in 8–14 days"] == 1
    fresh = {f.product: (f.seen, f.not_seen) for f in d.freshness}
    assert fresh == {"Alpha": (3, 1), "Beta": (0, 1)}
    assert d.not_seen == 2


def test_per_day_by_product(world: World) -> None:
    d = dashboard.read(clock_context())
    assert len(d.days) == dashboard.DAYS and d.days[-1] == NOW.date()
    index = {day: i for i, day in enumerate(d.days)}
    acts = series(d.activations)
    assert sum(acts["Alpha"]) == 4 and sum(acts["Beta"]) == 1
    assert acts["Alpha"][index[at(3).date()]] == 2
    assert acts["Alpha"][index[at(10).date()]] == 2
    assert acts["Beta"][index[NOW.date()]] == 1
    refused = series(d.refusals)
    yesterday = index[at(1).date()]
    assert refused["Beta"][yesterday] == 1
    assert refused[dashboard.NO_PRODUCT][yesterday] == 1
    assert dict(d.refusals_by_code) == {world.full_code: 1, "INVALID_CREDENTIALS": 1}


def test_folding_changes_no_number(world: World) -> None:
    """Counted live from the events, or folded into the daily table: the same."""
    ctx = clock_context()
    before = dashboard.read(ctx)
    dashboard.refresh(ctx)
    dashboard.refresh(ctx)  # twice: nothing is counted twice
    after = dashboard.read(ctx)
    assert series(after.activations) == series(before.activations)
    assert series(after.refusals) == series(before.refusals)
    assert after.refusals_by_code == before.refusals_by_code


def test_stored_figures_are_refreshed_when_stale(world: World, factory: Factory) -> None:
    ctx = clock_context()
    dashboard.refresh(ctx)
    factory.license("beta", seats=2)
    db.session.remove()
    assert dashboard.read(ctx).active_licences == 4  # the stored figure, still fresh
    later = NOW + dashboard.MAX_AGE + timedelta(seconds=1)
    assert dashboard.read(replace(ctx, clock=lambda: later)).active_licences == 5
