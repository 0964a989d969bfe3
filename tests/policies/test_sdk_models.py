"""The SDK under licence models, against a real licserver under gunicorn:
floating leases and release(), entitlements offline, licensed sites, maintained
access after expiry, one trial per machine, report-only warnings, fingerprint
continuity. Policies are made through the admin API, as a vendor makes them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from licclient import LicenseClient, SeatLimitReached, TrialAlreadyUsed

from tests.live import LiveServer
from tests.policies.models_e2e import issue, policy
from tests.support.factory import Factory
from tests.support.sdk import Clock, activations, event_kinds, license_view

pytestmark = pytest.mark.e2e

Sdk = Callable[..., LicenseClient]


def test_floating_lease_status_and_release(
    sdk: Sdk, factory: Factory, staff: httpx.Client, tmp_path: Any
) -> None:
    product = factory.product()
    policy(staff, product, "float", model="floating", lease_ttl=600)
    lic = issue(staff, factory, product, seats=1, policy="float")
    first = sdk(product, installation_id="container-run-0001", state_dir=tmp_path / "a")
    second = sdk(product, installation_id="container-run-0002", state_dir=tmp_path / "b")

    status = first.activate(license_key=lic["key"])
    assert status.valid and status.model == "floating"
    assert status.lease_expires_at is not None
    # the certificate's deadline is the lease's end, not the product's grace
    assert status.offline_until == status.lease_expires_at
    assert abs(status.lease_expires_at - datetime.now(UTC)) < timedelta(seconds=660)

    with pytest.raises(SeatLimitReached):
        second.activate(license_key=lic["key"])
    first.release()
    assert first.status().code == "NOT_ACTIVATED"
    assert license_view(staff, lic["id"])["seats_used"] == 0
    assert second.activate(license_key=lic["key"]).valid
    # a release is a deactivation that says it was a lease
    kinds = event_kinds(staff, lic["id"])
    assert kinds.count("activation.deactivated") == 1

    # the context manager takes and gives back a lease
    second.release()
    with first.lease(license_key=lic["key"]) as held:
        assert held.valid and license_view(staff, lic["id"])["seats_used"] == 1
    assert license_view(staff, lic["id"])["seats_used"] == 0


def test_lapsed_lease_reads_checkin_required_offline(
    sdk: Sdk, factory: Factory, staff: httpx.Client, clock: Clock
) -> None:
    product = factory.product()
    policy(staff, product, "float", model="floating", lease_ttl=300)
    lic = issue(staff, factory, product, policy="float")
    client = sdk(product)
    assert client.activate(license_key=lic["key"]).valid
    clock.advance(seconds=301)
    assert client.status().code == "CHECKIN_REQUIRED"
    clock.advance(seconds=-301)
    renewed = client.checkin()
    assert renewed.valid and renewed.lease_expires_at is not None


def test_has_feature_offline(
    sdk: Sdk, factory: Factory, staff: httpx.Client, start_server: Callable[..., LiveServer]
) -> None:
    product = factory.product()
    policy(staff, product, "pro", features=["export", "render"])
    lic = issue(staff, factory, product, policy="pro", features=["cloud"])
    own = start_server(workers=1)
    client = sdk(product, server_url=own.url)
    assert not client.has_feature("export")  # not activated yet
    client.activate(license_key=lic["key"])
    own.stop()  # offline from here on
    assert client.has_feature("export") and client.has_feature("cloud")
    assert client.has_feature("render") and not client.has_feature("admin")
    assert client.status().features == ("cloud", "export", "render")


def test_site_urls_written_differently_are_one_site(
    sdk: Sdk, factory: Factory, staff: httpx.Client, tmp_path: Any
) -> None:
    product = factory.product()
    lic = issue(staff, factory, product, seats=2)
    a = sdk(
        product,
        installation_id=None,
        site_url="HTTPS://Shop.Example.com:443/store/",
        state_dir=tmp_path / "a",
    )
    b = sdk(
        product,
        installation_id=None,
        site_url="https://shop.example.com/store?x=1",
        state_dir=tmp_path / "b",
    )
    assert a.installation_id == b.installation_id
    assert a.installation_id.startswith("site:")
    sa = a.activate(license_key=lic["key"])
    sb = b.activate(license_key=lic["key"])
    assert sa.valid and sb.valid and sa.activation_id == sb.activation_id
    assert sa.site_url == "https://shop.example.com/store"
    [act] = activations(staff, lic["id"])
    assert act["site_url"] == "https://shop.example.com/store"
    assert act["machine_name"] == "https://shop.example.com/store"
    assert license_view(staff, lic["id"])["seats_used"] == 1
    with pytest.raises(ValueError):
        sdk(product, installation_id=None, site_url="ftp://example.com")


def test_maintained_access_depends_on_the_release_date(
    sdk: Sdk, factory: Factory, staff: httpx.Client, clock: Clock, tmp_path: Any
) -> None:
    product = factory.product(offline_grace_days=60)
    policy(staff, product, "maintained", expired_access="maintain_access")
    ends = datetime.now(UTC) + timedelta(days=30)
    lic = issue(
        staff,
        factory,
        product,
        seats=2,
        policy="maintained",
        expires_at=ends.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    old_version = sdk(product, release_date=date.today(), state_dir=tmp_path / "old")
    new_version = sdk(
        product,
        release_date=(ends + timedelta(days=10)).date().isoformat(),
        state_dir=tmp_path / "new",
        installation_id="newer-version-install",
    )
    assert old_version.activate(license_key=lic["key"]).valid
    assert new_version.activate(license_key=lic["key"]).valid
    clock.advance(days=31)  # past the expiry, within the 60-day offline grace
    assert old_version.status().code == "VALID"
    assert new_version.status().code == "LICENSE_EXPIRED"
    with pytest.raises(ValueError):
        sdk(product, release_date="last tuesday")


def test_one_trial_per_machine(
    sdk: Sdk, factory: Factory, staff: httpx.Client, tmp_path: Any
) -> None:
    product = factory.product()
    policy(staff, product, "trial", trial=True, expiry_basis="from_issue", duration_days=14)
    first = issue(staff, factory, product, policy="trial")
    second = issue(staff, factory, product, policy="trial")
    machine = sdk(product, installation_id="trial-laptop-0001", state_dir=tmp_path / "1")
    assert machine.activate(license_key=first["key"]).valid
    again = sdk(product, installation_id="trial-laptop-0001", state_dir=tmp_path / "2")
    with pytest.raises(TrialAlreadyUsed) as err:
        again.activate(license_key=second["key"])
    assert err.value.code == "TRIAL_ALREADY_USED" and err.value.status == 403
    # another machine may have that second trial
    other = sdk(product, installation_id="trial-laptop-0002", state_dir=tmp_path / "3")
    assert other.activate(license_key=second["key"]).valid


def test_report_only_warnings_reach_status(
    sdk: Sdk, factory: Factory, staff: httpx.Client, tmp_path: Any
) -> None:
    product = factory.product()
    policy(staff, product, "honour", enforcement="report_only")
    lic = issue(staff, factory, product, seats=1, policy="honour")
    assert sdk(product, state_dir=tmp_path / "a").activate(license_key=lic["key"]).warnings == ()
    over = sdk(product, installation_id="second-machine-01", state_dir=tmp_path / "b")
    status = over.activate(license_key=lic["key"])  # over the seat limit: not refused
    assert status.valid and status.warnings == ("SEAT_LIMIT_REACHED",)
    assert license_view(staff, lic["id"])["seats_used"] == 2
    assert "enforcement.reported" in event_kinds(staff, lic["id"])


def test_fingerprint_continuity_keeps_the_activation(
    sdk: Sdk, factory: Factory, staff: httpx.Client, tmp_path: Any
) -> None:
    product = factory.product()
    lic = issue(staff, factory, product, seats=1)
    prints = {"hostname": "a" * 16 + "1", "disk": "b" * 16 + "2", "mac": "c" * 16 + "3"}
    before = sdk(
        product, installation_id="machine-before-os", fingerprints=prints, state_dir=tmp_path / "a"
    )
    first = before.activate(license_key=lic["key"])
    # the OS was reinstalled: a new installation ID, the same hardware
    after = sdk(
        product, installation_id="machine-after-os1", fingerprints=prints, state_dir=tmp_path / "b"
    )
    moved = after.activate(license_key=lic["key"])
    assert moved.valid and moved.activation_id == first.activation_id
    [act] = activations(staff, lic["id"])
    assert act["installation_id"] == "machine-after-os1"
    assert "activation.moved" in event_kinds(staff, lic["id"])
    # a machine that shares only one identifier is another machine: no free seat
    stranger = sdk(
        product,
        installation_id="other-machine-01",
        fingerprints={"hostname": prints["hostname"], "disk": "d" * 17},
        state_dir=tmp_path / "c",
    )
    with pytest.raises(SeatLimitReached):
        stranger.activate(license_key=lic["key"])
