"""The SDK's online calls against a real licserver: activation by each kind of
credentials, restarts, check-in, deactivation by the client and by staff,
seats, and a retry after a lost answer."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from licclient import (
    CertificateInvalid,
    Deactivated,
    InvalidCredentials,
    LicenseClient,
    LicenseError,
    LicenseExpired,
    LicenseRevoked,
    LicenseSuspended,
    SeatLimitReached,
)

from tests.live import LiveServer
from tests.sdk.proxy import LosingProxy
from tests.support.factory import Factory
from tests.support.sdk import Clock, activations, event_kinds, license_view, ok

pytestmark = pytest.mark.e2e

Sdk = Callable[..., LicenseClient]
COMPANY_PASSWORD = "correct horse battery"


def test_activate_with_a_license_key(sdk: Sdk, factory: Factory, staff: httpx.Client) -> None:
    lic = factory.license(seats=3, features=["export", "plot"])
    client = sdk(lic.product)

    status = client.activate(license_key=lic.key, machine_name="DESIGN-PC-07")

    assert status.valid and status.code == "VALID"
    assert status.license_id == lic.id
    assert status.features == ("export", "plot")
    assert status.machine_name == "DESIGN-PC-07"
    assert status.offline_until is not None and status.offline_until.tzinfo is not None
    [act] = activations(staff, lic.id)
    assert act["id"] == status.activation_id
    assert act["installation_id"] == client.installation_id
    assert act["machine_name"] == "DESIGN-PC-07"
    assert act["client"]["os"] and act["client"]["hostname"]
    assert license_view(staff, lic.id)["seats_used"] == 1


def test_activate_with_license_id_and_activation_password(
    sdk: Sdk, factory: Factory, staff: httpx.Client
) -> None:
    lic = factory.license(seats=3)
    client = sdk(lic.product)

    status = client.activate(license_id=lic.id, activation_password=lic.activation_password)

    assert status.valid and status.license_id == lic.id
    assert [a["id"] for a in activations(staff, lic.id)] == [status.activation_id]


def test_activate_with_customer_number_and_company_password(
    sdk: Sdk, factory: Factory, staff: httpx.Client
) -> None:
    customer = factory.customer(company_password=COMPANY_PASSWORD)
    product = factory.product()
    factory.license(product=factory.product(), customer=customer)  # another product's
    lic = factory.license(product=product, customer=customer, seats=2)
    client = sdk(product)

    status = client.activate(customer_number=customer, company_password=COMPANY_PASSWORD)

    assert status.valid and status.license_id == lic.id
    assert status.customer == customer
    assert license_view(staff, lic.id)["seats_used"] == 1


def test_activation_needs_exactly_one_kind_of_credentials(sdk: Sdk, factory: Factory) -> None:
    lic = factory.license()
    client = sdk(lic.product)
    with pytest.raises(ValueError):
        client.activate()
    with pytest.raises(ValueError):
        client.activate(license_key=lic.key, license_id=lic.id)
    with pytest.raises(ValueError):
        client.activate(license_id=lic.id)  # no password
    assert client.status().code == "NOT_ACTIVATED"


def test_a_new_client_object_keeps_the_activation(
    sdk: Sdk, factory: Factory, staff: httpx.Client
) -> None:
    lic = factory.license()
    first = sdk(lic.product)
    activated = first.activate(license_key=lic.key)

    restarted = sdk(lic.product)  # the product started again: same folder, same machine

    status = restarted.status()
    assert status.valid and status.activation_id == activated.activation_id
    # and its stored activation token still works on the server
    assert restarted.checkin().valid
    assert "activation.checked_in" in event_kinds(staff, lic.id)


def test_the_state_file_is_written_atomically_and_private(
    sdk: Sdk, factory: Factory, state_dir: Path
) -> None:
    lic = factory.license()
    client = sdk(lic.product)
    client.activate(license_key=lic.key)
    client.checkin()

    path = state_dir / f"{lic.product}.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(state_dir.stat().st_mode) == 0o700
    # nothing left behind by the write-then-rename
    assert sorted(p.name for p in state_dir.iterdir()) == [path.name]
    stored = json.loads(path.read_text())
    assert stored["activation_id"] == client.status().activation_id
    assert stored["certificate"].startswith("AC1.")


def test_activating_again_takes_no_second_seat(
    sdk: Sdk, factory: Factory, staff: httpx.Client
) -> None:
    lic = factory.license(seats=1)
    client = sdk(lic.product)
    first = client.activate(license_key=lic.key)

    again = client.activate(license_id=lic.id, activation_password=lic.activation_password)

    assert again.valid and again.activation_id == first.activation_id
    assert license_view(staff, lic.id)["seats_used"] == 1
    assert event_kinds(staff, lic.id).count("activation.reused") == 1


def test_seat_limit(sdk: Sdk, factory: Factory, staff: httpx.Client, tmp_path: Path) -> None:
    lic = factory.license(seats=1)
    sdk(lic.product, installation_id="machine-one-0001").activate(license_key=lic.key)
    other = sdk(lic.product, installation_id="machine-two-0002", state_dir=tmp_path / "two")

    with pytest.raises(SeatLimitReached) as caught:
        other.activate(license_key=lic.key)

    assert caught.value.code == "SEAT_LIMIT_REACHED" and caught.value.status == 409
    assert caught.value.detail and "seat" in caught.value.detail.lower()
    assert other.status().code == "NOT_ACTIVATED"  # nothing stored
    assert license_view(staff, lic.id)["seats_used"] == 1


def test_a_lost_answer_is_retried_without_taking_a_second_seat(
    sdk: Sdk, factory: Factory, staff: httpx.Client, server: LiveServer
) -> None:
    lic = factory.license(seats=1)
    proxy = LosingProxy(server.url, lose=1)
    try:
        client = sdk(lic.product, server_url=proxy.url, retries=2)
        status = client.activate(license_key=lic.key)
        # the token of the retry is the one that works
        assert client.checkin().valid
    finally:
        proxy.close()

    # the server did answer the first request, with a new activation ...
    [lost] = proxy.lost_answers
    assert lost.startswith(b"HTTP/1.1 201")
    assert proxy.connections == 3  # the lost activation, its retry, the check-in
    # ... and the retry got the same activation back, on the one seat
    assert status.valid
    [act] = activations(staff, lic.id, state="all")
    assert act["id"] == status.activation_id
    assert license_view(staff, lic.id)["seats_used"] == 1
    assert event_kinds(staff, lic.id)[1:3] == ["activation.created", "activation.reused"]


def test_checkin_refreshes_the_certificate(
    sdk: Sdk,
    factory: Factory,
    staff: httpx.Client,
    state_dir: Path,
    server_clock: Callable[[float], None],
) -> None:
    lic = factory.license()
    client = sdk(lic.product)
    first = client.activate(license_key=lic.key)
    stored = (state_dir / f"{lic.product}.json").read_text()
    server_clock(2)  # certificates carry whole seconds

    refreshed = client.checkin()

    assert refreshed.valid and refreshed.activation_id == first.activation_id
    assert first.checked_in_at and refreshed.checked_in_at
    assert first.offline_until and refreshed.offline_until
    assert refreshed.checked_in_at > first.checked_in_at
    assert refreshed.offline_until > first.offline_until
    assert (state_dir / f"{lic.product}.json").read_text() != stored
    [act] = activations(staff, lic.id)
    assert act["last_checkin_at"] is not None


def test_deactivate_frees_the_seat_and_forgets_the_activation(
    sdk: Sdk, factory: Factory, staff: httpx.Client, state_dir: Path
) -> None:
    lic = factory.license(seats=1)
    client = sdk(lic.product)
    client.activate(license_key=lic.key)

    client.deactivate()

    assert client.status().code == "NOT_ACTIVATED"
    assert not (state_dir / f"{lic.product}.json").exists()
    assert license_view(staff, lic.id)["seats_used"] == 0
    [act] = activations(staff, lic.id, state="all")
    assert act["state"] == "deactivated" and act["deactivated_by"]["type"] == "client"
    # nothing left to deactivate or check in
    with pytest.raises(LicenseError) as caught:
        client.deactivate()
    assert caught.value.code == "NOT_ACTIVATED"
    with pytest.raises(LicenseError) as caught:
        client.checkin()
    assert caught.value.code == "NOT_ACTIVATED"


def test_staff_deactivation_stops_the_machine_at_its_next_checkin(
    sdk: Sdk, factory: Factory, staff: httpx.Client, state_dir: Path
) -> None:
    lic = factory.license(seats=1)
    client = sdk(lic.product)
    aid = client.activate(license_key=lic.key).activation_id
    ok(staff.post(f"/api/v1/activations/{aid}/deactivate", json={"reason": "laptop stolen"}))
    assert client.status().valid  # offline, it cannot know yet

    with pytest.raises(Deactivated) as caught:
        client.checkin()

    assert caught.value.code == "DEACTIVATED" and caught.value.status == 410
    assert caught.value.detail
    assert client.status().code == "NOT_ACTIVATED"
    assert not (state_dir / f"{lic.product}.json").exists()
    assert "activation.checkin_refused" in event_kinds(staff, lic.id)


@pytest.mark.parametrize(
    ("action", "error", "code"),
    [
        ("suspend", LicenseSuspended, "LICENSE_SUSPENDED"),
        ("revoke", LicenseRevoked, "LICENSE_REVOKED"),
    ],
)
def test_a_refused_checkin_is_remembered_offline(
    sdk: Sdk,
    factory: Factory,
    staff: httpx.Client,
    action: str,
    error: type[LicenseError],
    code: str,
) -> None:
    lic = factory.license()
    client = sdk(lic.product)
    client.activate(license_key=lic.key)
    ok(staff.post(f"/api/v1/licenses/{lic.id}/{action}", json={"reason": "unpaid"}))

    with pytest.raises(error) as caught:
        client.checkin()

    assert caught.value.code == code and caught.value.status == 403
    restarted = sdk(lic.product)
    assert restarted.status().code == code and not restarted.status().valid


def test_a_reinstated_licence_works_again_after_checkin(
    sdk: Sdk, factory: Factory, staff: httpx.Client
) -> None:
    lic = factory.license()
    client = sdk(lic.product)
    client.activate(license_key=lic.key)
    ok(staff.post(f"/api/v1/licenses/{lic.id}/suspend", json={"reason": "unpaid"}))
    with pytest.raises(LicenseSuspended):
        client.checkin()
    ok(staff.post(f"/api/v1/licenses/{lic.id}/reinstate", json={"reason": "paid"}))

    # auto_checkin retries a suspended licence at once
    assert client.auto_checkin().code == "VALID"


def test_an_expiry_moved_earlier_is_learnt_at_checkin(
    sdk: Sdk, factory: Factory, staff: httpx.Client
) -> None:
    lic = factory.license(expires_at=None)
    client = sdk(lic.product)
    assert client.activate(license_key=lic.key).expires_at is None
    ok(staff.patch(f"/api/v1/licenses/{lic.id}", json={"expires_at": "2020-01-01T00:00:00Z"}))

    with pytest.raises(LicenseExpired) as caught:
        client.checkin()

    assert caught.value.code == "LICENSE_EXPIRED"
    assert client.status().code == "LICENSE_EXPIRED"


def test_activating_an_expired_licence_is_refused(
    sdk: Sdk, factory: Factory, staff: httpx.Client
) -> None:
    lic = factory.license(expires_at=datetime.now(UTC) - timedelta(days=1))
    client = sdk(lic.product)

    with pytest.raises(LicenseExpired) as caught:
        client.activate(license_key=lic.key)

    assert caught.value.code == "LICENSE_EXPIRED" and caught.value.detail
    assert client.status().code == "NOT_ACTIVATED"
    assert license_view(staff, lic.id)["seats_used"] == 0


def test_auto_checkin_checks_in_only_when_due(
    sdk: Sdk, factory: Factory, staff: httpx.Client, clock: Clock
) -> None:
    lic = factory.license()  # the product's grace: 14 days
    client = sdk(lic.product)
    first = client.activate(license_key=lic.key)

    clock.advance(days=3)
    assert client.auto_checkin() == client.status()  # 11 days left: not due
    assert "activation.checked_in" not in event_kinds(staff, lic.id)

    clock.advance(days=5)  # 6 days left, under half the grace period
    due = client.auto_checkin()
    assert due.valid and due.activation_id == first.activation_id
    assert event_kinds(staff, lic.id).count("activation.checked_in") == 1

    # an explicit margin: 6 days left is more than a day
    assert client.auto_checkin(within=timedelta(days=1)).valid
    assert event_kinds(staff, lic.id).count("activation.checked_in") == 1


def test_auto_checkin_raises_the_servers_refusals(
    sdk: Sdk, factory: Factory, staff: httpx.Client, clock: Clock
) -> None:
    lic = factory.license()
    client = sdk(lic.product)
    aid = client.activate(license_key=lic.key).activation_id
    ok(staff.post(f"/api/v1/activations/{aid}/deactivate", json={"reason": "moved"}))
    clock.advance(days=10)

    with pytest.raises(Deactivated):
        client.auto_checkin()
    assert client.status().code == "NOT_ACTIVATED"


def test_an_answer_for_another_product_is_refused_and_its_seat_freed(
    sdk: Sdk, factory: Factory, staff: httpx.Client
) -> None:
    lic = factory.license(seats=1)
    client = sdk(factory.product())  # this product is not the licence's

    with pytest.raises(CertificateInvalid) as caught:
        client.activate(license_id=lic.id, activation_password=lic.activation_password)

    assert caught.value.code == "CERTIFICATE_INVALID"
    assert lic.product in caught.value.detail
    assert client.status().code == "NOT_ACTIVATED"
    assert license_view(staff, lic.id)["seats_used"] == 0
    assert event_kinds(staff, lic.id)[-2:] == ["activation.created", "activation.deactivated"]


def test_a_licence_key_for_another_product_is_refused_before_sending(
    sdk: Sdk, factory: Factory, staff: httpx.Client
) -> None:
    lic = factory.license(seats=1)
    client = sdk(factory.product())

    with pytest.raises(InvalidCredentials) as caught:
        client.activate(license_key=lic.key)

    assert lic.product in caught.value.detail and caught.value.status is None
    assert event_kinds(staff, lic.id) == ["license.created"]


def test_an_answer_signed_with_an_unpinned_key_is_refused(
    sdk: Sdk, factory: Factory, staff: httpx.Client, public_keys: dict[str, str]
) -> None:
    lic = factory.license(seats=1)
    # the product pins another kid only (say, an old build after a key rotation)
    [pinned] = public_keys.values()
    client = sdk(lic.product, public_keys={"k-20200101-000000": pinned})

    with pytest.raises(CertificateInvalid) as caught:
        client.activate(license_id=lic.id, activation_password=lic.activation_password)

    # the answer itself is signed with the unpinned kid: refused before its certificate
    assert "not pinned" in caught.value.detail
    assert client.status().code == "NOT_ACTIVATED"
    assert license_view(staff, lic.id)["seats_used"] == 0


def test_a_checkin_answer_signed_with_an_unpinned_key_is_not_stored(
    sdk: Sdk, factory: Factory, public_keys: dict[str, str], state_dir: Path
) -> None:
    lic = factory.license()
    sdk(lic.product).activate(license_key=lic.key)
    stored = (state_dir / f"{lic.product}.json").read_bytes()
    [pinned] = public_keys.values()
    stale_build = sdk(lic.product, public_keys={"k-20200101-000000": pinned})

    with pytest.raises(CertificateInvalid) as caught:
        stale_build.checkin()

    assert caught.value.code == "CERTIFICATE_INVALID" and "not pinned" in caught.value.detail
    assert (state_dir / f"{lic.product}.json").read_bytes() == stored
