"""``licserver verify-history`` on a real database: an untouched history
verifies; an event edited, deleted or reordered by direct SQL is named; signed
heads catch a chain rewritten from an edited event on. The history is written
through the real client and admin APIs, so every writer takes part: the
PostgreSQL one-statement fast paths, the full paths, refusals, the ORM."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from licserver.domain import history as chain
from licserver.extensions import db
from tests.history.helpers import cli, event_ids, sql
from tests.support.database import TestDatabase
from tests.support.factory import AdminClient, Factory, IssuedLicense

KINDS = [
    "license.created",
    "activation.created",  # by key: PostgreSQL's one-statement path
    "activation.created",  # by password: the full path
    "activation.reused",
    "activation.checked_in",  # PostgreSQL's one-statement path
    "activation.refused",  # wrong password
    "activation.deactivated",  # ORM
    "license.updated",
    "license.suspended",
    "activation.checkin_refused",
    "license.reinstated",
]


def _write_history(client: FlaskClient, admin: AdminClient, factory: Factory) -> IssuedLicense:
    lic = factory.license(seats=3)

    def activate(iid: str, **creds: str) -> dict[str, str]:
        r = client.post(
            "/api/v1/activations",
            json={**creds, "installation_id": iid, "machine_name": f"Zoë's {iid}"},
        )
        assert r.status_code in (200, 201), r.get_json()
        body: dict[str, str] = r.get_json()
        return body

    a = activate("inst-aaaa", license_key=lic.key)
    b = activate("inst-bbbb", license_id=lic.id, activation_password=lic.activation_password)
    a = activate("inst-aaaa", license_key=lic.key)
    r = client.post(
        f"/api/v1/activations/{a['activation_id']}/checkin",
        json={"activation_token": a["activation_token"]},
    )
    assert r.status_code == 200
    r = client.post(
        "/api/v1/activations",
        json={
            "license_id": lic.id,
            "activation_password": "wrong",
            "installation_id": "inst-cccc",
            "machine_name": "C",
        },
    )
    assert r.status_code == 401
    r = client.delete(
        f"/api/v1/activations/{b['activation_id']}",
        headers={"Authorization": f"Activation {b['activation_token']}"},
    )
    assert r.status_code == 200
    assert admin.patch(f"/api/v1/licenses/{lic.id}", json={"seats": 4}).status_code == 200
    assert admin.post(f"/api/v1/licenses/{lic.id}/suspend").status_code == 200
    r = client.post(
        f"/api/v1/activations/{a['activation_id']}/checkin",
        json={"activation_token": a["activation_token"]},
    )
    assert r.status_code == 403
    assert admin.post(f"/api/v1/licenses/{lic.id}/reinstate").status_code == 200
    kinds = [e["kind"] for e in admin.get(f"/api/v1/licenses/{lic.id}/events").get_json()["items"]]
    assert kinds == KINDS
    return lic


def test_an_untouched_history_verifies(
    app: Flask, client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    lic = _write_history(client, admin, factory)
    other = factory.license(seats=1)

    done = cli(app, "verify-history")

    assert done.exit_code == 0, done.stdout + done.stderr
    assert f"licence {lic.id}: {len(KINDS)} event(s), history verified" in done.stdout
    assert f"licence {other.id}: 1 event(s), history verified" in done.stdout
    assert "2 licence(s) checked, 0 with a history that does not verify" in done.stdout
    rows = sql(
        "SELECT e.chain_seq, e.chain_prev, e.chain_hash, l.history_seq, l.history_head "
        "FROM events e JOIN licenses l ON l.id = e.license_id "
        "WHERE l.public_id = :lid ORDER BY e.id",
        lid=lic.id,
    )
    assert [r.chain_seq for r in rows] == list(range(1, len(KINDS) + 1))
    assert rows[0].chain_prev is None
    assert all(r.chain_prev == p.chain_hash for p, r in zip(rows, rows[1:], strict=False))
    assert (rows[-1].history_seq, rows[-1].history_head) == (len(KINDS), rows[-1].chain_hash)

    one = cli(app, "verify-history", "--license", lic.id)
    assert one.exit_code == 0 and "1 licence(s) checked, 0 with" in one.stdout
    unknown = cli(app, "verify-history", "--license", "L-NONE-NONE")
    assert unknown.exit_code == 1
    assert "Error: no licence with id 'L-NONE-NONE'." in unknown.stderr


def test_an_edited_reason_is_named_with_its_licence_and_event(
    app: Flask,
    client: FlaskClient,
    admin: AdminClient,
    factory: Factory,
    test_database: TestDatabase,
) -> None:
    lic = _write_history(client, admin, factory)
    refused = event_ids(lic.id)[KINDS.index("activation.refused")]
    sql("UPDATE events SET reason = 'SEAT_LIMIT_REACHED' WHERE id = :id", id=refused)

    # the real command, as an administrator runs it
    env = {k: v for k, v in os.environ.items() if not k.startswith("LICSERVER_")}
    env.update(
        LICSERVER_DATABASE_URL=test_database.url,
        LICSERVER_KEYS_DIR=str(test_database.keys_dir),
        LICSERVER_INSTANCE_DIR=str(test_database.workdir / "instance"),
        LICSERVER_SECRET_KEY="x",
    )
    exe = Path(sys.executable).parent / "licserver"
    done = subprocess.run(
        [str(exe), "verify-history", "--quiet"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 1, done.stdout + done.stderr
    assert (
        f"licence {lic.id}: history check failed at event {refused}: "
        f"event {refused}: its contents were changed after it was written"
    ) in done.stderr
    assert "1 licence(s) checked, 1 with a history that does not verify" in done.stdout


def test_a_deleted_event_is_named_at_the_event_after_it(
    app: Flask, client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    lic = _write_history(client, admin, factory)
    ids = event_ids(lic.id)
    sql("DELETE FROM events WHERE id = :id", id=ids[4])

    done = cli(app, "verify-history")

    assert done.exit_code == 1
    assert f"licence {lic.id}: history check failed at event {ids[5]}" in done.stderr
    assert "it is number 6 of the chain, 5 was due (events deleted or reordered)" in done.stderr


def test_a_deleted_last_event_is_seen(
    app: Flask, client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    lic = _write_history(client, admin, factory)
    ids = event_ids(lic.id)
    sql("DELETE FROM events WHERE id = :id", id=ids[-1])

    done = cli(app, "verify-history", "--license", lic.id)

    assert done.exit_code == 1
    assert f"events {len(ids)}..{len(ids)} of the chain are missing after event {ids[-2]}" in (
        done.stderr
    )


_SWAPPED = (
    "kind, license_id, customer_id, activation_id, actor_type, actor_id, installation_id, "
    "machine_name, ip, reason, at, data"
)


def _swap(a: int, b: int, columns: str) -> None:
    """Swap two rows' ``columns``, as an UPDATE by hand would."""
    names = [c.strip() for c in columns.split(",")]
    row_a = sql(f"SELECT {columns} FROM events WHERE id = :id", id=a)[0]
    row_b = sql(f"SELECT {columns} FROM events WHERE id = :id", id=b)[0]
    json_param = "CAST(:data AS json)" if db.engine.dialect.name == "postgresql" else ":data"
    assign = ", ".join(f"{n} = {json_param if n == 'data' else ':' + n}" for n in names)
    for target, source in ((a, row_b), (b, row_a)):
        values = source._asdict()
        if not isinstance(values["data"], str):
            values["data"] = json.dumps(values["data"])
        sql(f"UPDATE events SET {assign} WHERE id = :target", target=target, **values)


def test_two_events_swapped_are_named_whether_or_not_their_hashes_moved_too(
    app: Flask, client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    lic = _write_history(client, admin, factory)
    ids = event_ids(lic.id)
    _swap(ids[1], ids[2], _SWAPPED)
    done = cli(app, "verify-history")
    assert done.exit_code == 1
    assert f"history check failed at event {ids[1]}" in done.stderr
    assert "changed" in done.stderr

    _swap(ids[1], ids[2], _SWAPPED)  # back: it verifies again
    assert cli(app, "verify-history").exit_code == 0

    _swap(ids[6], ids[7], _SWAPPED + ", chain_seq, chain_prev, chain_hash")
    done = cli(app, "verify-history")
    assert done.exit_code == 1
    assert f"history check failed at event {ids[6]}: event {ids[6]}: it is number 8" in (
        done.stderr
    )


def _rewrite_from(lic: IssuedLicense, index: int) -> None:
    """Edit one event and recompute every hash after it, and the licence's head:
    a consistent chain that only a signed head can tell from the real one."""
    cols = ", ".join(n for n in chain.FIELDS if n != "seq")
    rows = sql(
        f"SELECT e.id, e.chain_seq, e.chain_prev, {', '.join('e.' + c for c in cols.split(', '))} "
        "FROM events e JOIN licenses l ON l.id = e.license_id WHERE l.public_id = :lid "
        "ORDER BY e.id",
        lid=lic.id,
    )
    prev = rows[index].chain_prev
    for n, r in enumerate(rows[index:]):
        fields = {c: getattr(r, c) for c in cols.split(", ")}
        if n == 0:
            fields["machine_name"] = "forged"
        if isinstance(fields["data"], str):
            fields["data"] = json.loads(fields["data"])
        if isinstance(fields["at"], str):  # SQLite: naive UTC text
            fields["at"] = datetime.fromisoformat(fields["at"])
        digest = chain.chain_hash(prev, chain.canonical({**fields, "seq": r.chain_seq}))
        sql(
            "UPDATE events SET machine_name = :mn, chain_prev = :p, chain_hash = :h WHERE id = :id",
            mn=fields["machine_name"],
            p=prev,
            h=digest,
            id=r.id,
        )
        prev = digest
    sql("UPDATE licenses SET history_head = :h WHERE public_id = :lid", h=prev, lid=lic.id)


def test_signed_heads_catch_a_chain_rewritten_with_fresh_hashes(
    app: Flask, client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    lic = _write_history(client, admin, factory)
    done = cli(app, "history", "sign-heads")
    assert done.exit_code == 0, done.stderr
    assert "signed heads: 1 new, 0 unchanged, 0 not signed" in done.stdout
    assert "0 new, 1 unchanged" in cli(app, "history", "sign-heads").stdout
    # the history grows: the next run signs the new head
    assert admin.post(f"/api/v1/licenses/{lic.id}/suspend").status_code == 200
    assert "1 new, 0 unchanged" in cli(app, "verify-history", "--sign-heads").stdout

    ids = event_ids(lic.id)
    _rewrite_from(lic, 3)
    done = cli(app, "verify-history")
    assert done.exit_code == 1
    assert f"licence {lic.id}: history check failed at event {ids[-1]}" in done.stderr
    assert "no longer matches the signed head" in done.stderr
    # a history that does not verify is never signed
    done = cli(app, "history", "sign-heads")
    assert done.exit_code == 1
    assert "0 new, 0 unchanged, 1 not signed" in done.stdout


def test_a_signed_head_edited_in_its_table_does_not_verify(
    app: Flask, client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    lic = _write_history(client, admin, factory)
    assert cli(app, "history", "sign-heads").exit_code == 0
    assert admin.post(f"/api/v1/licenses/{lic.id}/suspend").status_code == 200
    # move the signed head forward by hand, to bless a later (say, forged) state
    sql(
        "UPDATE history_heads SET seq = seq + 1, head = (SELECT history_head FROM licenses "
        "WHERE public_id = :lid)",
        lid=lic.id,
    )

    done = cli(app, "verify-history")

    assert done.exit_code == 1
    assert "differs from what was signed" in done.stderr
