"""Deliveries to a real HTTP receiver on loopback: signed, retried on failure,
filtered by subscription, once per event and endpoint even with two workers,
and never in the way of an activation."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import insert, select

from licserver.domain import webhooks as rules
from licserver.extensions import db
from licserver.models import Event
from licserver.models.webhook import WebhookEndpoint
from tests.api.helpers import activate, activated, by_password
from tests.support.factory import AdminClient, Factory
from tests.webhooks.helpers import TIMEOUT_SECONDS, Clock, Worker
from tests.webhooks.receiver import Receiver


def _deliveries(admin: AdminClient, webhook_id: str) -> list[dict[str, Any]]:
    r = admin.get(f"/api/v1/webhooks/{webhook_id}/deliveries")
    assert r.status_code == 200, r.get_json()
    items: list[dict[str, Any]] = r.get_json()["items"]
    return items


def test_event_is_signed_and_retried_after_a_failure(
    client: FlaskClient,
    admin: AdminClient,
    factory: Factory,
    receiver: Receiver,
    worker: Worker,
    clock: Clock,
) -> None:
    lic = factory.license()
    webhook_id, secret = worker.add(receiver.url + "/hooks", ["activation.*"])
    act = activated(client, by_password(lic), "install-hook-1", "DESIGN-PC")
    receiver.statuses.extend([500, 200])

    first = worker.deliver()
    assert (first.queued, first.delivered, first.retrying) == (1, 0, 1)
    assert len(receiver.requests) == 1
    [log] = _deliveries(admin, webhook_id)
    assert (log["status"], log["attempts"], log["last_status_code"]) == ("pending", 1, 500)
    assert log["last_error"] == "HTTP 500"
    assert log["next_attempt_at"] is not None

    clock.advance(30)  # the first retry is due after a minute
    assert worker.deliver().attempted == 0
    assert len(receiver.requests) == 1

    clock.advance(31)
    second = worker.deliver()
    assert (second.delivered, second.retrying) == (1, 0)
    assert len(receiver.requests) == 2

    # Both attempts carried the same body, each signed with its own timestamp.
    one, two = receiver.requests
    assert one.body == two.body
    for sent, at in ((one, clock.now.timestamp() - 61), (two, clock.now.timestamp())):
        header = sent.headers[rules.SIGNATURE_HEADER]
        assert header.startswith(f"t={int(at)},v1=")
        assert rules.verify(secret, header, sent.body, now=int(at))
        assert not rules.verify(secret, header, sent.body + b" ", now=int(at))
        assert not rules.verify("whsec_other", header, sent.body, now=int(at))
    # an old signature is a replay: refused once outside the tolerance
    assert not rules.verify(
        secret, one.headers[rules.SIGNATURE_HEADER], one.body, now=int(clock.now.timestamp()) + 600
    )

    body = one.json
    [event] = admin.get(f"/api/v1/licenses/{lic.id}/events").get_json()["items"][-1:]
    assert body == {
        "id": event["id"],
        "type": "activation.created",
        "created_at": event["at"],
        "data": {
            "license_id": lic.id,
            "product": lic.product,
            "customer": lic.customer_number,
            "activation_id": act["activation_id"],
            "installation_id": "install-hook-1",
            "machine_name": "DESIGN-PC",
            "actor": event["actor"],
            "reason": None,
            "data": event["data"],
        },
    }  # no "ip": the endpoint did not ask for it
    assert one.headers["Content-Type"] == "application/json"
    assert one.headers["Licserver-Event"] == "activation.created"
    assert one.headers["Licserver-Event-Id"] == str(event["id"])

    [log] = _deliveries(admin, webhook_id)
    assert (log["status"], log["attempts"], log["next_attempt_at"]) == ("delivered", 2, None)
    assert [(a["number"], a["status_code"]) for a in log["attempt_log"]] == [(1, 500), (2, 200)]
    assert log["attempt_log"][1]["response_excerpt"] == "answer 200"
    assert all(a["duration_ms"] >= 0 for a in log["attempt_log"])

    clock.advance(24 * 3600)  # delivered is done: nothing is sent again
    assert worker.deliver().attempted == 0
    assert len(receiver.requests) == 2


def test_failures_follow_the_schedule_then_give_up(
    client: FlaskClient,
    admin: AdminClient,
    factory: Factory,
    receiver: Receiver,
    worker: Worker,
    clock: Clock,
) -> None:
    lic = factory.license()
    webhook_id, _ = worker.add(receiver.url + "/down", ["*"], include_ip=True)
    activated(client, by_password(lic))
    receiver.default_status = 503

    worker.deliver()
    for delay in rules.RETRY_SCHEDULE:
        clock.advance(delay - 1)
        assert worker.deliver().attempted == 0, "retried before its time"
        clock.advance(1)
        assert worker.deliver().attempted == 1
    assert len(receiver.requests) == rules.MAX_ATTEMPTS == 6
    [log] = _deliveries(admin, webhook_id)
    assert (log["status"], log["attempts"], log["next_attempt_at"]) == ("failed", 6, None)
    assert "ip" in receiver.requests[0].json["data"]  # include_ip

    clock.advance(7 * 24 * 3600)
    assert worker.deliver().attempted == 0
    assert len(receiver.requests) == 6


def test_each_endpoint_gets_what_it_subscribed_to(
    client: FlaskClient,
    admin: AdminClient,
    factory: Factory,
    receiver: Receiver,
    worker: Worker,
) -> None:
    lic = factory.license()
    worker.add(receiver.url + "/all", ["*"])
    worker.add(receiver.url + "/licence", ["license.*"])
    worker.add(receiver.url + "/created", ["activation.created", "license.revoked"])
    worker.add(receiver.url + "/none", ["activation.deactivated"])
    activated(client, by_password(lic))
    assert (
        activate(client, {"license_id": lic.id, "activation_password": "wrong"}).status_code == 401
    )
    assert admin.post(f"/api/v1/licenses/{lic.id}/suspend", json={}).status_code == 200

    worker.deliver()

    def kinds(path: str) -> list[str]:
        return sorted(r.json["type"] for r in receiver.to(path))

    assert kinds("/all") == ["activation.created", "activation.refused", "license.suspended"]
    assert kinds("/licence") == ["license.suspended"]
    assert kinds("/created") == ["activation.created"]
    assert kinds("/none") == []


def test_a_disabled_endpoint_gets_nothing(
    client: FlaskClient,
    admin: AdminClient,
    factory: Factory,
    receiver: Receiver,
    worker: Worker,
) -> None:
    lic = factory.license()
    worker.add(receiver.url + "/on", ["*"])
    off, _ = worker.add(receiver.url + "/off", ["*"])
    r = admin.patch(f"/api/v1/webhooks/{off}", json={"enabled": False})
    assert (r.status_code, r.get_json()["enabled"]) == (200, False)
    activated(client, by_password(lic), "install-while-off")

    worker.deliver()
    assert len(receiver.to("/on")) == 1
    assert receiver.to("/off") == []

    # enabled again: it is sent what happens from then on, not what it missed
    assert admin.patch(f"/api/v1/webhooks/{off}", json={"enabled": True}).status_code == 200
    activated(client, by_password(lic), "install-after-on")
    worker.deliver()
    assert [r.json["data"]["installation_id"] for r in receiver.to("/off")] == ["install-after-on"]
    assert len(receiver.to("/on")) == 2


def test_two_workers_at_once_deliver_each_event_once_per_endpoint(
    client: FlaskClient,
    factory: Factory,
    receiver: Receiver,
    worker: Worker,
) -> None:
    lic = factory.license(seats=20)
    worker.add(receiver.url + "/x", ["*"])
    worker.add(receiver.url + "/y", ["activation.*"])
    for n in range(12):
        activated(client, by_password(lic), f"install-many-{n:02d}")
    receiver.delay = 0.01  # so that the two passes overlap

    results: list[Any] = []

    def run() -> None:
        results.append(worker.deliver_in_own_context())

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == 2, "a worker failed"
    assert sum(r.delivered for r in results) == 24
    assert all(r.failed == 0 and r.retrying == 0 for r in results)

    for path in ("/x", "/y"):
        ids = [r.json["id"] for r in receiver.to(path)]
        assert len(ids) == 12
        assert len(set(ids)) == 12, f"{path} got an event twice"
    # a later pass finds nothing left to send
    assert worker.deliver().attempted == 0


def test_an_event_committed_late_with_a_lower_id_is_still_delivered(
    app: Any, receiver: Receiver, worker: Worker, clock: Clock
) -> None:
    """PostgreSQL hands out ids before commit: id 40 may become visible after id
    50. The cursor stays behind events younger than the safety window, so 40 is
    found on the next pass, and 50 is not sent again."""
    webhook_id, _ = worker.add(receiver.url + "/seq", ["*"])

    def event(event_id: int, seconds_ago: float) -> None:
        session = db.session()
        session.execute(
            insert(Event).values(
                id=event_id,
                kind="license.updated",
                actor_type="system",
                at=clock.now - timedelta(seconds=seconds_ago),
                data={},
            )
        )
        session.commit()

    event(50, 1)
    worker.deliver()
    event(40, 2)  # its transaction began first and commits only now
    clock.advance(1)
    worker.deliver()
    assert sorted(r.json["id"] for r in receiver.to("/seq")) == [40, 50]

    clock.advance(120)  # both settled: the cursor moves past them, nothing is resent
    worker.deliver()
    assert len(receiver.to("/seq")) == 2
    cursor = db.session.scalar(
        select(WebhookEndpoint.event_cursor).where(WebhookEndpoint.public_id == webhook_id)
    )
    assert cursor == 50


def test_an_activation_does_not_wait_for_a_hanging_receiver(
    client: FlaskClient,
    admin: AdminClient,
    factory: Factory,
    receiver: Receiver,
    worker: Worker,
) -> None:
    lic = factory.license()
    webhook_id, _ = worker.add(receiver.url + "/slow", ["*"])
    activated(client, by_password(lic), "install-first")
    receiver.hang = True

    results: list[Any] = []
    thread = threading.Thread(target=lambda: results.append(worker.deliver_in_own_context()))
    thread.start()
    try:
        assert receiver.arrived.wait(10), "the worker never called the receiver"
        # The worker is now waiting for the receiver's answer.
        started = time.monotonic()
        act = activate(client, by_password(lic), "install-second", "PC-2")
        elapsed = time.monotonic() - started
        assert act.status_code == 201, act.get_json()
        assert thread.is_alive(), "the worker finished before the activation was measured"
        assert elapsed < 1.0, f"the activation took {elapsed:.2f} s"
        r = client.post(
            f"/api/v1/activations/{act.get_json()['activation_id']}/checkin",
            json={"activation_token": act.get_json()["activation_token"]},
        )
        assert r.status_code == 200
    finally:
        thread.join(TIMEOUT_SECONDS + 30)
    [result] = results
    assert (result.delivered, result.retrying) == (0, 1)
    [log] = _deliveries(admin, webhook_id)
    assert log["last_error"] == f"timed out after {TIMEOUT_SECONDS} s"
    assert log["attempt_log"][0]["duration_ms"] >= TIMEOUT_SECONDS * 1000 - 50
