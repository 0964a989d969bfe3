"""The charts module's own rules: what it drops from pygal's SVG, that its
faster attribute look-up draws what pygal draws, and that a chart drawn once
is not drawn again for the same numbers."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pygal
import pytest

from licserver.services.dashboard import Series
from licserver.web.staff import charts

DAYS = [date(2026, 1, 1) + timedelta(days=i) for i in range(30)]
SERIES = [Series("App", [i % 4 for i in range(30)]), Series("Tool", [i % 3 for i in range(30)])]


@pytest.mark.parametrize(
    "draw",
    [
        lambda: charts._per_day("Per day", ("1 Jan", "2 Jan"), (("App", (1, 0)), ("Tool", (2, 3)))),
        lambda: charts._bars("Seats", (("unused", 3), ("full", 1)), False),
        lambda: charts._bars("Codes", (("expired", 2),), True),
        lambda: charts._split("Fresh", ("App",), (("seen", (4,)), ("not seen", (1,)))),
    ],
)
def test_fast_lookup_draws_what_pygal_draws(draw: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = _fresh(draw)
    for name in ("StackedBar", "Bar", "HorizontalBar"):
        monkeypatch.setattr(charts, name, getattr(pygal, name))
    assert _fresh(draw) == fast


def _fresh(draw: Any) -> str:
    for f in (charts._per_day, charts._bars, charts._split):
        f.cache_clear()
    return str(draw())


def test_no_style_script_or_tooltip_data() -> None:
    out = str(charts.per_day("Activations per day", DAYS, SERIES))
    assert out.startswith("<svg") and 'aria-hidden="true"' in out
    for tag in ("<style", "<script", "<desc", "style=", " onclick"):
        assert tag not in out.replace("ns0:", ""), tag
    assert "Tool" in out and "01 Jan" in out  # the legend and the labels stay


def test_same_numbers_same_drawing_other_numbers_drawn_anew() -> None:
    first = charts.per_day("Activations per day", DAYS, SERIES)
    assert charts.per_day("Activations per day", list(DAYS), list(SERIES)) is first
    more = [Series("App", [9] * 30), SERIES[1]]
    assert charts.per_day("Activations per day", DAYS, more) is not first
