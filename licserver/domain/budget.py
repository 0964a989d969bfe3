"""Budgets: "at most N in a sliding window", over plain values.

The deactivation budget stops one seat from floating over many machines
(deactivate here, activate there, again and again): a licence's installations
may be deactivated by the client (SDK) or the customer's portal users at most
``count`` times in any ``window``; staff (admin API, CLI, staff console) are
never limited. The rule is a function of the budget and the times of earlier
deactivations, so a per-policy budget is only a different ``Budget`` value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

# Who spends the deactivation budget: installations themselves and the
# customer's portal users. Staff ("admin") and scheduled jobs ("system") do not.
DEACTIVATION_ACTORS = frozenset({"client", "user"})

_UNITS = {
    "second": timedelta(seconds=1),
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "week": timedelta(weeks=1),
}
_BUDGET_RE = re.compile(
    r"^\s*(\d+)\s*(?:per|/)\s*(\d+)?\s*(second|minute|hour|day|week)s?\s*$", re.IGNORECASE
)


@dataclass(frozen=True)
class Budget:
    """At most ``count`` within any ``window``."""

    count: int
    window: timedelta

    def __post_init__(self) -> None:
        if self.count < 1 or self.window <= timedelta(0):
            raise ValueError("a budget needs a count >= 1 and a positive window")

    def window_text(self) -> str:
        """The window in words: "30 days", "day", "12 hours"."""
        total = int(self.window.total_seconds())
        for unit, seconds in (("day", 86400), ("hour", 3600), ("minute", 60)):
            if total % seconds == 0:
                n = total // seconds
                return unit if n == 1 else f"{n} {unit}s"
        return "second" if total == 1 else f"{total} seconds"


def parse_budget(text: str | int) -> Budget | None:
    """``"3 per 30 days"``, ``"10 per week"``, ``"5/day"`` → a Budget; ``0``,
    ``"0"``, ``""`` or ``"off"`` → None (no budget). ValueError otherwise."""
    if isinstance(text, bool):
        raise ValueError(f"not a budget: {text!r}")
    if isinstance(text, int):
        if text == 0:
            return None
        raise ValueError(f"not a budget: {text!r} (write e.g. '3 per 30 days', or 0 for none)")
    raw = str(text).strip().lower()
    if raw in {"", "0", "off"}:
        return None
    m = _BUDGET_RE.match(raw)
    if m is None:
        raise ValueError(f"not a budget: {text!r} (write e.g. '3 per 30 days', or 0 for none)")
    count, multiple, unit = int(m.group(1)), int(m.group(2) or 1), m.group(3).lower()
    if count == 0:
        return None
    if multiple == 0:
        raise ValueError(f"not a budget: {text!r} (the window must be longer than 0)")
    return Budget(count, _UNITS[unit] * multiple)


def spends_deactivation_budget(actor_type: str) -> bool:
    """Does a deactivation by this kind of actor count (and can it be refused)?"""
    return actor_type in DEACTIVATION_ACTORS


def next_allowed(budget: Budget, earlier: Iterable[datetime], now: datetime) -> datetime | None:
    """None when one more is allowed at ``now``; else the first moment it will be
    (when the oldest of the last ``count`` leaves the window). ``earlier``: the
    times of the counted events; those outside the window are ignored."""
    since = now - budget.window
    recent = sorted((t for t in earlier if t > since), reverse=True)
    if len(recent) < budget.count:
        return None
    return recent[budget.count - 1] + budget.window
