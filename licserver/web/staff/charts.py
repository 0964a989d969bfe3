"""Charts as inline SVG, drawn on the server by pygal, within the console's
Content-Security-Policy (``default-src 'self'``: no inline style or script).

pygal puts a ``<style>`` and a ``<script>`` in every chart and a few ``style``
attributes; :func:`svg` drops them all, and the ``<desc>`` data the script's
tooltips would read (the charts need no script: no tooltips). The rules of
the dropped ``<style>`` are served once, as a stylesheet of the site
(:func:`stylesheet`, at ``/admin/charts.css``), with the chart's own id
replaced by the class every chart carries. The page's tables give the same
numbers to screen readers; the SVG is hidden from them.

Drawing is pygal's cost (per bar; 90 days x products x 2 charts): each chart
is kept by its inputs (a dashboard seen again with the same numbers draws
nothing) and pygal's slow attribute look-up is bypassed (:class:`_Fast`)."""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import date
from functools import cache, lru_cache
from typing import Any

import pygal
from markupsafe import Markup
from pygal.style import Style

# pygal appends to sys.meta_path a finder for its map plugins that has no
# find_spec(): from then on, every import that no other finder resolves makes
# Python 3.11 warn (ImportWarning) — an error wherever warnings are errors.
# The console draws no maps; take the finder out again.
sys.meta_path[:] = [f for f in sys.meta_path if type(f).__module__ != "pygal"]

STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#344054",
    foreground_strong="#101828",
    foreground_subtle="#d0d5dd",
    font_family="system-ui, sans-serif",
    colors=("#6d3b8a", "#1570ef", "#b54708", "#027a48", "#c01048", "#475467", "#0e9384"),
    transition="none",
)
_SVG = "{http://www.w3.org/2000/svg}"
_ID = re.compile(r"#chart-[0-9a-f-]+")


def _config(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "style": STYLE,
        "js": [],  # no script
        "disable_xml_declaration": True,
        "width": 720,
        "height": 300,
        "legend_at_bottom": True,
        "print_values": False,
        "show_y_guides": True,
        "margin": 12,
        "title_font_size": 14,
    }
    base.update(kw)
    return base


def svg(chart: Any) -> Markup:
    """The chart as ``<svg>`` markup with no style, script or tooltip data in it."""
    root = chart.render_tree()
    _strip(root)
    root.attrib.pop("id", None)
    root.set("aria-hidden", "true")
    root.set("focusable", "false")
    return Markup(ET.tostring(root, encoding="unicode"))


# Dropped: pygal's style and script, and the <desc> data its script's
# tooltips read (four per bar: half the markup, and no script reads it here).
_DROPPED = frozenset({"style", "script", "desc"})
_COORDS = frozenset({"x", "y", "width", "height"})


def _strip(element: ET.Element) -> None:
    for child in list(element):
        if _local(child.tag) in _DROPPED:
            element.remove(child)
        else:
            _strip(child)
    for name, value in list(element.attrib.items()):
        if name == "style" or name.lower().startswith("on"):
            del element.attrib[name]
        elif name in _COORDS and "." in value:  # 16 digits of a pixel: 2 are plenty
            element.attrib[name] = _short(value)


def _short(value: str) -> str:
    try:
        return f"{float(value):.2f}".rstrip("0").rstrip(".")
    except ValueError:
        return value


def _local(tag: Any) -> str:
    # comments' tag is a function (ElementTree's Comment): dropped as well
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else "style"


@cache
def stylesheet() -> str:
    """pygal's rules for our style, for every chart (by class, not id)."""
    root = pygal.Bar(**_config()).render_tree()
    rules = [el.text or "" for el in root.iter() if el.tag in ("style", _SVG + "style")]
    return "\n".join(_ID.sub(".pygal-chart", r) for r in rules)


# Drawn charts by their inputs (kind, title, labels, values; all hashable):
# a dashboard seen again with the same numbers costs nothing. Six charts a
# dashboard, a few dashboards' worth kept (an SVG is 10-150 kB).
CACHED = 36


class _Fast:
    """pygal's BaseGraph.__getattribute__ looks every attribute up in the
    chart's drawing state first, through two more attribute look-ups of its
    own; it is a third of a chart's drawing time. The same rule (the state's
    own value, if it has one, for a name not ``state`` and not ``__*``), read
    from the dicts directly. The drawn SVG is the same byte for byte
    (tests/dashboard/test_charts.py)."""

    def __getattribute__(self, name: str) -> Any:
        state = object.__getattribute__(self, "__dict__").get("state")
        if state is not None and name != "state" and not name.startswith("__"):
            found = state.__dict__.get(name, _Fast)
            if found is not _Fast:
                return found
        return object.__getattribute__(self, name)


# pygal names a chart's CSS class after its Python class ("stackedbar-graph"):
# the same names as pygal's.
StackedBar: Any = type("StackedBar", (_Fast, pygal.StackedBar), {})
Bar: Any = type("Bar", (_Fast, pygal.Bar), {})
HorizontalBar: Any = type("HorizontalBar", (_Fast, pygal.HorizontalBar), {})


Values = tuple[tuple[str, tuple[int, ...]], ...]  # (series name, its values), ...


def per_day(title: str, days: Sequence[date], series: Sequence[Any]) -> Markup:
    """A stacked bar per day, a colour per series (``.name``, ``.values``)."""
    labels = tuple(d.strftime("%d %b") for d in days)
    return _per_day(title, labels, tuple((s.name, tuple(s.values)) for s in series))


@lru_cache(maxsize=CACHED)
def _per_day(title: str, labels: tuple[str, ...], series: Values) -> Markup:
    chart = StackedBar(
        **_config(
            title=title,
            x_label_rotation=0,
            show_minor_x_labels=False,
            x_labels_major_every=15,
            truncate_legend=30,
        )
    )
    chart.x_labels = list(labels)
    for name, values in series or (("none", (0,) * len(labels)),):
        chart.add(name, list(values))
    return svg(chart)


def bars(title: str, rows: Sequence[tuple[str, int]], *, horizontal: bool = False) -> Markup:
    """One bar per (label, count)."""
    return _bars(title, tuple((label, n) for label, n in rows), horizontal)


@lru_cache(maxsize=CACHED)
def _bars(title: str, rows: tuple[tuple[str, int], ...], horizontal: bool) -> Markup:
    kind = HorizontalBar if horizontal else Bar
    chart = kind(**_config(title=title, show_legend=False))
    chart.x_labels = [label for label, _ in rows]
    chart.add(title, [n for _, n in rows])
    return svg(chart)


def split(title: str, labels: Sequence[str], parts: dict[str, Sequence[int]]) -> Markup:
    """Stacked bars: one per label, split into the named parts."""
    return _split(title, tuple(labels), tuple((k, tuple(v)) for k, v in parts.items()))


@lru_cache(maxsize=CACHED)
def _split(title: str, labels: tuple[str, ...], parts: Values) -> Markup:
    chart = StackedBar(**_config(title=title))
    chart.x_labels = list(labels)
    for name, values in parts:
        chart.add(name, list(values))
    return svg(chart)
