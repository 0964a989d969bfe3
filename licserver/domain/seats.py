"""Seat accounting and the choice of licence for company-password activations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from licserver.domain.errors import SeatLimitReached


def check_free_seat(seats: int, seats_used: int) -> None:
    """Raise SeatLimitReached unless one more installation fits."""
    if seats_used >= seats:
        raise SeatLimitReached(f"All {seats} seat(s) of this licence are in use.")


@dataclass(frozen=True)
class Candidate:
    """A licence as the company-password rule sees it."""

    key: int  # the licence's row id; also "oldest first" order
    status: str  # effective status
    seats: int
    seats_used: int
    expires_at: datetime | None
    active_here: bool  # this installation already holds a seat on it


def choose_license(candidates: list[Candidate]) -> Candidate | None:
    """API.md's rule: among usable licences, the one this installation is already
    active on, else the one with a free seat that expires first (perpetual last,
    then oldest). None when every usable licence is full; the caller decides the
    error when none is usable at all."""
    usable = [c for c in candidates if c.status == "active"]
    for c in usable:
        if c.active_here:
            return c
    free = [c for c in usable if c.seats_used < c.seats]
    if not free:
        return None
    free.sort(key=lambda c: (c.expires_at is None, c.expires_at or datetime.max, c.key))
    return free[0]


def refusal_for_unusable(candidates: list[Candidate]) -> Candidate:
    """When none is usable: the licence whose own 403 answers (the newest)."""
    return max(candidates, key=lambda c: c.key)
