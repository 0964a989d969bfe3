"""Issue 8's required tests, end to end: real HTTP to two gunicorn servers on one
database, the SDK, and ``licserver sweep`` as a separate process, with time
moved forward on the servers (test-only clock) and in the SDK alike."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask import Flask
from licclient import (
    Deactivated,
    DeactivationLimitReached,
    LicenseClient,
    LicenseError,
    LicenseExpired,
    SeatLimitReached,
    TrialAlreadyUsed,
)

from tests.policies.models_e2e import Servers, Time, issue, policy, sweep
from tests.support.database import TestDatabase
from tests.support.factory import Factory
from tests.support.sdk import activations, event_kinds, fetch_public_keys, license_view, ok

pytestmark = pytest.mark.e2e

Sdk = Callable[..., LicenseClient]


def _at(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


# The servers of this module, with the clock they read; ``staff`` and ``sdk``
# here are theirs.


@pytest.fixture(scope="module")
def servers(test_database: TestDatabase) -> Iterator[Servers]:
    s = Servers(test_database)
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def time_(servers: Servers, app: Flask) -> Time:
    """Both clocks at the real time, for this test."""
    return Time(servers.clock_file)


@pytest.fixture
def staff(servers: Servers, admin_token: str) -> Iterator[httpx.Client]:
    with servers.a.client(admin_token) as http:
        yield http


@pytest.fixture
def sdk(servers: Servers, time_: Time, tmp_path: Path) -> Callable[..., LicenseClient]:
    """``sdk(product, iid, server="a"|"b", **options)``: a client of one of the servers."""
    keys = fetch_public_keys(servers.a.url)
    n = [0]

    def make(product: str, iid: str, server: str = "a", **kw: Any) -> LicenseClient:
        n[0] += 1
        url = (servers.a if server == "a" else servers.b).url
        kw.setdefault("state_dir", tmp_path / f"state-{n[0]}")
        kw.setdefault("retries", 1)
        return LicenseClient(
            url, product=product, public_keys=keys, installation_id=iid, clock=time_.sdk, **kw
        )

    return make


def test_floating_leases_are_exact_under_concurrency_across_two_servers(
    sdk: Sdk, factory: Factory, staff: httpx.Client
) -> None:
    product = factory.product()
    policy(staff, product, "float", model="floating", lease_ttl=600)
    lic = issue(staff, factory, product, seats=5, policy="float")
    clients = [sdk(product, f"container-{i:04d}", "a" if i % 2 else "b") for i in range(30)]
    outcomes: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(len(clients))

    def run(c: LicenseClient) -> None:
        start.wait()
        try:
            c.activate(license_key=lic["key"])
            result = "lease"
        except SeatLimitReached:
            result = "full"
        except LicenseError as exc:  # anything else is a failure of the test
            result = f"error {exc.code} {exc.status}"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=run, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sorted(set(outcomes)) == ["full", "lease"], outcomes
    assert outcomes.count("lease") == 5
    assert license_view(staff, lic["id"])["seats_used"] == 5
    assert len(activations(staff, lic["id"])) == 5


def test_lease_expiry_frees_the_seat_for_the_next_machine(
    sdk: Sdk, factory: Factory, staff: httpx.Client, time_: Time
) -> None:
    product = factory.product()
    policy(staff, product, "float", model="floating", lease_ttl=120)
    lic = issue(staff, factory, product, seats=1, policy="float")
    first, second = sdk(product, "vm-run-first"), sdk(product, "vm-run-second", "b")
    assert first.activate(license_key=lic["key"]).valid
    with pytest.raises(SeatLimitReached):
        second.activate(license_key=lic["key"])

    time_.advance(60)  # a check-in renews the lease
    assert first.checkin().valid
    time_.advance(100)  # 100 s after the renewal: still held
    with pytest.raises(SeatLimitReached):
        second.activate(license_key=lic["key"])

    time_.advance(30)  # 130 s without a check-in: the lease ran out
    assert first.status().code == "CHECKIN_REQUIRED"  # the SDK sees it offline too
    assert second.activate(license_key=lic["key"]).valid
    assert "activation.lease_expired" in event_kinds(staff, lic["id"])
    with pytest.raises(Deactivated):  # its lease went to another machine
        first.checkin()
    assert first.status().code == "NOT_ACTIVATED"
    assert license_view(staff, lic["id"])["seats_used"] == 1


def test_sweep_releases_leases_that_ran_out(
    servers: Servers, sdk: Sdk, factory: Factory, staff: httpx.Client, time_: Time
) -> None:
    product = factory.product()
    policy(staff, product, "float", model="floating", lease_ttl=60)
    lic = issue(staff, factory, product, seats=3, policy="float")
    for i in range(3):
        sdk(product, f"worker-node-{i}").activate(license_key=lic["key"])
    assert "leases released 0" in sweep(servers)  # nothing ran out yet
    time_.advance(61)
    assert "leases released 3" in sweep(servers)
    assert license_view(staff, lic["id"])["seats_used"] == 0
    events = ok(staff.get(f"/api/v1/licenses/{lic['id']}/events?limit=200"))["items"]
    expired = [e for e in events if e["kind"] == "activation.lease_expired"]
    assert len(expired) == 3 and all(e["actor"]["type"] == "system" for e in expired)


def test_a_container_that_never_deactivates_never_leaks_a_seat(
    sdk: Sdk, factory: Factory, staff: httpx.Client, time_: Time
) -> None:
    product = factory.product()
    policy(staff, product, "float", model="floating", lease_ttl=300)
    lic = issue(staff, factory, product, seats=2, policy="float")
    # every run of the container is a new installation, killed without release():
    # two leases at most are alive at any time (this run's and the one before)
    for run in range(8):
        status = sdk(product, f"pod-{run:04d}-x").activate(license_key=lic["key"])
        assert status.valid
        assert license_view(staff, lic["id"])["seats_used"] <= 2
        time_.advance(160)  # a new run every 160 s; a lease lasts 300 s unless renewed
    # the last ones hold their leases until they run out
    time_.advance(301)
    assert sdk(product, "pod-after-all").activate(license_key=lic["key"]).valid
    view = license_view(staff, lic["id"])
    assert view["seats_used"] == 1


def test_heartbeat_culling_and_its_dry_run(
    servers: Servers, sdk: Sdk, factory: Factory, staff: httpx.Client, time_: Time
) -> None:
    product = factory.product(offline_grace_days=30)
    pol = policy(staff, product, "office")
    lic = issue(staff, factory, product, seats=3, policy="office")
    silent, busy = sdk(product, "silent-desk-01"), sdk(product, "busy-desk-002")
    silent.activate(license_key=lic["key"], machine_name="SILENT")
    busy.activate(license_key=lic["key"], machine_name="BUSY")
    time_.advance(2 * 86400)
    busy.checkin()

    change = {
        "settings": {
            "heartbeat_required": True,
            "heartbeat_interval": 3600,
            "inactive_after": 86400,
            "free_seat_when_inactive": True,
        }
    }
    dry = ok(staff.patch(f"/api/v1/policies/{pol['id']}?dry_run=true", json=change))
    assert dry["saved"] is False
    assert [(a["machine_name"], a["effect"]) for a in dry["affected"]["items"]] == [
        ("SILENT", "free_seat")
    ]
    assert sweep(servers).startswith("leases released 0, marked inactive 0, seats freed 0")
    assert license_view(staff, lic["id"])["seats_used"] == 2  # the dry run changed nothing

    assert ok(staff.patch(f"/api/v1/policies/{pol['id']}", json=change))["saved"] is True
    assert "seats freed 1" in sweep(servers)
    assert license_view(staff, lic["id"])["seats_used"] == 1
    with pytest.raises(Deactivated):
        silent.checkin()
    assert busy.checkin().heartbeat_interval == 3600

    # mark-only: the machine is labelled inactive, keeps its seat, and comes back
    change["settings"]["free_seat_when_inactive"] = False
    ok(staff.patch(f"/api/v1/policies/{pol['id']}", json=change))
    time_.advance(2 * 86400)
    assert "marked inactive 1" in sweep(servers)
    [act] = activations(staff, lic["id"])
    assert act["inactive_since"] is not None
    assert busy.checkin().valid
    [act] = activations(staff, lic["id"])
    assert act["inactive_since"] is None
    assert "activation.active_again" in event_kinds(staff, lic["id"])


def test_expiry_rules(sdk: Sdk, factory: Factory, staff: httpx.Client, time_: Time) -> None:
    product = factory.product()
    policy(staff, product, "month-from-issue", expiry_basis="from_issue", duration_days=30)
    policy(staff, product, "ten-from-first", expiry_basis="from_first_activation", duration_days=10)
    policy(
        staff,
        product,
        "maintained",
        expiry_basis="from_issue",
        duration_days=30,
        expired_access="maintain_access",
    )
    now = datetime.now(UTC)

    # fixed: the licence's own date
    fixed = issue(staff, factory, product, expires_at=(now - timedelta(days=1)).isoformat())
    with pytest.raises(LicenseExpired):
        sdk(product, "fixed-expiry-01").activate(license_key=fixed["key"])

    # from issue
    monthly = issue(staff, factory, product, policy="month-from-issue")
    assert abs(_at(monthly["expires_at"]) - (now + timedelta(days=30))) < timedelta(minutes=2)  # type: ignore[operator]

    # from the first activation: nothing until then
    first = issue(staff, factory, product, policy="ten-from-first")
    assert first["expires_at"] is None
    time_.advance(5 * 86400)
    status = sdk(product, "first-activation").activate(license_key=first["key"])
    expected = now + timedelta(days=15)
    assert status.expires_at is not None
    assert abs(status.expires_at - expected) < timedelta(minutes=2)
    assert license_view(staff, first["id"])["first_activated_at"] is not None

    # maintained access: after expiry, versions released before it keep working
    kept = issue(staff, factory, product, seats=2, policy="maintained")
    ends = _at(kept["expires_at"])
    assert ends is not None
    time_.advance(40 * 86400)
    old = sdk(product, "old-version-01", release_date=(ends - timedelta(days=20)).date())
    new = sdk(product, "new-version-01", release_date=(ends + timedelta(days=5)).date())
    assert old.activate(license_key=kept["key"]).valid
    assert old.checkin().valid
    with pytest.raises(LicenseExpired):
        new.activate(license_key=kept["key"])

    # renewal from the old expiry (the policy's default basis)
    renewed = ok(staff.post(f"/api/v1/licenses/{kept['id']}/renew", json={"days": 30}))
    assert _at(renewed["expires_at"]) == ends + timedelta(days=30)


def test_trial_once_per_machine_and_conversion(
    sdk: Sdk, factory: Factory, staff: httpx.Client
) -> None:
    product = factory.product()
    policy(staff, product, "trial", trial=True, expiry_basis="from_issue", duration_days=14)
    policy(staff, product, "paid", features=["pro"])
    one = issue(staff, factory, product, policy="trial")
    two = issue(staff, factory, product, policy="trial")
    laptop = sdk(product, "trial-laptop-77")
    first = laptop.activate(license_key=one["key"])
    with pytest.raises(TrialAlreadyUsed):
        sdk(product, "trial-laptop-77").activate(license_key=two["key"])
    # even after the first trial's activation is gone
    laptop.deactivate()
    with pytest.raises(TrialAlreadyUsed):
        sdk(product, "trial-laptop-77").activate(license_key=two["key"])
    # the customer buys: the trial licence converts and its machine keeps working
    again = sdk(product, "trial-laptop-77").activate(license_key=one["key"])
    ok(staff.post(f"/api/v1/licenses/{one['id']}/convert", json={"policy": "paid"}))
    client = sdk(product, "trial-laptop-77")
    status = client.activate(license_key=one["key"])
    assert status.activation_id == again.activation_id != first.activation_id
    assert status.expires_at is None and client.has_feature("pro")


def test_transfer_budget(sdk: Sdk, factory: Factory, staff: httpx.Client) -> None:
    product = factory.product()
    policy(staff, product, "three", transfer_budget="3 per 30 days")
    lic = issue(staff, factory, product, seats=1, policy="three")
    for i in range(3):
        c = sdk(product, f"hopping-machine-{i}")
        c.activate(license_key=lic["key"])
        c.deactivate()
    fourth = sdk(product, "hopping-machine-3")
    fourth.activate(license_key=lic["key"])
    with pytest.raises(DeactivationLimitReached) as err:
        fourth.deactivate()
    assert err.value.retry_after and err.value.retry_after > 20 * 86400
    assert fourth.status().valid  # the activation stays
    # staff are not limited
    [act] = activations(staff, lic["id"])
    ok(staff.post(f"/api/v1/activations/{act['id']}/deactivate", json={"reason": "moved"}))
    assert license_view(staff, lic["id"])["seats_used"] == 0

    # floating releases never count
    policy(staff, product, "float-three", model="floating", transfer_budget="3 per 30 days")
    floating = issue(staff, factory, product, seats=1, policy="float-three")
    for i in range(5):
        c = sdk(product, f"float-runner-{i}")
        c.activate(license_key=floating["key"])
        c.release()


def test_fingerprint_continuity_moves_the_activation(
    sdk: Sdk, factory: Factory, staff: httpx.Client
) -> None:
    product = factory.product()
    lic = issue(staff, factory, product, seats=1)
    prints = {"hostname": "1f" * 10, "disk": "2e" * 10, "mac": "3d" * 10}
    before = sdk(product, "before-bios-update", fingerprints=prints).activate(
        license_key=lic["key"]
    )
    after = sdk(product, "after-bios-update", "b", fingerprints=prints)
    moved = after.activate(license_key=lic["key"])
    assert moved.activation_id == before.activation_id
    events = ok(staff.get(f"/api/v1/licenses/{lic['id']}/events?limit=200"))["items"]
    [move] = [e for e in events if e["kind"] == "activation.moved"]
    assert move["data"]["from"] == "before-bios-update"
    assert move["data"]["to"] == "after-bios-update"
    assert license_view(staff, lic["id"])["seats_used"] == 1


def test_report_only_enforcement(sdk: Sdk, factory: Factory, staff: httpx.Client) -> None:
    product = factory.product()
    policy(staff, product, "watch", enforcement="report_only")
    lic = issue(staff, factory, product, seats=1, policy="watch")
    sdk(product, "honest-machine-1").activate(license_key=lic["key"])
    extra = sdk(product, "extra-machine-22").activate(license_key=lic["key"])
    assert extra.valid and "SEAT_LIMIT_REACHED" in extra.warnings
    events = ok(staff.get(f"/api/v1/licenses/{lic['id']}/events?limit=200"))["items"]
    reported = [e for e in events if e["kind"] == "enforcement.reported"]
    assert reported and reported[0]["reason"] == "SEAT_LIMIT_REACHED"
