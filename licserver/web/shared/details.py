"""Event details as readable fields, not Python reprs: the ``details`` Jinja
filter. Mappings become definition lists (nested ones nested), lists are
joined with commas, None is "—", True/False are yes/no, times are RFC 3339
UTC (``2024-05-01T09:30:00Z``). Every value is escaped."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from markupsafe import Markup, escape

NONE = "—"
MAX_DEPTH = 6  # deeper structures are shown as text


def value_text(value: Any) -> str:
    """One scalar as text."""
    if value is None:
        return NONE
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return str(value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _render(value: Any, depth: int) -> Markup:
    if isinstance(value, Mapping) and depth < MAX_DEPTH:
        if not value:
            return Markup(NONE)
        items = Markup("").join(
            Markup("<dt>{}</dt><dd>{}</dd>").format(key, _render(val, depth + 1))
            for key, val in value.items()
        )
        return Markup('<dl class="details">{}</dl>').format(items)
    if isinstance(value, list | tuple) and depth < MAX_DEPTH:
        if not value:
            return Markup(NONE)
        if all(not isinstance(v, Mapping | list | tuple) for v in value):
            return escape(", ".join(value_text(v) for v in value))
        return Markup("<ol>{}</ol>").format(
            Markup("").join(Markup("<li>{}</li>").format(_render(v, depth + 1)) for v in value)
        )
    return escape(value_text(value))


def details(data: Any) -> Markup:
    """``data`` (an event's details) as HTML; nothing for no details."""
    if not data:
        return Markup("")
    return _render(data, 0)
