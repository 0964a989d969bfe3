"""The Python SDK's update check and download against a real licserver
(gunicorn): the update this licence may have, a download that resumes, and
files or manifests altered on the way refused before anything lands."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from licclient import CertificateInvalid, LicenseClient, LicenseError, Update

from tests.live import LiveServer
from tests.sdk.tamper import Alter, TamperingProxy
from tests.support.factory import Factory
from tests.updates.helpers import payload, release

pytestmark = pytest.mark.e2e

Sdk = Callable[..., LicenseClient]


@pytest.fixture
def proxy(server: LiveServer) -> Iterator[Callable[[Alter], TamperingProxy]]:
    made: list[TamperingProxy] = []

    def start(alter: Alter) -> TamperingProxy:
        made.append(TamperingProxy(server.url, alter))
        return made[-1]

    yield start
    for p in made:
        p.close()


def _installer(staff: httpx.Client, product: str) -> bytes:
    data = payload("1.2.0", "windows") * 20
    release(staff, product, "1.1.0", days_ago=3)
    release(staff, product, "1.2.0", platform="windows", days_ago=1, data=data)
    release(staff, product, "2.0.0-beta.1", channel="beta", platform="windows")
    return data


def test_check_and_download(
    sdk: Sdk, factory: Factory, staff: httpx.Client, tmp_path: Path
) -> None:
    lic = factory.license()
    data = _installer(staff, lic.product)
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
    data = _installer(staff, lic.product)
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
    downloads = [r for r in p.requests if "/updates/download/" in r[1]]
    assert len(downloads) == 2 and downloads[0][2] is None
    start = int((downloads[1][2] or "").removeprefix("bytes=").rstrip("-"))
    assert 0 < start <= len(data) // 3

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
    _installer(staff, lic.product)

    def flip(path: str, body: bytes) -> bytes:
        if "/updates/download/" in path:
            return body[:-1] + bytes([body[-1] ^ 1])
        return body

    p = proxy(flip)
    client = sdk(lic.product, server_url=p.url)
    client.activate(license_key=lic.key)
    update = client.check_for_update("1.1.0", platform="windows")
    assert update is not None and update.download_url.startswith(p.url)
    target = tmp_path / "app.exe"
    with pytest.raises(CertificateInvalid) as err:
        update.download(target)
    assert err.value.code == "CERTIFICATE_INVALID"
    assert not target.exists() and not (tmp_path / "app.exe.part").exists()


def _forge(field: str, value: object) -> Alter:
    def alter(path: str, body: bytes) -> bytes:
        if path != "/api/v1/updates":
            return body
        doc = json.loads(body)
        if field == "manifest":
            head, payload_b64, sig = doc["update"]["manifest"].split(".")
            claims = json.loads(base64.urlsafe_b64decode(payload_b64 + "=="))
            claims["sha256"] = value
            forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
            doc["update"]["manifest"] = f"{head}.{forged}.{sig}"
        else:
            doc["update"][field] = value
        return json.dumps(doc).encode()

    return alter


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
    _installer(staff, lic.product)
    p = proxy(_forge(field, value))
    client = sdk(lic.product, server_url=p.url)
    client.activate(license_key=lic.key)
    with pytest.raises(CertificateInvalid) as err:
        client.check_for_update("1.1.0", platform="windows")
    assert err.value.code == "CERTIFICATE_INVALID"
