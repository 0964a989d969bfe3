"""The C SDK's lc_check_update and lc_update_download against a real licserver
(gunicorn), through its driver (run under valgrind where it is installed): the
update this licence may have, downloaded and verified; none; a download that
resumes; a file or a manifest altered on the way (a loopback proxy) refused,
with nothing landing under the file's name."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.sdk.tamper import Alter, TamperingProxy, flip_last_download_byte, forge_update
from tests.sdk_c.helpers import Drive
from tests.support.factory import Factory
from tests.updates.helpers import installer

pytestmark = pytest.mark.e2e

Proxy = Callable[[Alter], TamperingProxy]


def through(drive: Drive, p: TamperingProxy, product: str, target: Path, **kw: object) -> Any:
    """check_update of 1.1.0 for windows through the proxy, downloading to target."""
    return drive(
        "check_update",
        product,
        server_url=p.url,
        current_version="1.1.0",
        platform="windows",
        download_to=str(target),
        **kw,
    )


def test_an_offered_update_is_downloaded_and_verified(
    drive: Drive, factory: Factory, staff: httpx.Client, tmp_path: Path
) -> None:
    lic = factory.license()
    data = installer(staff, lic.product)
    assert drive("activate", lic.product, license_key=lic.key)["ok"]
    target = tmp_path / "setup-1.2.0.exe"

    got = drive(
        "check_update",
        lic.product,
        current_version="1.0.0",
        platform="windows",
        download_to=str(target),
        valgrind=True,
    )
    assert got["ok"], got["error"]
    update = got["update"]
    assert (update["version"], update["channel"], update["platform"]) == (
        "1.2.0",
        "stable",
        "windows",
    )
    assert update["size"] == len(data) and update["arch"] == ""
    assert target.read_bytes() == data
    assert not (tmp_path / "setup-1.2.0.exe.part").exists()

    beta = drive(
        "check_update", lic.product, current_version="1.2.0", channel="beta", platform="windows"
    )
    assert beta["ok"] and beta["update"]["version"] == "2.0.0-beta.1"
    anywhere = drive("check_update", lic.product, current_version="1.0.0")
    assert anywhere["ok"] and anywhere["update"]["version"] == "1.1.0"


def test_no_update_and_an_unreadable_version(
    drive: Drive, factory: Factory, staff: httpx.Client
) -> None:
    lic = factory.license()
    installer(staff, lic.product)
    assert drive("activate", lic.product, license_key=lic.key)["ok"]
    none = drive(
        "check_update", lic.product, current_version="1.2.0", platform="windows", valgrind=True
    )
    assert none["ok"] and none["update"] is None and none["error"] is None
    bad = drive("check_update", lic.product, current_version="one point oh")
    assert not bad["ok"] and bad["error"]["code"] == "VALIDATION_FAILED"
    assert bad["status"]["code"] == "VALID"  # the activation is untouched


def test_the_download_resumes_a_partial_file(
    drive: Drive, factory: Factory, staff: httpx.Client, proxy: Proxy, tmp_path: Path
) -> None:
    lic = factory.license()
    data = installer(staff, lic.product)
    p = proxy(lambda path, body: body)
    assert drive("activate", lic.product, server_url=p.url, license_key=lic.key)["ok"]
    target = tmp_path / "app.exe"

    # The line drops mid-file: the SDK asks again for the rest only.
    p.cut_path, p.cut_after = "/updates/download/", len(data) // 3
    got = through(drive, p, lic.product, target)
    assert got["ok"], got["error"]
    assert target.read_bytes() == data
    assert 0 < p.resumed_at() <= len(data) // 3

    # A .part left by an earlier run (the product was closed): resumed too.
    (tmp_path / "again.exe.part").write_bytes(data[:1000])
    again = through(drive, p, lic.product, tmp_path / "again.exe")
    assert again["ok"], again["error"]
    assert (tmp_path / "again.exe").read_bytes() == data
    assert p.requests[-1][2] == "bytes=1000-"


def _one_byte_more(path: str, body: bytes) -> bytes:
    return body + b"x" if "/updates/download/" in path else body


@pytest.mark.parametrize("alter", [flip_last_download_byte, _one_byte_more])
def test_a_tampered_file_is_refused_and_never_lands(
    drive: Drive,
    factory: Factory,
    staff: httpx.Client,
    proxy: Proxy,
    tmp_path: Path,
    alter: Alter,
) -> None:
    lic = factory.license()
    installer(staff, lic.product)
    p = proxy(alter)
    assert drive("activate", lic.product, server_url=p.url, license_key=lic.key)["ok"]
    target = tmp_path / "app.exe"
    target.write_bytes(b"the version installed now")
    got = through(drive, p, lic.product, target, valgrind=True)
    assert not got["ok"] and got["error"]["code"] == "CERTIFICATE_INVALID"
    assert got["update"]["download_url"].startswith(p.url)
    assert target.read_bytes() == b"the version installed now"
    assert not (tmp_path / "app.exe.part").exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [("manifest", "0" * 64), ("sha256", "0" * 64), ("version", "9.9.9"), ("size", 1)],
)
def test_a_tampered_manifest_is_refused(
    drive: Drive,
    factory: Factory,
    staff: httpx.Client,
    proxy: Proxy,
    tmp_path: Path,
    field: str,
    value: object,
) -> None:
    lic = factory.license()
    installer(staff, lic.product)
    p = proxy(forge_update(field, value))
    assert drive("activate", lic.product, server_url=p.url, license_key=lic.key)["ok"]
    got = through(drive, p, lic.product, tmp_path / "app.exe")
    assert not got["ok"] and got["error"]["code"] == "CERTIFICATE_INVALID"
    assert got["update"] is None and not list(tmp_path.glob("app.exe*"))
    assert not any("/updates/download/" in r[1] for r in p.requests)
