"""Bulk actions on a filtered licence list (the console): extend expiry (by N
days or to a date), suspend, reinstate, add seats.

:func:`preview` says how many licences and which (the first ones in the
list's order, and the count); :func:`run` then acts on the same set: the
list's filters, and no licence newer than the preview's snapshot (``upto``,
the highest licence id when the preview was made). Each licence is changed
in its own transaction by the service the API uses (``services.license_changes``),
so each change is its own event with the staff actor, and one licence that
fails neither stops nor undoes the others. Synchronous: a licence costs one
short transaction (about a millisecond or two on SQLite), so even tens of
thousands finish within a request's time; the ids are read in one query,
the licences' state in chunks."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import islice
from typing import Any

from sqlalchemy import Select, func, select

from licserver.domain import bulk as rules
from licserver.domain.errors import LicenseServerError, ValidationFailed
from licserver.models import License
from licserver.services import Origin, license_changes, listing
from licserver.services import console_lists as lists
from licserver.services.context import Context
from licserver.services.listing import ListRequest

SHOWN = 20  # licences named in a preview
CHUNK = 500  # licences whose state is read at once during a run


@dataclass
class Preview:
    action: rules.Action
    filters: lists.Filters
    upto: int  # the snapshot: licences with an id above it are not in the set
    total: int
    first: list[License]  # the first SHOWN licences, in the list's order


def action(
    kind: str, *, days: int | None = None, until: Any = None, seats: int | None = None
) -> rules.Action:
    """The action as staff asked for it; ValidationFailed naming the bad field."""
    try:
        return rules.action(kind, days=days, until=until, seats=seats)
    except rules.BulkError as exc:
        raise ValidationFailed(exc.errors, str(exc)) from None


def _selection(ctx: Context, filters: lists.Filters, upto: int) -> Select[Any]:
    return lists.LICENSES.build(ctx, filters).where(License.id <= upto)


def preview(
    ctx: Context, filters: lists.Filters, act: rules.Action, upto: int | None = None
) -> Preview:
    """The licences the action would run on (``upto``: an earlier preview's
    snapshot; absent, the snapshot is taken now). Reads only."""
    if upto is None:
        upto = int(ctx.session.scalar(select(func.max(License.id))) or 0)
    spec = lists.LICENSES
    page = listing.fetch_page(
        ctx.session,
        _selection(ctx, filters, upto),
        spec.columns,
        spec.id_col,
        ListRequest(spec.default_sort, SHOWN),
    )
    ctx.session.rollback()
    return Preview(act, filters, upto, page.total, page.items)


def run(
    ctx: Context, origin: Origin, filters: lists.Filters, act: rules.Action, upto: int
) -> rules.Summary:
    """Apply the action to every licence of the preview's set, each in its own
    transaction; the summary says what was changed, skipped (and why) and
    failed (and why)."""
    session = ctx.session
    ids = list(
        session.scalars(
            _selection(ctx, filters, upto).with_only_columns(License.id).order_by(License.id)
        )  # fmt: skip
    )
    session.rollback()
    summary = rules.Summary()
    source = iter(ids)
    while chunk := list(islice(source, CHUNK)):
        state = session.execute(
            select(License.public_id, License.status, License.expires_at).where(
                License.id.in_(chunk)
            ).order_by(License.id)
        ).all()  # fmt: skip
        session.rollback()
        for public_id, status, expires_at in state:
            reason = rules.skip_reason(act, status, expires_at)
            if reason is not None:
                summary.skipped.append((public_id, reason))
                continue
            try:
                _apply(ctx, origin, act, public_id, expires_at)
            except LicenseServerError as exc:  # the service rolled back this one
                summary.failed.append((public_id, exc.detail))
            else:
                summary.changed += 1
    return summary


def _apply(
    ctx: Context, origin: Origin, act: rules.Action, public_id: str, expires_at: Any
) -> None:
    """One licence, one transaction (the service's own)."""
    if act.kind in (rules.SUSPEND, rules.REINSTATE):
        license_changes.change_status(ctx, origin, public_id, act.kind)
    elif act.kind == rules.ADD_SEATS:
        assert act.seats is not None
        license_changes.add_seats(ctx, origin, public_id, act.seats)
    else:
        new = rules.new_expiry(act, expires_at)
        license_changes.update(ctx, origin, public_id, {"expires_at": new})
