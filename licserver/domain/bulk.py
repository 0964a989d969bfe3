"""Bulk actions on a filtered licence list (the console): which action, with
what, and what it means for one licence — changed (the new value), or skipped
with the reason. Pure; ``services.bulk`` loads, asks, writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

EXTEND_DAYS = "extend_days"
EXTEND_TO = "extend_to"
SUSPEND = "suspend"
REINSTATE = "reinstate"
ADD_SEATS = "add_seats"
LABELS = {
    EXTEND_DAYS: "Extend expiry by N days",
    EXTEND_TO: "Extend expiry to a date",
    SUSPEND: "Suspend",
    REINSTATE: "Reinstate",
    ADD_SEATS: "Add seats",
}
MAX_DAYS = 36500
MAX_SEATS = 100000


class BulkError(ValueError):
    """The action as asked cannot run: ``errors`` by field."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(m for ms in errors.values() for m in ms))
        self.errors = errors


@dataclass(frozen=True)
class Action:
    kind: str
    days: int | None = None  # EXTEND_DAYS
    until: datetime | None = None  # EXTEND_TO (aware, UTC)
    seats: int | None = None  # ADD_SEATS

    def describe(self) -> str:
        if self.kind == EXTEND_DAYS:
            return f"Extend expiry by {self.days} days"
        if self.kind == EXTEND_TO and self.until is not None:
            return f"Extend expiry to {self.until:%Y-%m-%d}"
        if self.kind == ADD_SEATS:
            return f"Add {self.seats} seat{'s' if self.seats != 1 else ''}"
        return LABELS[self.kind]


def action(
    kind: str, *, days: int | None = None, until: datetime | None = None, seats: int | None = None
) -> Action:
    """The action, its values checked; BulkError naming the bad field."""
    if kind not in LABELS:
        raise BulkError({"action": [f"One of: {', '.join(LABELS)}."]})
    if kind == EXTEND_DAYS:
        if days is None or not 1 <= days <= MAX_DAYS:
            raise BulkError({"days": [f"Days: from 1 to {MAX_DAYS}."]})
        return Action(kind, days=days)
    if kind == EXTEND_TO:
        if until is None or until.tzinfo is None:
            raise BulkError({"until": ["Give the new expiry date."]})
        return Action(kind, until=until)
    if kind == ADD_SEATS:
        if seats is None or not 1 <= seats <= MAX_SEATS:
            raise BulkError({"seats": [f"Seats to add: from 1 to {MAX_SEATS}."]})
        return Action(kind, seats=seats)
    return Action(kind)


def skip_reason(act: Action, status: str, expires_at: datetime | None) -> str | None:
    """Why this licence (its stored status and expiry) is left as it is, or
    None when the action changes it."""
    if status == "revoked":
        return "revoked: a revoked licence is never changed"
    if act.kind == SUSPEND:
        return "already suspended" if status == "suspended" else None
    if act.kind == REINSTATE:
        return None if status == "suspended" else "not suspended"
    if act.kind in (EXTEND_DAYS, EXTEND_TO) and expires_at is None:
        return "never expires"
    if act.kind == EXTEND_TO and act.until is not None and expires_at is not None:
        if expires_at >= act.until:
            return f"already expires on {expires_at:%Y-%m-%d}, not before {act.until:%Y-%m-%d}"
    return None


def new_expiry(act: Action, expires_at: datetime) -> datetime:
    """The expiry after an extension (from the current expiry, even a past one)."""
    if act.kind == EXTEND_DAYS and act.days is not None:
        return expires_at + timedelta(days=act.days)
    if act.kind == EXTEND_TO and act.until is not None:
        return act.until
    raise ValueError(f"{act.kind} does not change the expiry")


@dataclass
class Summary:
    """What a run did: licences changed; skipped and failed ones with the reason."""

    changed: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.changed + len(self.skipped) + len(self.failed)

    def skipped_by_reason(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for _, reason in self.skipped:
            counts[reason] = counts.get(reason, 0) + 1
        return counts
