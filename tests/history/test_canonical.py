"""The canonical form and the chain check, as plain functions (no app)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone

from licserver.domain import history as chain
from licserver.domain.history import Head, StoredEvent

AT = datetime(2026, 11, 22, 10, 0, 0, 123456, tzinfo=UTC)


def _event(**over: object) -> dict[str, object]:
    ev: dict[str, object] = {
        "license_id": 7,
        "customer_id": 3,
        "activation_id": "A-1",
        "installation_id": "inst-0001",
        "machine_name": "PC",
        "at": AT,
        "kind": "activation.created",
        "actor_type": "client",
        "actor_id": None,
        "ip": "10.0.0.1",
        "reason": None,
        "data": {"b": 1, "a": [1, 2]},
    }
    ev.update(over)
    return ev


def test_canonical_form_is_fixed_text_with_explicit_nulls_sorted_json_and_utc_microseconds() -> (
    None
):
    text = chain.canonical({**_event(machine_name="Zoë's PC"), "seq": 1})
    assert text == (
        "LHE1\n"
        "seq=1:1\n"
        "license_id=1:7\n"
        "customer_id=1:3\n"
        "activation_id=3:A-1\n"
        "installation_id=9:inst-0001\n"
        "machine_name=9:Zoë's PC\n"  # length in UTF-8 bytes
        "at=27:2026-11-22T10:00:00.123456Z\n"
        "kind=18:activation.created\n"
        "actor_type=6:client\n"
        "actor_id=~\n"
        "ip=8:10.0.0.1\n"
        "reason=~\n"
        'data=17:{"a":[1,2],"b":1}\n'
    )
    digest = chain.chain_hash(None, text)
    assert digest == hashlib.sha256(("\n" + text).encode()).hexdigest()


def test_the_same_moment_in_any_zone_or_naive_utc_gives_the_same_form() -> None:
    plus2 = AT.astimezone(timezone(timedelta(hours=2)))
    naive = AT.replace(tzinfo=None)
    forms = {chain.canonical({**_event(at=at), "seq": 1}) for at in (AT, plus2, naive)}
    assert len(forms) == 1


def test_json_key_order_and_tuples_do_not_matter_but_values_do() -> None:
    one = chain.canonical(_event(data={"x": (1, 2), "y": {"b": None, "a": "é"}}))
    two = chain.canonical(_event(data={"y": {"a": "é", "b": None}, "x": [1, 2]}))
    assert one == two
    assert chain.canonical(_event(data={"x": 1})) != chain.canonical(_event(data={"x": "1"}))


def test_no_value_can_pass_for_another() -> None:
    # a NULL, an empty string and the text "~" are three different things
    forms = {chain.canonical(_event(reason=r)) for r in (None, "", "~")}
    assert len(forms) == 3
    # moving text from one field into the next changes the form
    a = chain.canonical(_event(installation_id="ab", machine_name="c"))
    b = chain.canonical(_event(installation_id="a", machine_name="bc"))
    assert a != b


def test_the_tail_is_the_end_of_the_form() -> None:
    full = chain.canonical({**_event(), "seq": 4})
    assert full.endswith(chain.canonical_tail(_event(), "at"))
    assert full == "LHE1\n" + chain.canonical_tail({**_event(), "seq": 4}, "seq")


def _chain(n: int) -> list[StoredEvent]:
    out: list[StoredEvent] = []
    prev = None
    for i in range(1, n + 1):
        fields = _event(reason=f"r{i}")
        digest = chain.chain_hash(prev, chain.canonical({**fields, "seq": i}))
        out.append(StoredEvent(100 + i, i, prev, digest, fields))
        prev = digest
    return out


def _head(events: list[StoredEvent]) -> Head:
    return Head(len(events), events[-1].chain_hash if events else None)


def test_an_untouched_chain_verifies() -> None:
    events = _chain(5)
    assert chain.verify_chain(events, _head(events)) is None
    assert chain.verify_chain([], Head(0, None)) is None
    assert chain.verify_chain(events, _head(events), Head(3, events[2].chain_hash)) is None


def test_an_edited_event_is_named() -> None:
    events = _chain(5)
    bad = events[2]
    events[2] = StoredEvent(
        bad.id, bad.chain_seq, bad.chain_prev, bad.chain_hash, {**bad.fields, "reason": "edited"}
    )
    problem = chain.verify_chain(events, _head(_chain(5)))
    assert problem is not None and problem.event_id == 103
    assert "changed" in problem.message


def test_a_deleted_event_is_named_at_the_next_one_and_a_deleted_last_one_at_the_end() -> None:
    events = _chain(5)
    head = _head(events)
    problem = chain.verify_chain(events[:2] + events[3:], head)
    assert problem is not None and problem.event_id == 104 and "deleted" in problem.message
    problem = chain.verify_chain(events[:4], head)
    assert problem is not None and problem.event_id is None and "5..5" in problem.message


def test_rows_swapped_with_their_hashes_are_a_reordering() -> None:
    events = _chain(4)
    a, b = events[1], events[2]
    swapped = [
        events[0],
        StoredEvent(a.id, b.chain_seq, b.chain_prev, b.chain_hash, b.fields),
        StoredEvent(b.id, a.chain_seq, a.chain_prev, a.chain_hash, a.fields),
        events[3],
    ]
    problem = chain.verify_chain(swapped, _head(events))
    assert problem is not None and problem.event_id == 102


def test_a_rewritten_chain_fails_against_its_signed_head() -> None:
    events = _chain(5)
    signed = Head(3, events[2].chain_hash)
    # rewrite from event 2 on, hashes recomputed: consistent, but not the signed one
    prev = events[0].chain_hash
    forged = [events[0]]
    for ev in events[1:]:
        fields = {**ev.fields, "reason": "forged"}
        digest = chain.chain_hash(prev, chain.canonical({**fields, "seq": ev.chain_seq}))
        forged.append(StoredEvent(ev.id, ev.chain_seq, prev, digest, fields))
        prev = digest
    assert chain.verify_chain(forged, _head(forged)) is None  # without the signature: unseen
    problem = chain.verify_chain(forged, _head(forged), signed)
    assert problem is not None and problem.event_id == 103 and "signed head" in problem.message
    # and a signed head beyond the end: events were deleted
    problem = chain.verify_chain(events[:2], _head(events[:2]), signed)
    assert problem is not None and "signed head" in problem.message
