"""The tamper-evident history: each licence's events form a hash chain.

An event's *canonical form* is a text that every writer (the ORM, a Core
insert, PostgreSQL's one-statement fast paths computing it in SQL) and every
reader (``licserver verify-history``) builds alike, from the values the events
table stores::

    LHE1
    seq=<enc>
    license_id=<enc>
    ...one line per field of FIELDS, in that order...

``enc`` is ``~`` for NULL, else ``<length in UTF-8 bytes>:<text>`` (so no value
can pass for another, whatever characters it holds). Integers are decimal;
``at`` is UTC to the microsecond, ``2026-11-22T10:00:00.000000Z``; ``data`` is
compact JSON with sorted keys, non-ASCII kept as is.

An event's hash is ``sha256(prev + "\\n" + canonical)`` in lowercase hex, where
``prev`` is the hash of the licence's previous event (the empty string for its
first). ``seq`` numbers the licence's events 1, 2, 3... so that a reordering
shows even when whole rows, hashes included, are swapped. The licence row keeps
the head (the last hash and seq) so that a deleted last event shows too.

Plain Python: no Flask, no session.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

VERSION = "LHE1"
FIELDS = (
    "seq",
    "license_id",
    "customer_id",
    "activation_id",
    "installation_id",
    "machine_name",
    "at",
    "kind",
    "actor_type",
    "actor_id",
    "ip",
    "reason",
    "data",
)
NULL = "~"
SIGNED_HEAD_PREFIX = "LHH1"  # signed chain heads; not a licence key or certificate


def format_at(value: datetime) -> str:
    """A time as the canonical form writes it: UTC, microseconds, ``Z``
    (a naive time is taken as UTC, as SQLite gives them back)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_json(data: Any) -> str:
    """``data`` as the canonical form writes it: what the JSON column gives back
    (``data`` is passed through JSON first, so tuples and non-string keys read
    the same as after a round trip through the database)."""
    normal = json.loads(json.dumps(data))
    return json.dumps(normal, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def enc(value: str | None) -> str:
    if value is None:
        return NULL
    return f"{len(value.encode('utf-8'))}:{value}"


def _text(name: str, value: Any) -> str | None:
    if name == "data":
        return canonical_json(value)
    if value is None:
        return None
    if name == "at":
        if not isinstance(value, datetime):
            raise TypeError("at must be a datetime")
        return format_at(value)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"{name} must be a string or an integer, not {type(value).__name__}")
    return str(value)


def canonical(event: Mapping[str, Any]) -> str:
    """The canonical form of an event given as a mapping of FIELDS (a missing
    field is NULL; ``data`` missing is JSON ``null``)."""
    return f"{VERSION}\n{canonical_tail(event, FIELDS[0])}"


def canonical_tail(event: Mapping[str, Any], first: str) -> str:
    """The canonical form's lines from field ``first`` on: a writer that knows
    only the later fields in Python (the SQL fast paths) builds the first ones in
    SQL and appends these."""
    names = FIELDS[FIELDS.index(first) :]
    return "".join(f"{name}={enc(_text(name, event.get(name)))}\n" for name in names)


def chain_hash(prev: str | None, canonical_form: str) -> str:
    """The hash of an event whose predecessor's hash is ``prev`` (None: the first)."""
    return hashlib.sha256(f"{prev or ''}\n{canonical_form}".encode()).hexdigest()


# -- verification --------------------------------------------------------------


@dataclass(frozen=True)
class StoredEvent:
    """An event as stored: its row id, its chain columns and its FIELDS (seq excluded)."""

    id: int
    chain_seq: int | None
    chain_prev: str | None
    chain_hash: str | None
    fields: Mapping[str, Any]


@dataclass(frozen=True)
class Problem:
    """The first thing wrong with a licence's history. ``event_id`` is the first
    event that does not verify (None when events are missing after the last one)."""

    event_id: int | None
    message: str


@dataclass(frozen=True)
class Head:
    seq: int
    hash: str | None


# Over 60 lines on purpose: one walk of the chain that checks each link; the
# checks share the walk's state (previous hash, seq, signed head seen).
def verify_chain(
    events: Iterable[StoredEvent],
    head: Head,
    signed: Head | None = None,
) -> Problem | None:
    """Walk a licence's events in id order; None when the chain is whole.

    ``head`` is what the licence row says the last event is; ``signed`` the
    latest signed head, which must be a point of this chain (its seq and hash)."""
    prev: str | None = None
    seq = 0
    last_id: int | None = None
    signed_seen = signed is None or signed.seq == 0
    for ev in events:
        expect = seq + 1
        if ev.chain_hash is None or ev.chain_seq is None:
            return Problem(ev.id, f"event {ev.id} is not in the chain (written without a hash)")
        if ev.chain_seq != expect:
            why = "deleted or reordered" if ev.chain_seq > expect else "reordered or copied"
            return Problem(
                ev.id,
                f"event {ev.id}: it is number {ev.chain_seq} of the chain, {expect} was due "
                f"(events {why})",
            )
        if ev.chain_prev != prev:
            return Problem(
                ev.id,
                f"event {ev.id}: does not follow event {last_id} "
                "(an event before it was deleted, edited or moved)"
                if last_id is not None
                else f"event {ev.id}: the first event names a predecessor (events were deleted)",
            )
        actual = chain_hash(prev, canonical({**ev.fields, "seq": ev.chain_seq}))
        if actual != ev.chain_hash:
            return Problem(ev.id, f"event {ev.id}: its contents were changed after it was written")
        if signed is not None and ev.chain_seq == signed.seq:
            if ev.chain_hash != signed.hash:
                return Problem(
                    ev.id,
                    f"event {ev.id}: the chain was rewritten; it no longer matches "
                    f"the signed head at number {signed.seq}",
                )
            signed_seen = True
        prev, seq, last_id = ev.chain_hash, ev.chain_seq, ev.id
    if (seq, prev) != (head.seq, head.hash):
        if head.seq > seq:
            return Problem(
                None,
                f"events {seq + 1}..{head.seq} of the chain are missing after "
                + (f"event {last_id}" if last_id is not None else "the start")
                + " (deleted)",
            )
        return Problem(
            last_id, f"event {last_id}: the licence's recorded chain head does not match"
        )
    if not signed_seen:
        assert signed is not None
        return Problem(
            None, f"the signed head names event number {signed.seq}, which is missing (deleted)"
        )
    return None
