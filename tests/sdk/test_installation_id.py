"""The installation ID: derived from the machine's identity hashed with the
product code, stable across restarts and reinstalls, different per product
and per machine, and the raw identity never sent."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import stat
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from licclient import LicenseClient
from licclient._fingerprint import (
    MACHINE_ID_FILES,
    derive_installation_id,
    machine_identity,
)

from tests.support.factory import Factory
from tests.support.sdk import ok

Sdk = Callable[..., LicenseClient]
_RAW = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
KEYS = {"k-20200101-aaaaaa": base64.urlsafe_b64encode(_RAW).rstrip(b"=").decode()}


def expected_id(identity: str, product: str) -> str:
    mac = hmac.new(
        identity.encode(), f"licclient/installation-id/v1:{product}".encode(), hashlib.sha256
    )
    return mac.hexdigest()[:40]


def this_machine(state_dir: Path) -> str:
    """The identity the SDK must use here: the OS's, else its fallback file."""
    for path in MACHINE_ID_FILES:
        if path.exists() and path.read_text().strip():
            return path.read_text().strip()
    return (state_dir / "machine-id").read_text().strip()


def client(state_dir: Path, product: str = "cad-pro") -> LicenseClient:
    return LicenseClient(
        "https://lic.example.com", product=product, public_keys=KEYS, state_dir=state_dir
    )


def test_derived_from_the_machine_identity_and_the_product(tmp_path: Path) -> None:
    c = client(tmp_path / "state")
    identity = this_machine(tmp_path / "state")
    assert c.installation_id == expected_id(identity, "cad-pro")
    assert identity not in c.installation_id
    assert len(c.installation_id) == 40


def test_stable_across_restarts_and_reinstalls(tmp_path: Path) -> None:
    first = client(tmp_path / "a").installation_id
    assert client(tmp_path / "a").installation_id == first  # restart
    if machine_identity() is not None:
        # a reinstall that lost the state folder: the OS identity is unchanged
        assert client(tmp_path / "b").installation_id == first


def test_another_product_another_id(tmp_path: Path) -> None:
    assert (
        client(tmp_path, "cad-pro").installation_id != client(tmp_path, "cad-lite").installation_id
    )


def test_another_machine_another_id(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.write_text("3d1219c7c4c5404aaa1f6d2a48adfda4\n")
    two.write_text("9a0b7e52d1c84b3f8e6a2c0d4f1e7b35\n")
    first, second = machine_identity((one,)), machine_identity((two,))
    assert first == "3d1219c7c4c5404aaa1f6d2a48adfda4"
    assert derive_installation_id(first, "cad-pro") != derive_installation_id(second, "cad-pro")  # type: ignore[arg-type]
    # systemd's first-boot placeholder and an empty file are no identity
    (tmp_path / "blank").write_text("uninitialized\n")
    assert machine_identity((tmp_path / "blank", two)) == "9a0b7e52d1c84b3f8e6a2c0d4f1e7b35"
    assert machine_identity((tmp_path / "missing",)) is None


def test_fallback_identity_when_the_machine_has_none(tmp_path: Path) -> None:
    from licclient._fingerprint import _fallback_identity

    state_dir = tmp_path / "state"
    made = _fallback_identity(state_dir)
    assert _fallback_identity(state_dir) == made and len(made) == 32
    assert stat.S_IMODE((state_dir / "machine-id").stat().st_mode) == 0o600


def test_an_override_must_be_a_valid_installation_id(tmp_path: Path) -> None:
    ok_id = LicenseClient(
        "https://lic.example.com",
        product="cad-pro",
        public_keys=KEYS,
        state_dir=tmp_path,
        installation_id="container-7f3a",
    )
    assert ok_id.installation_id == "container-7f3a"
    for bad in ("short", "has spaces in it", "x" * 129, "slash/es-are-out"):
        with pytest.raises(ValueError):
            LicenseClient(
                "https://lic.example.com",
                product="cad-pro",
                public_keys=KEYS,
                state_dir=tmp_path,
                installation_id=bad,
            )


def test_the_raw_identity_never_reaches_the_server(
    sdk: Sdk, factory: Factory, staff: httpx.Client, state_dir: Path
) -> None:
    lic = factory.license()
    c = sdk(lic.product, installation_id=None)  # derived, as in a product
    c.activate(license_key=lic.key)
    c.checkin()

    identity = this_machine(state_dir)
    seen = json.dumps(ok(staff.get(f"/api/v1/licenses/{lic.id}/activations?state=all")))
    seen += json.dumps(ok(staff.get(f"/api/v1/licenses/{lic.id}/events")))
    assert c.installation_id in seen
    assert identity not in seen and identity.upper() not in seen
