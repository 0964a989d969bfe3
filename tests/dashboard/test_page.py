"""The console's home: every chart and its table, within the CSP, no script."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from licserver.runtime import context
from licserver.services import dashboard
from tests.dashboard.conftest import World, at
from tests.support.console import Console, StaffMaker

CHARTS = ("activations", "refusals", "seat-use", "expiring", "codes", "freshness")


class Cells(HTMLParser):
    """The text of every table cell by table id: {table: [[cell, ...], ...]}."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._table = dict(attrs).get("id") or ""
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._table is not None:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def page(console: Console, make_staff: StaffMaker) -> tuple[str, dict[str, list[list[str]]]]:
    console.login(make_staff("support").email)
    resp = console.get("/admin/")
    assert resp.status_code == 200
    csp = resp.headers["Content-Security-Policy"]
    assert "unsafe" not in csp and "style-src 'self'" in csp  # not loosened for the charts
    html = resp.get_data(as_text=True)
    cells = Cells()
    cells.feed(html)
    return html, cells.tables


def test_home_has_every_chart_and_table(
    world: World, console: Console, make_staff: StaffMaker
) -> None:
    html, tables = page(console, make_staff)
    for name in CHARTS:
        figure = html.split(f'id="chart-{name}"', 1)[1].split("</figure>", 1)[0]
        assert "<svg" in figure and 'aria-hidden="true"' in figure, name
        assert f'id="table-{name}"' in figure, name
    assert 'id="q"' in html  # the search box is still there, below
    # Nothing the CSP would block: no inline script, style element or attribute.
    assert "<script" not in html
    assert "<style" not in html
    assert not re.search(r"\sstyle=", html)
    assert not re.search(r"\son[a-z]+=", html)


def test_home_numbers(world: World, console: Console, make_staff: StaffMaker) -> None:
    html, tables = page(console, make_staff)
    for tile, n in (("active-licences", 4), ("machines-7", 2), ("machines-30", 5)):
        assert re.search(rf'id="{tile}">{n}<', html), tile
    assert re.search(r'id="not-seen">2<', html)
    seat = {r[0]: r[1] for r in tables["table-seat-use"][1:]}
    assert seat["full"] == "2" and seat["unused"] == "1" and seat["26–50 %"] == "1"
    codes = {r[0]: r[1] for r in tables["table-codes"][1:]}
    assert codes == {world.full_code: "1", "INVALID_CREDENTIALS": "1"}
    fresh = {r[0]: r[1:] for r in tables["table-freshness"][1:]}
    assert fresh == {"Alpha": ["3", "1"], "Beta": ["0", "1"]}
    # (today's page: the real clock, the world's days measured from the test's)
    acts = tables["table-activations"]
    head = acts[0]
    by_day = {r[0]: dict(zip(head[1:], r[1:], strict=True)) for r in acts[1:-1]}
    assert by_day[at(3).date().isoformat()]["Alpha"] == "2"
    assert acts[-1][head.index("All")] == "5"


def test_charts_stylesheet(console: Console, make_staff: StaffMaker) -> None:
    resp = console.get("/admin/charts.css")
    assert resp.status_code == 200 and resp.mimetype == "text/css"
    css = resp.get_data(as_text=True)
    assert ".pygal-chart" in css and "#chart-" not in css


def test_search_replaces_the_dashboard(
    world: World, console: Console, make_staff: StaffMaker
) -> None:
    console.login(make_staff("support").email)
    html = console.text(f"/admin/?q={world.a1.id}")
    assert 'id="chart-activations"' not in html and world.a1.id in html


def test_refresh_command(world: World, app: object) -> None:
    from flask import Flask

    assert isinstance(app, Flask)
    result = app.test_cli_runner().invoke(args=["dashboard", "refresh"])
    assert result.exit_code == 0, result.output
    assert "dashboard figures as of" in result.output
    state = context().session.get(dashboard.DashboardState, dashboard.STATE_ROW)
    assert state is not None and state.figures["active_licences"] == 4
