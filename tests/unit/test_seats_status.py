"""Seat accounting, the company-password choice of licence, and licence status:
plain rules over plain values."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone

import pytest

from licserver.domain.errors import Conflict, LicenseServerError, SeatLimitReached
from licserver.domain.seats import (
    Candidate,
    check_free_seat,
    choose_license,
    refusal_for_unusable,
)
from licserver.domain.status import (
    ALL,
    STORED,
    effective_status,
    stored_terms,
    transition,
    usability_error,
)

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
SOON = NOW + timedelta(days=30)
LATER = NOW + timedelta(days=365)


def cand(
    key: int,
    *,
    status: str = "active",
    seats: int = 5,
    used: int = 0,
    expires: datetime | None = None,
    here: bool = False,
) -> Candidate:
    return Candidate(
        key=key,
        status=status,
        seats=seats,
        seats_used=used,
        expires_at=expires,
        active_here=here,
    )


# ---- check_free_seat ------------------------------------------------------------


@pytest.mark.parametrize(("seats", "used"), [(1, 0), (5, 0), (5, 4)])
def test_free_seat(seats: int, used: int) -> None:
    check_free_seat(seats, used)


@pytest.mark.parametrize(("seats", "used"), [(1, 1), (5, 5), (5, 6), (3, 40)])
def test_no_free_seat(seats: int, used: int) -> None:
    with pytest.raises(SeatLimitReached) as info:
        check_free_seat(seats, used)
    assert (info.value.code, info.value.status) == ("SEAT_LIMIT_REACHED", 409)
    assert str(seats) in info.value.detail


# ---- choose_license: the rules one by one --------------------------------------------


def test_already_active_wins_even_when_full() -> None:
    full_here = cand(2, seats=1, used=1, expires=LATER, here=True)
    candidates = [cand(1, expires=SOON), full_here, cand(3)]
    assert choose_license(candidates) == full_here


def test_free_seat_expiring_first_wins() -> None:
    first = cand(3, expires=SOON)
    assert choose_license([cand(1, expires=LATER), cand(2), first]) == first


def test_full_licence_is_skipped_for_the_next_expiring() -> None:
    nxt = cand(2, expires=LATER)
    assert choose_license([cand(1, seats=2, used=2, expires=SOON), nxt, cand(3)]) == nxt


def test_perpetual_licences_come_last() -> None:
    dated = cand(9, expires=LATER + timedelta(days=3650))
    assert choose_license([cand(1), cand(2), dated]) == dated


def test_oldest_among_equals() -> None:
    assert choose_license([cand(5, expires=SOON), cand(2, expires=SOON), cand(7)]).key == 2  # type: ignore[union-attr]
    assert choose_license([cand(8), cand(4), cand(6)]).key == 4  # type: ignore[union-attr]


@pytest.mark.parametrize("status", ["suspended", "revoked", "expired"])
def test_unusable_licences_are_ignored(status: str) -> None:
    # sooner-expiring and already active here, but not usable: never chosen
    unusable = [cand(1, status=status, expires=SOON), cand(2, status=status, here=True)]
    usable = cand(3, expires=LATER)
    assert choose_license([*unusable, usable]) == usable
    assert choose_license(unusable) is None


def test_none_when_every_usable_licence_is_full() -> None:
    candidates = [
        cand(1, seats=1, used=1),
        cand(2, seats=3, used=3, expires=SOON),
        cand(3, status="suspended", used=0),
    ]
    assert choose_license(candidates) is None
    assert choose_license([]) is None


def test_input_order_does_not_matter_for_a_free_seat() -> None:
    candidates = [cand(4, expires=LATER), cand(1), cand(3, expires=SOON), cand(2, expires=SOON)]
    for perm in itertools.permutations(candidates):
        assert choose_license(list(perm)).key == 2  # type: ignore[union-attr]


# ---- choose_license: every small combination against the rule as API.md words it -------


def _reference(candidates: list[Candidate]) -> Candidate | None:
    """API.md: among usable licences, one on which this installation is already
    active, else the one with a free seat that expires first (perpetual last,
    then oldest); None when all are full."""
    usable = [c for c in candidates if c.status == "active"]
    here = [c for c in usable if c.active_here]
    if here:
        return min(here, key=lambda c: c.key)
    free = [c for c in usable if c.seats_used < c.seats]
    if not free:
        return None
    dated = [c for c in free if c.expires_at is not None]
    if dated:
        soonest = min(c.expires_at for c in dated if c.expires_at is not None)
        return min((c for c in dated if c.expires_at == soonest), key=lambda c: c.key)
    return min(free, key=lambda c: c.key)


def test_every_combination_of_three_licences() -> None:
    shapes = list(
        itertools.product(
            ["active", "expired", "suspended"],  # revoked behaves as suspended here
            [0, 1],  # seats used of 1: free or full
            [None, SOON, LATER],
            [False, True],
        )
    )
    checked = 0
    for combo in itertools.product(shapes, repeat=3):
        # candidates arrive oldest first, as the service loads them
        candidates = [
            cand(k, status=s, seats=1, used=u, expires=e, here=h)
            for k, (s, u, e, h) in enumerate(combo, start=1)
        ]
        assert choose_license(candidates) == _reference(candidates), candidates
        checked += 1
    assert checked == len(shapes) ** 3 == 36**3


# ---- refusal_for_unusable -----------------------------------------------------------


def test_refusal_comes_from_the_newest_licence() -> None:
    candidates = [cand(3, status="revoked"), cand(7, status="expired"), cand(5, status="suspended")]
    assert refusal_for_unusable(candidates).key == 7
    assert refusal_for_unusable(list(reversed(candidates))).key == 7
    err = usability_error(refusal_for_unusable(candidates).status)
    assert err is not None and err.code == "LICENSE_EXPIRED"


# ---- effective_status ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("stored", "expires_at", "expected"),
    [
        ("active", None, "active"),
        ("active", NOW + timedelta(microseconds=1), "active"),
        ("active", NOW, "expired"),  # the boundary: expired at expires_at itself
        ("active", NOW - timedelta(seconds=1), "expired"),
        ("suspended", None, "suspended"),
        ("suspended", LATER, "suspended"),
        ("suspended", NOW - timedelta(days=1), "suspended"),  # suspension wins over expiry
        ("revoked", None, "revoked"),
        ("revoked", NOW - timedelta(days=1), "revoked"),  # revocation wins over expiry
    ],
)
def test_effective_status(stored: str, expires_at: datetime | None, expected: str) -> None:
    assert effective_status(stored, expires_at, NOW) == expected


def test_expiry_compares_instants_not_wall_clock_texts() -> None:
    # 11:00+02:00 is 09:00 UTC, before NOW; 11:00-02:00 is 13:00 UTC, after it
    plus_two = datetime(2026, 11, 22, 11, 0, tzinfo=timezone(timedelta(hours=2)))
    minus_two = datetime(2026, 11, 22, 11, 0, tzinfo=timezone(timedelta(hours=-2)))
    assert effective_status("active", plus_two, NOW) == "expired"
    assert effective_status("active", minus_two, NOW) == "active"


def test_status_vocabulary() -> None:
    assert STORED == ("active", "suspended", "revoked")
    assert ALL == ("active", "suspended", "revoked", "expired")


# ---- usability_error --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code"),
    [
        ("suspended", "LICENSE_SUSPENDED"),
        ("revoked", "LICENSE_REVOKED"),
        ("expired", "LICENSE_EXPIRED"),
    ],
)
def test_usability_error_codes(status: str, code: str) -> None:
    err = usability_error(status)
    assert isinstance(err, LicenseServerError)
    assert (err.code, err.status) == (code, 403)
    assert status in err.detail


def test_active_licence_is_usable() -> None:
    assert usability_error("active") is None


# ---- transitions --------------------------------------------------------------------------

_CONFLICT = "conflict"


@pytest.mark.parametrize(
    ("stored", "action", "expected"),
    [
        ("active", "suspend", "suspended"),
        ("suspended", "suspend", None),
        ("revoked", "suspend", _CONFLICT),
        ("active", "reinstate", None),
        ("suspended", "reinstate", "active"),
        ("revoked", "reinstate", _CONFLICT),  # revocation is final
        ("active", "revoke", "revoked"),
        ("suspended", "revoke", "revoked"),
        ("revoked", "revoke", None),
    ],
)
def test_transitions(stored: str, action: str, expected: str | None) -> None:
    if expected == _CONFLICT:
        with pytest.raises(Conflict) as info:
            transition(stored, action)
        assert (info.value.code, info.value.status) == ("CONFLICT", 409)
        assert "revoked" in info.value.detail
    else:
        assert transition(stored, action) == expected


@pytest.mark.parametrize("wanted", ALL)
def test_stored_terms_find_exactly_the_licences_of_a_status(wanted: str) -> None:
    stored_status, passed = stored_terms(wanted)
    for stored, expires in itertools.product(STORED, (None, NOW - timedelta(seconds=1), NOW, SOON)):
        has_passed = expires is not None and expires <= NOW
        found = stored == stored_status and (passed is None or passed == has_passed)
        assert found == (effective_status(stored, expires, NOW) == wanted), (stored, expires)
