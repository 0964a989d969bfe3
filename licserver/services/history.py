"""The tamper-evident history: chaining events as they are written, checking
the chains, signing their heads.

Every event with a licence is chained (``licserver.domain.history`` has the
canonical form and the hash): its number and hash are taken from the licence
row's head and the head moved on, under the licence's lock, in the transaction
that writes the event. Writers:

- ``events.add`` (Core): on PostgreSQL one statement that locks the licence,
  hashes in SQL, inserts and moves the head (the same one round trip as the
  plain INSERT it replaces); on SQLite, under the write lock the transaction
  already holds (BEGIN IMMEDIATE), hashed in Python;
- ORM ``Event`` objects (``events.record`` and any other): chained just before
  the flush that inserts them (``_chain_new_events``), after locking their
  licences;
- the PostgreSQL fast paths of ``services.activation``: in their own statement,
  with ``pg_hash_sql``.

Events without a licence (refusals of an unknown customer or licence id,
customer-level events) are not chained: there is no licence row to lock, and
they are not part of any licence's history.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, bindparam, event, select, text, update
from sqlalchemy.orm import Session, UOWTransaction
from sqlalchemy.orm.attributes import instance_state, set_committed_value
from sqlalchemy.orm.util import identity_key

from licserver import signing
from licserver.domain import history as chain
from licserver.domain.history import FIELDS, Head, Problem, StoredEvent
from licserver.models.base import utcnow
from licserver.models.event import Event, SignedHead
from licserver.models.license import License
from licserver.services.context import Context
from licserver.services.keys import Keyring

_L = cast(Table, License.__table__)
_E = cast(Table, Event.__table__)

# -- SQL (PostgreSQL) ------------------------------------------------------------


def _pg_enc(expr: str) -> str:
    return f"COALESCE(octet_length(convert_to({expr}, 'UTF8'))::text || ':' || {expr}, '~')"


def pg_hash_sql(prev: str, head: Mapping[str, str], tail_param: str) -> str:
    """A PostgreSQL expression for an event's chain hash: ``prev`` is the previous
    hash (an SQL expression, NULL for none); ``head`` the first fields of
    ``FIELDS``, in order, as SQL expressions of type text; ``tail_param`` the
    bind parameter holding ``canonical_tail`` of the remaining fields."""
    names = tuple(head)
    if names != FIELDS[: len(names)]:
        raise ValueError("head must be the first fields of the canonical form, in order")
    parts = [f"COALESCE({prev}, '')", "chr(10)", f"'{chain.VERSION}'", "chr(10)"]
    for name, expr in head.items():
        parts += [f"'{name}='", _pg_enc(expr), "chr(10)"]
    parts.append(f"CAST(:{tail_param} AS text)")
    return f"encode(sha256(convert_to({' || '.join(parts)}, 'UTF8')), 'hex')"


def tail_first(head: Mapping[str, str]) -> str:
    """The first field the Python side encodes after ``head``."""
    return FIELDS[len(head)]


_COLUMNS = (
    "at, kind, license_id, customer_id, activation_id, actor_type, actor_id, "
    "installation_id, machine_name, ip, reason, data"
)
_ADD_HEAD = {"seq": "CAST(cur.history_seq + 1 AS text)"}
# Lock the licence, hash, move its head and insert, in one statement. The event is
# inserted even when the licence row is missing, so that the foreign key refuses it
# as it refuses a plain INSERT (never a silently lost event).
_PG_ADD_SQL = f"""
WITH cur AS (
    SELECT id, history_seq, history_head FROM licenses WHERE id = :license_id FOR UPDATE
), h AS (
    SELECT cur.id, cur.history_seq + 1 AS seq, cur.history_head AS prev,
           {pg_hash_sql("cur.history_head", _ADD_HEAD, "chain_tail")} AS hash
    FROM cur
), mv AS (
    UPDATE licenses SET history_seq = h.seq, history_head = h.hash FROM h
    WHERE licenses.id = h.id
)
INSERT INTO events ({_COLUMNS}, chain_seq, chain_prev, chain_hash)
SELECT :at, :kind, :license_id, :customer_id, :activation_id, :actor_type, :actor_id,
       :installation_id, :machine_name, :ip, :reason, :data, h.seq, h.prev, h.hash
FROM (SELECT 1) AS one LEFT JOIN h ON true
"""


def _pg_add_statement() -> Any:
    from sqlalchemy import JSON

    from licserver.models.base import UTCDateTime

    return text(_PG_ADD_SQL).bindparams(
        bindparam("at", type_=UTCDateTime()), bindparam("data", type_=JSON())
    )


_PG_ADD = _pg_add_statement()
_INSERT = _E.insert()
_READ_HEAD = select(_L.c.history_seq, _L.c.history_head).where(_L.c.id == bindparam("b_id"))
# updated_at stays: a history entry is not a change to the licence
_MOVE_HEAD = (
    update(_L)
    .where(_L.c.id == bindparam("b_id"))
    .values(
        history_seq=bindparam("b_seq"),
        history_head=bindparam("b_head"),
        updated_at=_L.c.updated_at,
    )
)


def insert_chained(session: Session, values: dict[str, Any], head: Head | None = None) -> None:
    """Insert one event row (``values``: the events columns but the chain's)
    chained onto its licence, in the session's transaction.

    ``head``: the licence's head as this transaction read it under its lock (the
    SQLite write lock); saves reading it again. PostgreSQL always takes it in the
    statement that inserts."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(_PG_ADD, {**values, "chain_tail": chain.canonical_tail(values, "license_id")})
        return
    if head is None:
        row = conn.execute(_READ_HEAD, {"b_id": values["license_id"]}).first()
        head = Head(row.history_seq, row.history_head) if row is not None else None
    if head is None:  # no such licence: the foreign key refuses the row
        conn.execute(_INSERT, values)
        return
    seq = head.seq + 1
    digest = chain.chain_hash(head.hash, chain.canonical({**values, "seq": seq}))
    conn.execute(
        _INSERT, {**values, "chain_seq": seq, "chain_prev": head.hash, "chain_hash": digest}
    )
    conn.execute(_MOVE_HEAD, {"b_id": values["license_id"], "b_seq": seq, "b_head": digest})
    _refresh_loaded_license(session, values["license_id"], seq, digest)


def _refresh_loaded_license(session: Session, license_id: int, seq: int, digest: str) -> None:
    lic = session.identity_map.get(identity_key(License, license_id))
    if lic is not None:
        set_committed_value(lic, "history_seq", seq)
        set_committed_value(lic, "history_head", digest)


def event_fields(ev: Event) -> dict[str, Any]:
    return {name: getattr(ev, name) for name in FIELDS if name != "seq"}


@event.listens_for(Session, "before_flush")
def _chain_new_events(session: Session, _ctx: UOWTransaction, _instances: object) -> None:
    """Chain the ORM events this flush inserts, in the order they were added."""
    new = [
        o
        for o in session.new
        if isinstance(o, Event) and o.license_id is not None and o.chain_hash is None
    ]
    if not new:
        return
    new.sort(key=lambda o: instance_state(o).insert_order or 0)
    conn = session.connection()
    ids = sorted({cast(int, o.license_id) for o in new})
    q = select(_L.c.id, _L.c.history_seq, _L.c.history_head).where(_L.c.id.in_(ids))
    if conn.dialect.name == "postgresql":
        q = q.order_by(_L.c.id).with_for_update()
    heads = {r.id: Head(r.history_seq, r.history_head) for r in conn.execute(q)}
    moved: dict[int, Head] = {}
    for ev in new:
        lid = cast(int, ev.license_id)
        head = heads.get(lid)
        if head is None:
            continue  # no such licence: the foreign key refuses the row
        if ev.at is None:
            ev.at = utcnow()
        if ev.data is None:
            ev.data = {}
        seq = head.seq + 1
        digest = chain.chain_hash(head.hash, chain.canonical({**event_fields(ev), "seq": seq}))
        ev.chain_seq, ev.chain_prev, ev.chain_hash = seq, head.hash, digest
        heads[lid] = moved[lid] = Head(seq, digest)
    if moved:
        conn.execute(
            _MOVE_HEAD, [{"b_id": k, "b_seq": h.seq, "b_head": h.hash} for k, h in moved.items()]
        )
        for k, h in moved.items():
            _refresh_loaded_license(session, k, h.seq, cast(str, h.hash))


# -- checking ----------------------------------------------------------------------

_EVENT_COLUMNS = [
    _E.c.id,
    _E.c.chain_seq,
    _E.c.chain_prev,
    _E.c.chain_hash,
    *(_E.c[name] for name in FIELDS if name != "seq"),
]


def _stored(row: Any) -> StoredEvent:
    fields = {name: getattr(row, name) for name in FIELDS if name != "seq"}
    return StoredEvent(row.id, row.chain_seq, row.chain_prev, row.chain_hash, fields)


@dataclass(frozen=True)
class Verdict:
    """The check of one licence's history: ``problem`` None when it verified."""

    license_id: int
    public_id: str
    events: int
    problem: Problem | None
    head: Head  # the licence's head as checked

    def describe(self) -> str:
        if self.problem is None:
            return f"licence {self.public_id}: {self.events} event(s), history verified"
        where = f"event {self.problem.event_id}" if self.problem.event_id is not None else "end"
        return f"licence {self.public_id}: history check failed at {where}: {self.problem.message}"


def _latest_signed(session: Session, ids: Sequence[int]) -> dict[int, SignedHead]:
    rows = session.scalars(
        select(SignedHead).where(SignedHead.license_id.in_(ids)).order_by(SignedHead.id)
    ).all()
    return {r.license_id: r for r in rows}  # the last one per licence wins


def _signed_head(
    session: Session, keyring: Keyring, lic: Any, signed: SignedHead | None
) -> Head | Problem | None:
    """The signed head to check the chain against, or the problem with it."""
    if signed is None:
        return None
    try:
        payload = signing.decode(
            signed.token, chain.SIGNED_HEAD_PREFIX, keyring.public_keys(session, signed.kid)
        )
    except signing.TokenError as exc:
        return Problem(
            None, f"the signed head of {signed.signed_at:%Y-%m-%d %H:%M} is not valid ({exc})"
        )
    if (payload.get("lid"), payload.get("seq"), payload.get("head")) != (
        lic.public_id,
        signed.seq,
        signed.head,
    ):
        return Problem(None, "a signed head's table row differs from what was signed")
    return Head(signed.seq, signed.head)


def _check(
    session: Session, keyring: Keyring, lic: Any, events: Iterable[StoredEvent], signed: Any
) -> Verdict:
    count = 0

    def counted() -> Iterator[StoredEvent]:
        nonlocal count
        for ev in events:
            count += 1
            yield ev

    head = Head(lic.history_seq, lic.history_head)
    sh = _signed_head(session, keyring, lic, signed)
    if isinstance(sh, Problem):
        return Verdict(lic.id, lic.public_id, 0, sh, head)
    problem = chain.verify_chain(counted(), head, sh)
    return Verdict(lic.id, lic.public_id, count, problem, head)


_LICENSES = select(_L.c.id, _L.c.public_id, _L.c.history_seq, _L.c.history_head)


def verify_license(ctx: Context, license_id: int) -> Verdict:
    """Check one licence's history (reads all its events)."""
    session = ctx.session
    keyring = ctx.keyring
    lic = session.execute(_LICENSES.where(_L.c.id == license_id)).one()
    rows = session.execute(
        select(*_EVENT_COLUMNS).where(_E.c.license_id == license_id).order_by(_E.c.id)
    )
    signed = _latest_signed(session, [license_id]).get(license_id)
    return _check(session, keyring, lic, (_stored(r) for r in rows), signed)


def verify_all(
    ctx: Context, *, public_id: str | None = None, batch: int = 200
) -> Iterator[Verdict]:
    """Check every licence's history (or one's), in licence id order."""
    session = ctx.session
    keyring = ctx.keyring
    after = 0
    while True:
        q = _LICENSES.where(_L.c.id > after).order_by(_L.c.id).limit(batch)
        if public_id is not None:
            q = q.where(_L.c.public_id == public_id)
        lics = session.execute(q).all()
        if not lics:
            return
        ids = [r.id for r in lics]
        by_licence: dict[int, list[StoredEvent]] = {i: [] for i in ids}
        rows = session.execute(
            select(_E.c.license_id.label("lic"), *_EVENT_COLUMNS)
            .where(_E.c.license_id.in_(ids))
            .order_by(_E.c.license_id, _E.c.id)
        )
        for r in rows:
            by_licence[r.lic].append(_stored(r))
        signed = _latest_signed(session, ids)
        for lic in lics:
            yield _check(session, keyring, lic, by_licence[lic.id], signed.get(lic.id))
        after = ids[-1]
        session.commit()  # end the read: no snapshot held across a long check


# -- signing -----------------------------------------------------------------------


@dataclass(frozen=True)
class SignReport:
    signed: int
    unchanged: int
    failed: list[Verdict]


def sign_heads(ctx: Context) -> SignReport:
    """Sign the head of every licence whose history verifies and has grown since
    its last signed head: the head as verified (events written meanwhile wait for
    the next run). A history that does not verify is not signed (that would bless
    the tampering): it is reported instead."""
    session = ctx.session
    keyring = ctx.keyring
    from licserver.database import begin_write

    kid, key = keyring.signer(session)
    signed = unchanged = 0
    failed: list[Verdict] = []
    todo: list[Verdict] = []
    for v in verify_all(ctx):
        if v.problem is not None:
            failed.append(v)
        elif v.head.seq == 0:
            unchanged += 1
        else:
            todo.append(v)
    for start in range(0, len(todo), 200):
        part = todo[start : start + 200]
        latest = _latest_signed(session, [v.license_id for v in part])
        begin_write(session)
        now = utcnow()
        for v in part:
            last = latest.get(v.license_id)
            if last is not None and last.seq == v.head.seq:
                unchanged += 1
                continue
            assert v.head.hash is not None
            payload = {
                "v": 1,
                "lid": v.public_id,
                "seq": v.head.seq,
                "head": v.head.hash,
                "iat": int(now.timestamp()),
            }
            session.add(
                SignedHead(
                    license_id=v.license_id,
                    seq=v.head.seq,
                    head=v.head.hash,
                    signed_at=now,
                    kid=kid,
                    token=signing.encode(chain.SIGNED_HEAD_PREFIX, payload, kid, key),
                )
            )
            signed += 1
        session.commit()
    return SignReport(signed, unchanged, failed)
