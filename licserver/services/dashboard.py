"""The console's dashboard: how the licences are used (a read model).

Two kinds of figures, kept in two tables (licserver.models.dashboard):

- **per day** (activations and refusals by product, refusals by code): the
  events are folded into ``dashboard_days``, a few rows per day and product,
  up to a watermark (the last event id folded). The events after it, the
  tail, are counted live on every read, so the charts are exact to the
  request however long ago the last fold was.
- **as things stand** (active licences, machines seen lately, seat use,
  expiring licences, check-in freshness): scans of the licences and
  activations, whose cost grows with the data set; taken by :func:`refresh`
  and kept in ``dashboard_state`` with the time they were taken.

``licserver dashboard refresh`` runs :func:`refresh` (from cron, every few
minutes); :func:`read` runs it itself when the figures are older than
``MAX_AGE`` (a new server needs no cron to see a dashboard). docs/performance.md
has the measurements behind the split.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, case, cast, func, insert, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from licserver.database import is_postgres
from licserver.models import Activation, Event, License, Product
from licserver.models.base import UTCDateTime
from licserver.models.dashboard import DashboardDay, DashboardState
from licserver.services.context import Context

ACTIVATED = "activation.created"
# Every answer that told a client no, whatever it asked.
REFUSED = (
    "activation.refused",
    "validation.refused",
    "activation.checkin_refused",
    "activation.deactivation_refused",
)
DAYS = 90
RECENT = (7, 30)  # "machines active in the last N days"
EXPIRING_DAYS = 30
MAX_AGE = timedelta(minutes=15)  # read() refreshes figures older than this
# PostgreSQL: events younger than this are left in the tail at a fold: a
# transaction that took a lower id and has not committed yet would otherwise be
# skipped by the watermark. (Requests time out after 30 s; no event-writing
# transaction lasts minutes.) SQLite has one writer at a time, so every id up to
# the newest one a read sees is committed: a fold there takes them all.
FOLD_LAG = timedelta(minutes=5)
NO_PRODUCT = "No known licence"
SEAT_BUCKETS = ("unused", "1–25 %", "26–50 %", "51–75 %", "76–99 %", "full")
EXPIRY_WEEKS = ("in 1–7 days", "in 8–14 days", "in 15–21 days", "in 22–30 days")
STATE_ROW = 1


@dataclass(frozen=True)
class Series:
    name: str
    values: list[int]

    @property
    def total(self) -> int:
        return sum(self.values)


@dataclass(frozen=True)
class Freshness:
    product: str
    seen: int  # live machines seen within the product's offline grace
    not_seen: int


@dataclass(frozen=True)
class Dashboard:
    now: datetime
    figures_at: datetime  # when the "as things stand" figures were taken
    active_licences: int
    machines: dict[int, int]  # days -> live machines seen within them
    seat_use: list[tuple[str, int]]
    expiring: int
    expiring_by_week: list[tuple[str, int]]
    freshness: list[Freshness]
    days: list[date] = field(default_factory=list)
    activations: list[Series] = field(default_factory=list)  # one per product
    refusals: list[Series] = field(default_factory=list)
    refusals_by_code: list[tuple[str, int]] = field(default_factory=list)

    @property
    def not_seen(self) -> int:
        return sum(f.not_seen for f in self.freshness)


def read(ctx: Context) -> Dashboard:
    """Everything the dashboard shows; the stored figures refreshed first when
    there are none or they are older than ``MAX_AGE``."""
    now = ctx.now()
    state = ctx.session.get(DashboardState, STATE_ROW)
    if state is None or state.refreshed_at < now - MAX_AGE or state.refreshed_at > now:
        refresh(ctx)
        state = ctx.session.get(DashboardState, STATE_ROW)
        assert state is not None
    d = _from_figures(state.figures, now, state.refreshed_at)
    first = now.date() - timedelta(days=DAYS - 1)
    rows = [*_folded(ctx.session, first), *_tail(ctx.session, state.events_through, first)]
    _add_daily(ctx.session, d, rows, first)
    ctx.session.rollback()  # a read: no transaction left open
    return d


def refresh(ctx: Context) -> datetime:
    """Fold the events since the last fold into the daily counts and take the
    figures as things stand; one transaction. When another refresh committed in
    the meantime, this one's work is dropped (theirs counts). Returns the time
    of the figures now stored."""
    session, now = ctx.session, ctx.now()
    state = _state_row(session, now)
    through = state.events_through
    top = _fold_top(session, through, now - FOLD_LAG)
    if top > through:
        _store_counts(session, _count_events(session, through, top))
    figures = take_figures(session, now)
    done = session.execute(
        update(DashboardState)
        .where(DashboardState.id == STATE_ROW, DashboardState.events_through == through)
        .values(events_through=top, refreshed_at=now, figures=figures)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        return _stored_at(session)
    session.commit()
    return now


def _state_row(session: Session, now: datetime) -> DashboardState:
    state = session.get(DashboardState, STATE_ROW)
    if state is not None:
        return state
    session.add(DashboardState(id=STATE_ROW, refreshed_at=now, events_through=0, figures={}))
    try:
        session.commit()
    except IntegrityError:  # another refresh made it first
        session.rollback()
    state = session.get(DashboardState, STATE_ROW)
    assert state is not None
    return state


def _stored_at(session: Session) -> datetime:
    at = session.scalar(select(DashboardState.refreshed_at).where(DashboardState.id == STATE_ROW))
    session.rollback()
    assert at is not None
    return at


# ---- per day -------------------------------------------------------------------

# (day, product id or 0, "activation" | "refusal", code or "", count)
Row = tuple[date, int, str, str, int]


def _fold_top(session: Session, through: int, cutoff: datetime) -> int:
    """The last event id to fold: on PostgreSQL, all events up to it are older
    than ``cutoff``; on SQLite, the newest (see FOLD_LAG)."""
    if not is_postgres(session):
        last = session.scalar(select(func.max(Event.id)).where(Event.id > through))
        return through if last is None else int(last)
    young = session.scalar(
        select(func.min(Event.id)).where(
            Event.id > through, Event.at >= literal(cutoff, UTCDateTime())
        )
    )
    if young is not None:
        return max(through, young - 1)
    last = session.scalar(select(func.max(Event.id)).where(Event.id > through))
    return through if last is None else int(last)


def _day(session: Session) -> Any:
    if is_postgres(session):  # the UTC day, whatever the session's time zone
        return cast(func.timezone("UTC", Event.at), Date)
    return func.date(Event.at, type_=Date)  # SQLite keeps UTC as text


def _count_events(session: Session, after: int, upto: int | None) -> list[Row]:
    """The events after id ``after`` (up to ``upto``), counted by day, product,
    activation or refusal, and code."""
    day = _day(session).label("day")
    activation = Event.kind == ACTIVATED
    sort = case((activation, "activation"), else_="refusal").label("sort")
    code = case((activation, ""), else_=func.coalesce(Event.reason, "UNKNOWN")).label("code")
    product = func.coalesce(License.product_id, 0).label("product")
    q = (
        select(day, product, sort, code, func.count())
        .select_from(Event)
        .outerjoin(License, License.id == Event.license_id)
        .where(Event.id > after, Event.kind.in_((ACTIVATED, *REFUSED)))
        .group_by(day, product, sort, code)
    )
    if upto is not None:
        q = q.where(Event.id <= upto)
    return [(_as_date(d), int(p), s, c[:64], int(n)) for d, p, s, c, n in session.execute(q)]


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _store_counts(session: Session, rows: Sequence[Row]) -> None:
    """Add the counts to the stored ones (a new row where there is none): one
    read of the days concerned, then one statement for the changed rows and one
    for the new (a first fold brings thousands). A concurrent refresh that did
    the same loses at its watermark check and rolls back."""
    if not rows:
        return
    d = DashboardDay
    q = select(d.id, d.day, d.product_id, d.kind, d.code, d.count).where(
        d.day >= min(r[0] for r in rows)
    )
    stored = {(_as_date(day), p, k, c): (rid, n) for rid, day, p, k, c, n in session.execute(q)}
    changed, new = [], []
    for day, product, sort, code, n in rows:
        found = stored.get((day, product, sort, code))
        if found is not None:
            changed.append({"id": found[0], "count": found[1] + n})
        else:
            new.append({"day": day, "product_id": product, "kind": sort, "code": code, "count": n})
    if changed:
        session.execute(update(DashboardDay), changed)  # by primary key
    if new:
        session.execute(insert(DashboardDay), new)


def _folded(session: Session, first: date) -> list[Row]:
    q = select(
        DashboardDay.day,
        DashboardDay.product_id,
        DashboardDay.kind,
        DashboardDay.code,
        DashboardDay.count,
    ).where(DashboardDay.day >= first)
    return [(_as_date(d), p, k, c, n) for d, p, k, c, n in session.execute(q)]


def _tail(session: Session, through: int, first: date) -> list[Row]:
    return [r for r in _count_events(session, through, None) if r[0] >= first]


def _add_daily(session: Session, d: Dashboard, rows: Sequence[Row], first: date) -> None:
    """Fill the dashboard's per-day series and refusal codes from the rows."""
    names: dict[int, str] = {
        pid: name for pid, name in session.execute(select(Product.id, Product.name))
    }
    d.days.extend(first + timedelta(days=i) for i in range(DAYS))
    per: dict[str, dict[int, list[int]]] = {"activation": {}, "refusal": {}}
    codes: dict[str, int] = defaultdict(int)
    for day, product, sort, code, n in rows:
        values = per[sort].setdefault(product, [0] * DAYS)
        values[(day - first).days] += n
        if sort == "refusal":
            codes[code] += n
    for sort, out in (("activation", d.activations), ("refusal", d.refusals)):
        series = [
            Series(names.get(pid, NO_PRODUCT) if pid else NO_PRODUCT, values)
            for pid, values in per[sort].items()
        ]
        out.extend(sorted(series, key=lambda s: (-s.total, s.name)))
    d.refusals_by_code.extend(sorted(codes.items(), key=lambda kv: (-kv[1], kv[0])))


# ---- as things stand -----------------------------------------------------------


def take_figures(session: Session, now: datetime) -> dict[str, Any]:
    """The figures that scan licences and activations, as JSON-ready values."""
    return {
        "active_licences": _active_licences(session, now),
        "machines": {str(days): n for days, n in _machines(session, now).items()},
        "seat_use": _seat_use(session, now),
        "expiring_by_week": _expiring(session, now),
        "freshness": _freshness(session, now),
    }


def _from_figures(f: dict[str, Any], now: datetime, at: datetime) -> Dashboard:
    weeks = [(label, int(n)) for label, n in f["expiring_by_week"]]
    return Dashboard(
        now=now,
        figures_at=at,
        active_licences=int(f["active_licences"]),
        machines={int(days): int(n) for days, n in f["machines"].items()},
        seat_use=[(label, int(n)) for label, n in f["seat_use"]],
        expiring=sum(n for _, n in weeks),
        expiring_by_week=weeks,
        freshness=[Freshness(p, int(seen), int(gone)) for p, seen, gone in f["freshness"]],
    )


def _at(value: datetime) -> Any:
    return literal(value, UTCDateTime())


def _active(now: datetime) -> Any:
    return (License.status == "active") & (
        License.expires_at.is_(None) | (License.expires_at > _at(now))
    )


def _active_licences(session: Session, now: datetime) -> int:
    return int(session.scalar(select(func.count()).select_from(License).where(_active(now))) or 0)


def _last_seen() -> Any:
    return func.coalesce(Activation.last_checkin_at, Activation.activated_at)


def _machines(session: Session, now: datetime) -> dict[int, int]:
    """Installations with a live activation that checked in (or activated)
    within each of ``RECENT``'s numbers of days."""
    cols = [
        func.count(
            func.distinct(
                case((_last_seen() >= _at(now - timedelta(days=n)), Activation.installation_id))
            )
        )
        for n in RECENT
    ]
    row = session.execute(select(*cols).where(Activation.deactivated_at.is_(None))).one()
    return {n: int(v or 0) for n, v in zip(RECENT, row, strict=True)}


def _seat_use(session: Session, now: datetime) -> list[list[Any]]:
    """Active licences by how full they are (``SEAT_BUCKETS``)."""
    used, seats = License.seats_used, License.seats
    bucket = case(
        (used == 0, 0),
        (used * 100 <= seats * 25, 1),
        (used * 100 <= seats * 50, 2),
        (used * 100 <= seats * 75, 3),
        (used < seats, 4),
        else_=5,
    ).label("bucket")
    q = select(bucket, func.count()).where(_active(now)).group_by(bucket)
    counts = {i: n for i, n in session.execute(q)}
    return [[label, int(counts.get(i, 0))] for i, label in enumerate(SEAT_BUCKETS)]


def _expiring(session: Session, now: datetime) -> list[list[Any]]:
    """Active licences that expire within ``EXPIRING_DAYS``, by week."""
    ends = (7, 14, 21, EXPIRING_DAYS)
    week = case(
        *((License.expires_at <= _at(now + timedelta(days=e)), i) for i, e in enumerate(ends))
    ).label("week")
    q = (
        select(week, func.count())
        .where(
            License.status == "active",
            License.expires_at > _at(now),
            License.expires_at <= _at(now + timedelta(days=EXPIRING_DAYS)),
        )
        .group_by(week)
    )
    counts = {i: n for i, n in session.execute(q)}
    return [[label, int(counts.get(i, 0))] for i, label in enumerate(EXPIRY_WEEKS)]


def _freshness(session: Session, now: datetime) -> list[list[Any]]:
    """Live machines by product: seen within the product's offline grace or not."""
    graces = session.execute(select(Product.id, Product.name, Product.offline_grace_days)).all()
    if not graces:
        return []
    cutoff = case(
        {pid: _at(now - timedelta(days=days)) for pid, _, days in graces},
        value=License.product_id,
    )
    seen = func.sum(case((_last_seen() >= cutoff, 1), else_=0))
    q = (
        select(License.product_id, seen, func.count())
        .select_from(Activation)
        .join(License, License.id == Activation.license_id)
        .where(Activation.deactivated_at.is_(None))
        .group_by(License.product_id)
    )
    names = {pid: name for pid, name, _ in graces}
    rows = [[names[pid], int(s or 0), int(n) - int(s or 0)] for pid, s, n in session.execute(q)]
    return sorted(rows, key=lambda r: (-r[2], r[0]))
