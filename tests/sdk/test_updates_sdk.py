"""The Python SDK's update check and download against a real licserver
(gunicorn): the update this licence may have, a download that resumes, and
files or manifests altered on the way refused before anything lands."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from licclient import CertificateInvalid, LicenseClient, LicenseError, Update

from tests.sdk.tamper import TamperingProxy, flip_last_download_byte, forge_update
from tests.support.factory import Factory
from tests.updates.helpers import installer

pytestmark = pytest.mark.e2e

Sdk = Callable[..., LicenseClient]


def test_check_and_download(
    sdk: Sdk, factory: Factory, staff: httpx.Client, tmp_path: Path
) -> None:
    lic = factory.license()
    data = installer(staff, lic.product)
    client = sdk(lic.product)
    client.activate(license_key=lic.key)

    update = client.check_for_update("1.0.0", platform="windows")
    assert isinstance(update, Update)
    assert (update.version, update.channel, update.platform) == ("1.2.0", "stable", "windows")
    assert update.sha256 == hashlib.sha256(data).hexdigest() and update.size == len(data)
    assert client.check_for_update("1.0.0").version == "1.1.0"  # type: ignore[union-attr]
    beta = client.check_for_update("1.2.0", "beta", platform="windows")
    assert beta is not None and beta.version == "2.0.0-beta.1"
    assert client.check_for_update("1.2.0", platform="windows") is None

    target = tmp_path / "setup-1.2.0.exe"
    assert update.download(target) == target
    assert target.read_bytes() == data
    assert not (tmp_path / "setup-1.2.0.exe.part").exists()

    with pytest.raises(LicenseError) as err:
        client.check_for_update("one point oh")
    assert err.value.code == "VALIDATION_FAILED"


def test_download_resumes_a_partial_file(
    sdk: Sdk,
    factory: Factory,
    staff: httpx.Client,
    tmp_path: Path,
    proxy: Callable[..., TamperingProxy],
) -> None:
    lic = factory.license()
    data = installer(staff, lic.product)
    p = proxy(lambda path, body: body)
    client = sdk(lic.product, server_url=p.url)
    client.activate(license_key=lic.key)
    update = client.check_for_update("1.1.0", platform="windows")
    assert update is not None
    target = tmp_path / "app.exe"

    # The line drops mid-file: the SDK asks again for the rest only.
    p.cut_path, p.cut_after = "/updates/download/", len(data) // 3
    assert update.download(target) == target
    assert target.read_bytes() == data
    assert 0 < p.resumed_at() <= len(data) // 3

    # A .part left by an earlier run (the product was closed): resumed too.
    (tmp_path / "again.exe.part").write_bytes(data[:1000])
    assert update.download(tmp_path / "again.exe").read_bytes() == data
    assert p.requests[-1][2] == "bytes=1000-"


def test_a_tampered_file_never_lands(
    sdk: Sdk,
    factory: Factory,
    staff: httpx.Client,
    tmp_path: Path,
    proxy: Callable[..., TamperingProxy],
) -> None:
    lic = factory.license()
    installer(staff, lic.product)

    p = proxy(flip_last_download_byte)
    client = sdk(lic.product, server_url=p.url)
    client.activate(license_key=lic.key)
    update = client.check_for_update("1.1.0", platform="windows")
    assert update is not None and update.download_url.startswith(p.url)
    target = tmp_path / "app.exe"
    with pytest.raises(CertificateInvalid) as err:
        update.download(target)
    assert err.value.code == "CERTIFICATE_INVALID"
    assert not target.exists() and not (tmp_path / "app.exe.part").exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [("manifest", "0" * 64), ("sha256", "0" * 64), ("version", "9.9.9"), ("size", 1)],
)
def test_a_tampered_manifest_is_refused(
    sdk: Sdk,
    factory: Factory,
    staff: httpx.Client,
    proxy: Callable[..., TamperingProxy],
    field: str,
    value: object,
) -> None:
    lic = factory.license()
    installer(staff, lic.product)
    p = proxy(forge_update(field, value))
    client = sdk(lic.product, server_url=p.url)
    client.activate(license_key=lic.key)
    with pytest.raises(CertificateInvalid) as err:
        client.check_for_update("1.1.0", platform="windows")
    assert err.value.code == "CERTIFICATE_INVALID"
