"""``status()`` offline: the stored certificate verified against the pinned
keys, checked for product, installation, expiry, check-in deadline and a
clock set back — and every way the stored state can be wrong."""

from __future__ import annotations

import base64
import json
import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from licclient import (
    CertificateInvalid,
    LicenseClient,
    LicenseSuspended,
    ServerUnavailable,
)

from tests.live import LiveServer
from tests.support.factory import Factory
from tests.support.sdk import Clock, event_kinds, fetch_public_keys, ok

pytestmark = pytest.mark.e2e

Sdk = Callable[..., LicenseClient]


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64u_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def state_file(state_dir: Path, product: str) -> Path:
    return state_dir / f"{product}.json"


def read_state(state_dir: Path, product: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(state_file(state_dir, product).read_text())
    return data


def write_state(state_dir: Path, product: str, data: dict[str, Any]) -> None:
    state_file(state_dir, product).write_text(json.dumps(data))


@pytest.fixture
def activated(sdk: Sdk, factory: Factory) -> tuple[LicenseClient, str]:
    """An installation activated on a 14-day-grace, perpetual licence; (client, product)."""
    lic = factory.license()
    client = sdk(lic.product)
    assert client.activate(license_key=lic.key).valid
    return client, lic.product


def test_status_without_an_activation(sdk: Sdk, factory: Factory) -> None:
    status = sdk(factory.product()).status()
    assert status.code == "NOT_ACTIVATED" and not status.valid
    assert status.license_id is None and status.features == ()


def test_status_works_with_the_server_stopped(
    start_server: Callable[..., LiveServer],
    sdk: Sdk,
    factory: Factory,
    clock: Clock,
) -> None:
    own = start_server(workers=1)
    lic = factory.license()
    keys = fetch_public_keys(own.url)
    sdk(lic.product, server_url=own.url, public_keys=keys).activate(license_key=lic.key)
    own.stop()

    restarted = sdk(lic.product, server_url=own.url, public_keys=keys, retries=0)
    assert restarted.status().valid
    with pytest.raises(ServerUnavailable) as caught:
        restarted.checkin()
    assert caught.value.code is None and caught.value.status is None
    assert own.url in caught.value.detail

    # auto_checkin: due after half the grace, but the server is away — fine until the deadline
    clock.advance(days=10)
    assert restarted.auto_checkin().code == "VALID"
    clock.advance(days=5)
    late = restarted.auto_checkin()
    assert late.code == "CHECKIN_REQUIRED" and not late.valid
    assert late.license_id == lic.id


def test_the_checkin_deadline_and_the_licence_expiry(
    sdk: Sdk, factory: Factory, clock: Clock
) -> None:
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    lic = factory.license(expires_at=expires)
    client = sdk(lic.product)
    activated = client.activate(license_key=lic.key)
    assert activated.expires_at == expires
    assert activated.offline_until is not None

    clock.advance(days=2)
    assert client.status().code == "VALID"
    clock.now = expires.timestamp()
    assert client.status().code == "LICENSE_EXPIRED"
    # expiry outranks the missed check-in
    clock.advance(days=30)
    assert client.status().code == "LICENSE_EXPIRED"

    clock.now = time.time()
    perpetual = factory.license(expires_at=None)
    other = sdk(perpetual.product)
    status = other.activate(license_key=perpetual.key)
    assert status.expires_at is None and status.offline_until is not None
    clock.now = status.offline_until.timestamp() - 1
    assert other.status().code == "VALID"
    clock.now = status.offline_until.timestamp()
    assert other.status().code == "CHECKIN_REQUIRED"


def test_a_tampered_certificate(activated: tuple[LicenseClient, str], state_dir: Path) -> None:
    client, product = activated
    data = read_state(state_dir, product)
    prefix, payload, sig = data["certificate"].split(".")
    claims = json.loads(b64u_decode(payload))
    claims["until"] += 365 * 86400  # a year more offline, same signature
    forged = dict(data, certificate=f"{prefix}.{b64u(json.dumps(claims).encode())}.{sig}")
    write_state(state_dir, product, forged)

    status = client.status()
    assert status.code == "CERTIFICATE_INVALID" and not status.valid
    assert status.license_id is None and status.detail == "bad signature"

    flipped = sig[:-2] + ("A" if sig[-2] != "A" else "B") + sig[-1]
    write_state(state_dir, product, dict(data, certificate=f"{prefix}.{payload}.{flipped}"))
    assert client.status().code == "CERTIFICATE_INVALID"

    write_state(state_dir, product, data)  # the original verifies again
    assert client.status().code == "VALID"


def test_state_copied_to_another_installation(
    activated: tuple[LicenseClient, str],
    sdk: Sdk,
    state_dir: Path,
    tmp_path: Path,
    staff: httpx.Client,
) -> None:
    client, product = activated
    elsewhere = tmp_path / "other-machine"
    shutil.copytree(state_dir, elsewhere)
    other = sdk(product, state_dir=elsewhere, installation_id="another-machine-01")

    status = other.status()
    assert status.code == "CERTIFICATE_INVALID" and status.detail
    assert "another installation" in status.detail
    with pytest.raises(CertificateInvalid):
        other.checkin()  # refused here: the copied token is not sent

    # claiming the other installation in the file does not help: the certificate is signed
    data = read_state(elsewhere, product)
    write_state(elsewhere, product, dict(data, installation_id="another-machine-01"))
    assert other.status().code == "CERTIFICATE_INVALID"
    with pytest.raises(CertificateInvalid):
        other.checkin()  # the server's answer names the first installation: nothing stored
    assert other.status().code == "CERTIFICATE_INVALID"
    assert client.status().valid


def test_state_of_another_product(
    activated: tuple[LicenseClient, str], sdk: Sdk, factory: Factory, state_dir: Path
) -> None:
    _, product = activated
    other_product = factory.product()
    shutil.copy(state_file(state_dir, product), state_file(state_dir, other_product))

    status = sdk(other_product).status()

    assert status.code == "CERTIFICATE_INVALID"
    assert status.detail and product in status.detail


def test_an_unknown_kid(
    activated: tuple[LicenseClient, str], sdk: Sdk, public_keys: dict[str, str]
) -> None:
    _, product = activated
    [(kid, key)] = public_keys.items()
    spare = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    # a build that pins only another key does not accept the certificate
    status = sdk(product, public_keys={"k-20200101-aaaaaa": b64u(spare)}).status()
    assert status.code == "CERTIFICATE_INVALID" and status.detail
    assert "unknown kid" in status.detail
    # nor the right key under another name
    assert sdk(product, public_keys={"k-20200101-aaaaaa": key}).status().code == (
        "CERTIFICATE_INVALID"
    )
    # several pinned keys, so the server's key can rotate
    assert sdk(product, public_keys={"k-20200101-aaaaaa": b64u(spare), kid: key}).status().valid


def test_a_clock_set_back(
    activated: tuple[LicenseClient, str], sdk: Sdk, clock: Clock, staff: httpx.Client
) -> None:
    client, product = activated
    start = clock.now

    clock.now = start - 30 * 60  # within the default hour of tolerance
    assert client.status().code == "VALID"
    clock.now = start - 2 * 3600  # before the certificate was issued
    tampered = client.status()
    assert tampered.code == "CLOCK_TAMPERED" and not tampered.valid
    assert tampered.license_id  # the certificate itself is fine

    clock.now = start + 5 * 86400  # used five days later: remembered
    assert client.status().valid
    clock.now = start + 5 * 86400 - 2 * 3600
    assert client.status().code == "CLOCK_TAMPERED"
    assert sdk(product).status().code == "CLOCK_TAMPERED"  # after a restart too
    assert sdk(product, clock_tolerance=3 * 3600).status().valid

    # a check-in resets the latest time seen to the certificate's issue time
    clock.now = start
    assert client.status().code == "CLOCK_TAMPERED"
    assert client.checkin().valid
    assert client.status().valid


def test_a_clock_set_back_outranks_a_refused_checkin(
    activated: tuple[LicenseClient, str], clock: Clock, staff: httpx.Client
) -> None:
    client, _ = activated
    lic_id = client.status().license_id
    ok(staff.post(f"/api/v1/licenses/{lic_id}/suspend", json={}))
    with pytest.raises(LicenseSuspended):
        client.checkin()
    assert client.status().code == "LICENSE_SUSPENDED"

    clock.advance(hours=-2)
    assert client.status().code == "CLOCK_TAMPERED"


# (how the file is spoilt, whether the activation token in it is still readable)
CORRUPTIONS: dict[str, tuple[Callable[[bytes], bytes], bool]] = {
    "empty": (lambda raw: b"", False),
    "truncated": (lambda raw: raw[: len(raw) // 2], False),
    "one byte short": (lambda raw: raw.rstrip()[:-1], False),
    "binary garbage": (lambda raw: bytes(range(256)) * 4, False),
    "not utf-8": (lambda raw: raw.replace(b'"format"', b'"\xff\xfeformat"'), False),
    "json of something else": (lambda raw: b'{"theme": "dark", "recent": []}', False),
    "a json list": (lambda raw: b"[1, 2, 3]", False),
    "a field missing": (
        lambda raw: json.dumps(
            {k: v for k, v in json.loads(raw).items() if k != "activation_token"}
        ).encode(),
        False,
    ),
    "a field of the wrong type": (
        lambda raw: json.dumps(dict(json.loads(raw), last_seen="yesterday")).encode(),
        False,
    ),
    "an unknown refusal": (
        lambda raw: json.dumps(dict(json.loads(raw), refusal="NOPE")).encode(),
        False,
    ),
    "huge": (lambda raw: b" " * (70 * 1024) + raw, False),
    "a certificate that is not one": (
        lambda raw: json.dumps(dict(json.loads(raw), certificate="AC1.e30.AAAA")).encode(),
        True,
    ),
    "an LK1 key as certificate": (
        lambda raw: json.dumps(
            dict(json.loads(raw), certificate="LK1" + json.loads(raw)["certificate"][3:])
        ).encode(),
        True,
    ),
}


@pytest.mark.parametrize(
    ("corrupt", "token_readable"), CORRUPTIONS.values(), ids=CORRUPTIONS.keys()
)
def test_a_corrupt_state_file_is_certificate_invalid(
    activated: tuple[LicenseClient, str],
    sdk: Sdk,
    state_dir: Path,
    corrupt: Callable[[bytes], bytes],
    token_readable: bool,
) -> None:
    client, product = activated
    path = state_file(state_dir, product)
    path.write_bytes(corrupt(path.read_bytes()))

    for c in (client, sdk(product)):  # the running product and a restarted one
        status = c.status()
        assert status.code == "CERTIFICATE_INVALID" and not status.valid
        assert status.license_id is None and status.detail
        assert c.auto_checkin().code == "CERTIFICATE_INVALID"  # and no request made

    if token_readable:
        # an explicit check-in with the intact token fetches a good certificate again
        assert client.checkin().valid
    else:
        with pytest.raises(CertificateInvalid) as caught:
            client.checkin()
        assert caught.value.code == "CERTIFICATE_INVALID"


def test_a_state_path_that_cannot_be_read(state_dir: Path, factory: Factory, sdk: Sdk) -> None:
    product = factory.product()
    state_file(state_dir, product).mkdir(parents=True)  # a folder where the file should be

    client = sdk(product)
    assert client.status().code == "CERTIFICATE_INVALID"
    with pytest.raises(CertificateInvalid):
        client.checkin()


def test_activating_again_repairs_a_corrupt_state(
    sdk: Sdk, factory: Factory, state_dir: Path
) -> None:
    lic = factory.license(seats=1)
    client = sdk(lic.product)
    client.activate(license_key=lic.key)
    state_file(state_dir, lic.product).write_bytes(b"\x00" * 10)
    assert client.status().code == "CERTIFICATE_INVALID"

    assert client.activate(license_key=lic.key).valid  # same installation: same seat
    assert sdk(lic.product).status().valid


def test_a_state_folder_holds_several_products(
    sdk: Sdk, factory: Factory, staff: httpx.Client
) -> None:
    one, two = factory.license(), factory.license()
    a, b = sdk(one.product), sdk(two.product)
    a.activate(license_key=one.key)
    b.activate(license_key=two.key)

    a.deactivate()

    assert a.status().code == "NOT_ACTIVATED"
    assert b.status().valid and b.status().license_id == two.id
    assert "activation.deactivated" not in event_kinds(staff, two.id)
