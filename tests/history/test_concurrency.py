"""The chain stays linear under concurrency: many activations and check-ins
of one licence at once, through a real gunicorn with 4 workers (PostgreSQL: the
one-statement paths and the full paths racing each other; SQLite: the write
lock), never fork it: every event gets its own number, each follows the one
before, and ``licserver verify-history`` passes."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask import Flask

from tests.history.helpers import cli, sql
from tests.live import LiveServer
from tests.support.factory import Factory

pytestmark = pytest.mark.e2e


def test_concurrent_activations_and_checkins_on_one_licence_keep_one_chain(
    app: Flask, live_server: Callable[..., LiveServer], factory: Factory
) -> None:
    server = live_server(workers=4)
    lic = factory.license(seats=12)
    n = 16
    barrier = threading.Barrier(n)

    def run(i: int) -> list[int]:
        """Activate (by key: PostgreSQL's fast path; by password: the full path;
        a few with a wrong password: refusals), then check in twice."""
        creds: dict[str, Any]
        if i % 4 == 3:
            creds = {"license_id": lic.id, "activation_password": "wrong-password"}
        elif i % 2:
            creds = {"license_id": lic.id, "activation_password": lic.activation_password}
        else:
            creds = {"license_key": lic.key}
        statuses = []
        with server.client() as http:
            barrier.wait(timeout=30)
            r = http.post(
                "/api/v1/activations",
                json={**creds, "installation_id": f"chain-inst-{i:03d}", "machine_name": f"PC {i}"},
            )
            statuses.append(r.status_code)
            if r.status_code == 201:
                body = r.json()
                for _ in range(2):
                    c = http.post(
                        f"/api/v1/activations/{body['activation_id']}/checkin",
                        json={"activation_token": body["activation_token"]},
                    )
                    statuses.append(c.status_code)
        return statuses

    with ThreadPoolExecutor(max_workers=n) as pool:
        results = list(pool.map(run, range(n)))

    counts = Counter(s for per in results for s in per)
    # 4 wrong passwords; of the other 12, all get a seat; each checks in twice
    assert counts == {201: 12, 401: 4, 200: 24}, (counts, server.log()[-3000:])

    rows = sql(
        "SELECT e.id, e.kind, e.chain_seq, e.chain_prev, e.chain_hash, "
        "l.history_seq, l.history_head FROM events e JOIN licenses l ON l.id = e.license_id "
        "WHERE l.public_id = :lid ORDER BY e.id",
        lid=lic.id,
    )
    assert Counter(r.kind for r in rows) == {
        "license.created": 1,
        "activation.created": 12,
        "activation.refused": 4,
        "activation.checked_in": 24,
    }
    # one line: numbered 1..N in id order, each naming the one before, the head the last
    assert [r.chain_seq for r in rows] == list(range(1, len(rows) + 1))
    assert [r.chain_prev for r in rows[1:]] == [r.chain_hash for r in rows[:-1]]
    assert len({r.chain_hash for r in rows}) == len(rows)
    assert (rows[0].history_seq, rows[0].history_head) == (len(rows), rows[-1].chain_hash)

    done = cli(app, "verify-history")
    assert done.exit_code == 0, done.stderr
    assert f"licence {lic.id}: {len(rows)} event(s), history verified" in done.stdout
