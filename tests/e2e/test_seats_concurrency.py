"""Seat limits under real concurrency: many HTTP requests at once against a
gunicorn with 4 worker processes sharing one database (SQLite or PostgreSQL,
whichever the run uses)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.live import LiveServer
from tests.support.factory import Factory

pytestmark = pytest.mark.e2e

ServerFactory = Callable[..., LiveServer]


def _in_parallel(server: LiveServer, n: int, fn: Callable[[int, httpx.Client], Any]) -> list[Any]:
    """Run ``fn(i, client)`` in ``n`` threads released together by a barrier.

    Each thread has its own client (and so its own connection), so the
    requests reach the server as close together as the machine allows.
    """
    barrier = threading.Barrier(n)

    def run(i: int) -> Any:
        with server.client() as http:
            barrier.wait(timeout=30)
            return fn(i, http)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def _admin_view(server: LiveServer, token: str, license_id: str) -> tuple[int, list[str]]:
    """seats_used and the ids of the active activations, as the admin API shows them."""
    with server.client(token) as admin:
        lic = admin.get(f"/api/v1/licenses/{license_id}")
        assert lic.status_code == 200, lic.text
        acts = admin.get(
            f"/api/v1/licenses/{license_id}/activations", params={"state": "active", "limit": 200}
        )
        assert acts.status_code == 200, acts.text
        body = acts.json()
        assert body["next_cursor"] is None
        assert all(a["state"] == "active" for a in body["items"])
        return lic.json()["seats_used"], [a["id"] for a in body["items"]]


def test_forty_installations_race_for_five_seats(
    live_server: ServerFactory, factory: Factory, admin_token: str
) -> None:
    server = live_server(workers=4)
    lic = factory.license(seats=5)

    def activate(i: int, http: httpx.Client) -> tuple[int, str, dict[str, Any]]:
        r = http.post(
            "/api/v1/activations",
            json={
                "license_key": lic.key,
                "installation_id": f"race-install-{i:03d}",
                "machine_name": f"RACE-PC-{i:02d}",
            },
        )
        return r.status_code, r.headers.get("content-type", ""), r.json()

    results = _in_parallel(server, 40, activate)

    statuses = Counter(status for status, _, _ in results)
    assert statuses == {201: 5, 409: 35}, (statuses, results, server.log()[-4000:])
    won = [body for status, _, body in results if status == 201]
    refused = [(ctype, body) for status, ctype, body in results if status == 409]
    assert all(ctype.startswith("application/problem+json") for ctype, _ in refused)
    assert {body["code"] for _, body in refused} == {"SEAT_LIMIT_REACHED"}
    assert all(body["status"] == 409 for _, body in refused)
    assert all(body["license_id"] == lic.id for body in won)

    seats_used, active_ids = _admin_view(server, admin_token, lic.id)
    assert seats_used == 5
    assert sorted(active_ids) == sorted(body["activation_id"] for body in won)


def test_one_installation_activating_twenty_times_at_once_takes_one_seat(
    live_server: ServerFactory, factory: Factory, admin_token: str
) -> None:
    server = live_server(workers=4)
    lic = factory.license(seats=1)

    def activate(i: int, http: httpx.Client) -> tuple[int, dict[str, Any]]:
        r = http.post(
            "/api/v1/activations",
            json={
                "license_id": lic.id,
                "activation_password": lic.activation_password,
                "installation_id": "same-install-0001",
                "machine_name": "ONLY-PC",
            },
        )
        return r.status_code, r.json()

    results = _in_parallel(server, 20, activate)

    statuses = Counter(status for status, _ in results)
    assert set(statuses) <= {200, 201}, (statuses, results)
    assert statuses[201] == 1, statuses
    assert len({body["activation_id"] for _, body in results}) == 1

    seats_used, active_ids = _admin_view(server, admin_token, lic.id)
    assert seats_used == 1
    assert active_ids == [results[0][1]["activation_id"]]


def test_churn_of_activations_and_deactivations_keeps_the_count_right(
    live_server: ServerFactory, factory: Factory, admin_token: str
) -> None:
    server = live_server(workers=4)
    lic = factory.license(seats=3)
    rounds = 4

    def churn(i: int, http: httpx.Client) -> list[tuple[int, int | None]]:
        """Activate and deactivate ``rounds`` times; the seat may be taken (409)."""
        seen: list[tuple[int, int | None]] = []
        for n in range(rounds):
            r = http.post(
                "/api/v1/activations",
                json={
                    "license_key": lic.key,
                    "installation_id": f"churn-{i}-{n}",
                    "machine_name": f"CHURN-{i}",
                },
            )
            if r.status_code != 201:
                assert r.status_code == 409, r.text
                assert r.json()["code"] == "SEAT_LIMIT_REACHED"
                seen.append((409, None))
                continue
            body = r.json()
            d = http.delete(
                f"/api/v1/activations/{body['activation_id']}",
                headers={"Authorization": f"Activation {body['activation_token']}"},
            )
            seen.append((201, d.status_code))
        return seen

    results = _in_parallel(server, 8, churn)

    outcomes = [outcome for per_thread in results for outcome in per_thread]
    assert len(outcomes) == 8 * rounds
    assert all(o in {(201, 200), (409, None)} for o in outcomes), outcomes
    assert any(o == (201, 200) for o in outcomes)

    seats_used, active_ids = _admin_view(server, admin_token, lic.id)
    assert seats_used == 0
    assert active_ids == []
    with server.client(token=admin_token) as admin:
        all_acts = admin.get(
            f"/api/v1/licenses/{lic.id}/activations", params={"state": "all", "limit": 200}
        ).json()["items"]
    assert len(all_acts) == sum(1 for o in outcomes if o[0] == 201)
    assert {a["state"] for a in all_acts} == {"deactivated"}
