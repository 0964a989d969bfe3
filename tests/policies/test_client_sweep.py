"""Heartbeats and leases over time: the deadline an activation gets, the sweeper
(``licserver.services.leases.sweep``) marking silent machines inactive or freeing
their seats and releasing run-out leases, a check-in bringing an inactive
machine back, an activation freeing overdue seats of a full licence, two
sweepers at once, and floating leases under concurrency through a real
gunicorn. Time moves forward for the sweeper through its ``now``; for the
server, by moving the activations' times back."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from licserver.extensions import db
from licserver.runtime import context
from licserver.services import leases
from tests.api.helpers import (
    activate,
    activated,
    activations,
    assert_problem,
    by_key,
    certificate_claims,
    checkin,
    events,
    license_view,
)
from tests.history.helpers import cli, sql
from tests.live import LiveServer
from tests.policies.helpers import (
    ago,
    licence_with,
    now,
    row,
    set_activation,
)
from tests.support.factory import AdminClient, Factory

DAY = 86400


def _sweep(after_seconds: float = 0) -> leases.SweepResult:
    """A sweep run ``after_seconds`` from now."""
    try:
        return leases.sweep(context(), now=now() + timedelta(seconds=after_seconds))
    finally:
        db.session.remove()


def test_heartbeat_deadline_in_activation_and_certificate(
    client: FlaskClient, factory: Factory
) -> None:
    lic = licence_with(
        factory, seats=2, heartbeat_required=True, heartbeat_interval=600, inactive_after=DAY
    )
    body = activated(client, by_key(lic))
    claims = certificate_claims(client, body["certificate"])
    assert claims["hb"] == 600
    assert "model" not in claims and "lease" not in claims
    assert claims["until"] - claims["iat"] == DAY  # the deadline, shorter than the grace
    act = row(body["activation_id"])
    assert act.heartbeat_deadline is not None
    assert (act.heartbeat_deadline - act.activated_at) == timedelta(seconds=DAY)

    set_activation(body["activation_id"], heartbeat_deadline=ago(10))
    assert checkin(client, body["activation_id"], body["activation_token"]).status_code == 200
    moved = row(body["activation_id"]).heartbeat_deadline
    assert moved is not None and moved > now() + timedelta(seconds=DAY - 60)


def test_sweep_marks_silent_machines_inactive_and_a_checkin_brings_them_back(
    client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    lic = licence_with(factory, seats=2, heartbeat_required=True, inactive_after=DAY)
    quiet = activated(client, by_key(lic), iid="install-0001")
    # nothing is due yet
    assert _sweep(DAY - 60) == leases.SweepResult()

    result = _sweep(DAY + 60)
    assert (result.marked_inactive, result.freed, result.released) == (1, 0, 0)
    assert row(quiet["activation_id"]).inactive_since is not None
    marked = events(admin, lic.id, "activation.inactive")
    assert [(e["installation_id"], e["actor"]["type"]) for e in marked] == [
        ("install-0001", "system")
    ]
    # the seat is still held; a second sweep finds nothing more to do
    assert license_view(admin, lic.id)["seats_used"] == 1
    assert _sweep(DAY + 120) == leases.SweepResult()

    r = checkin(client, quiet["activation_id"], quiet["activation_token"])
    assert r.status_code == 200, r.get_json()
    assert row(quiet["activation_id"]).inactive_since is None
    assert len(events(admin, lic.id, "activation.active_again")) == 1


def test_sweep_frees_seats_of_silent_machines_when_the_policy_says_so(
    client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    lic = licence_with(
        factory,
        seats=2,
        heartbeat_required=True,
        inactive_after=3600,
        free_seat_when_inactive=True,
    )
    gone = activated(client, by_key(lic), iid="install-0001")
    assert _sweep(3700).freed == 1
    assert license_view(admin, lic.id)["seats_used"] == 0
    (ev,) = [e for e in events(admin, lic.id, "activation.deactivated")]
    assert (ev["actor"]["type"], ev["reason"]) == ("system", "heartbeat missed")
    assert_problem(
        checkin(client, gone["activation_id"], gone["activation_token"]), 410, "DEACTIVATED"
    )


def test_full_licence_frees_overdue_seats_for_a_new_activation(
    client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    lic = licence_with(
        factory,
        seats=1,
        heartbeat_required=True,
        inactive_after=3600,
        free_seat_when_inactive=True,
    )
    old = activated(client, by_key(lic), iid="install-0001")
    assert_problem(activate(client, by_key(lic), iid="install-0002"), 409, "SEAT_LIMIT_REACHED")
    set_activation(old["activation_id"], activated_at=ago(7200), heartbeat_deadline=ago(3600))
    r = activate(client, by_key(lic), iid="install-0002")
    assert r.status_code == 201, r.get_json()
    live = [a["installation_id"] for a in activations(admin, lic.id, "active")]
    assert live == ["install-0002"]
    assert license_view(admin, lic.id)["seats_used"] == 1
    freed = events(admin, lic.id, "activation.deactivated")
    assert [e["reason"] for e in freed] == ["heartbeat missed"]


def test_sweep_releases_run_out_leases_and_leaves_other_licences_alone(
    client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    floating = licence_with(factory, seats=3, model="floating", lease_ttl=300)
    plain = factory.license(seats=3)
    for n in range(3):
        activated(client, by_key(floating), iid=f"worker-{n:04d}")
        activated(client, by_key(plain), iid=f"desktop-{n:04d}")
    assert _sweep(200).released == 0
    result = _sweep(400)
    assert result.released == 3
    assert license_view(admin, floating.id)["seats_used"] == 0
    assert license_view(admin, plain.id)["seats_used"] == 3
    assert len(events(admin, floating.id, "activation.lease_expired")) == 3
    assert events(admin, plain.id, "activation.lease_expired") == []


def test_two_sweepers_at_once_release_each_lease_once(
    app: Flask, client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    lics = [licence_with(factory, seats=4, model="floating", lease_ttl=60) for _ in range(3)]
    for lic in lics:
        for n in range(4):
            activated(client, by_key(lic), iid=f"worker-{n:04d}")
    barrier = threading.Barrier(2)

    def run(_: int) -> leases.SweepResult:
        with app.app_context():
            barrier.wait(timeout=30)
            return _sweep(120)

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(run, range(2)))
    total = leases.SweepResult()
    for r in results:
        total.add(r)
    # each lease released exactly once, whichever sweeper got there
    assert total.released == 12, results
    for lic in lics:
        assert license_view(admin, lic.id)["seats_used"] == 0
        assert len(events(admin, lic.id, "activation.lease_expired")) == 4
    assert _sweep(180) == leases.SweepResult()


@pytest.mark.e2e
def test_floating_leases_under_concurrency_on_a_real_server(
    app: Flask,
    live_server: Callable[..., LiveServer],  # noqa: F811  (the fixture imported above)
    factory: Factory,
) -> None:
    """N seats, many containers at once (some leases already run out), two
    worker processes: exactly N live leases, and one unbroken history."""
    server = live_server(workers=2)
    lic = licence_with(factory, seats=3, model="floating", lease_ttl=300)
    with server.client() as http:
        for n in range(2):  # two killed containers whose leases ran out
            r = http.post(
                "/api/v1/activations",
                json={
                    "license_key": lic.key,
                    "installation_id": f"dead-{n:04d}",
                    "machine_name": "dead",
                },
            )
            assert r.status_code == 201
            set_activation(r.json()["activation_id"], lease_expires_at=ago(1))
    n = 10
    barrier = threading.Barrier(n)

    def run(i: int) -> int:
        with server.client() as http:
            barrier.wait(timeout=30)
            r = http.post(
                "/api/v1/activations",
                json={
                    "license_key": lic.key,
                    "installation_id": f"container-{i:04d}",
                    "machine_name": f"c{i}",
                },
            )
            return r.status_code

    with ThreadPoolExecutor(max_workers=n) as pool:
        statuses = Counter(pool.map(run, range(n)))
    # one seat was free, two held by run-out leases: three new leases, the rest 409
    assert statuses == {201: 3, 409: 7}, (statuses, server.log()[-3000:])
    live = sql(
        "SELECT a.installation_id, a.lease_expires_at FROM activations a "
        "JOIN licenses l ON l.id = a.license_id "
        "WHERE l.public_id = :lid AND a.deactivated_at IS NULL",
        lid=lic.id,
    )
    assert len(live) == 3 and all(r.installation_id.startswith("container-") for r in live)
    seats = sql("SELECT seats_used FROM licenses WHERE public_id = :lid", lid=lic.id)
    assert seats[0].seats_used == 3
    done = cli(app, "verify-history")
    assert done.exit_code == 0, done.stderr
    released = sql(
        "SELECT COUNT(*) AS n FROM events e JOIN licenses l ON l.id = e.license_id "
        "WHERE l.public_id = :lid AND e.kind = 'activation.lease_expired'",
        lid=lic.id,
    )
    assert released[0].n == 2
