"""Charts as inline SVG, drawn on the server by pygal, within the console's
Content-Security-Policy (``default-src 'self'``: no inline style or script).

pygal puts a ``<style>`` and a ``<script>`` in every chart and a few ``style``
attributes; :func:`svg` drops them all (the charts need no script: no
tooltips but the SVG ``<title>`` of each value, which browsers show on
hover). The rules of the dropped ``<style>`` are served once, as a
stylesheet of the site (:func:`stylesheet`, at ``/admin/charts.css``), with the
chart's own id replaced by the class every chart carries. The page's tables
give the same numbers to screen readers; the SVG is hidden from them."""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import date
from functools import cache
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
    """The chart as ``<svg>`` markup with no style or script in it."""
    root = chart.render_tree()
    _strip(root)
    root.attrib.pop("id", None)
    root.set("aria-hidden", "true")
    root.set("focusable", "false")
    return Markup(ET.tostring(root, encoding="unicode"))


def _strip(element: ET.Element) -> None:
    for child in list(element):
        if _local(child.tag) in ("style", "script"):
            element.remove(child)
        else:
            _strip(child)
    for name in list(element.attrib):
        if name == "style" or name.lower().startswith("on"):
            del element.attrib[name]


def _local(tag: Any) -> str:
    # comments' tag is a function (ElementTree's Comment): dropped as well
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else "style"


@cache
def stylesheet() -> str:
    """pygal's rules for our style, for every chart (by class, not id)."""
    root = pygal.Bar(**_config()).render_tree()
    rules = [el.text or "" for el in root.iter() if el.tag in ("style", _SVG + "style")]
    return "\n".join(_ID.sub(".pygal-chart", r) for r in rules)


def per_day(title: str, days: Sequence[date], series: Sequence[Any]) -> Markup:
    """A stacked bar per day, a colour per series (``.name``, ``.values``)."""
    chart = pygal.StackedBar(
        **_config(
            title=title,
            x_label_rotation=0,
            show_minor_x_labels=False,
            x_labels_major_every=15,
            truncate_legend=30,
        )
    )
    chart.x_labels = [d.strftime("%d %b") for d in days]
    for s in series:
        chart.add(s.name, list(s.values))
    if not series:
        chart.add("none", [0] * len(days))
    return svg(chart)


def bars(title: str, rows: Sequence[tuple[str, int]], *, horizontal: bool = False) -> Markup:
    """One bar per (label, count)."""
    kind = pygal.HorizontalBar if horizontal else pygal.Bar
    chart = kind(**_config(title=title, show_legend=False))
    chart.x_labels = [label for label, _ in rows]
    chart.add(title, [n for _, n in rows])
    return svg(chart)


def split(title: str, labels: Sequence[str], parts: dict[str, Sequence[int]]) -> Markup:
    """Stacked bars: one per label, split into the named parts."""
    chart = pygal.StackedBar(**_config(title=title))
    chart.x_labels = list(labels)
    for name, values in parts.items():
        chart.add(name, list(values))
    return svg(chart)
