"""The SDK refuses an answer that is not the server's (API.md "Signed
answers"): through a loopback fake server that answers with a valid-looking
body but no signature, a wrong one, a replayed answer to another nonce, or a
correctly signed answer with one body byte flipped, every call raises
CertificateInvalid and nothing is stored or changed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from licclient import CertificateInvalid, LicenseClient, RateLimited, ServerUnavailable

from tests.live import LiveServer
from tests.sdk.fake_server import FakeServer
from tests.support.factory import Factory

FORGERIES = ["unsigned", "wrong", "replay", "flip"]


@pytest.fixture
def fake(server: LiveServer) -> Iterator[FakeServer]:
    f = FakeServer(server.url)
    yield f
    f.stop()


@pytest.fixture
def through_fake(
    fake: FakeServer, sdk: Callable[..., LicenseClient]
) -> Callable[..., LicenseClient]:
    def make(product: str, **kw: object) -> LicenseClient:
        return sdk(product, server_url=fake.url, **kw)

    return make


def files(state_dir: Path) -> dict[str, bytes]:
    if not state_dir.exists():
        return {}
    return {
        str(p.relative_to(state_dir)): p.read_bytes() for p in state_dir.rglob("*") if p.is_file()
    }


def test_each_request_attempt_sends_a_fresh_nonce(
    fake: FakeServer, through_fake: Callable[..., LicenseClient], factory: Factory
) -> None:
    lic = factory.license(seats=1)
    client = through_fake(lic.product)
    client.activate(license_key=lic.key)
    client.checkin()
    nonces = [n for _, _, n in fake.requests]
    assert len(nonces) == 2 and all(nonces) and len(set(nonces)) == 2


@pytest.mark.parametrize("mode", FORGERIES)
def test_a_forged_activation_answer_is_refused_and_nothing_stored(
    fake: FakeServer,
    through_fake: Callable[..., LicenseClient],
    factory: Factory,
    state_dir: Path,
    mode: str,
) -> None:
    lic = factory.license(seats=1)
    client = through_fake(lic.product)
    before = files(state_dir)
    fake.mode = mode
    with pytest.raises(CertificateInvalid) as caught:
        client.activate(license_key=lic.key)
    assert caught.value.code == "CERTIFICATE_INVALID"
    assert files(state_dir) == before
    assert client.status().code == "NOT_ACTIVATED"


@pytest.mark.parametrize("mode", FORGERIES)
def test_a_forged_checkin_or_deactivation_answer_changes_nothing(
    fake: FakeServer,
    through_fake: Callable[..., LicenseClient],
    factory: Factory,
    state_dir: Path,
    mode: str,
) -> None:
    lic = factory.license(seats=1)
    client = through_fake(lic.product)
    client.activate(license_key=lic.key)
    before = files(state_dir)
    fake.mode = mode
    with pytest.raises(CertificateInvalid):
        client.checkin()
    with pytest.raises(CertificateInvalid):
        client.deactivate()
    assert files(state_dir) == before
    assert client.status().valid


def test_a_forged_refusal_is_not_believed(
    fake: FakeServer, through_fake: Callable[..., LicenseClient], factory: Factory, state_dir: Path
) -> None:
    """A fake server telling the SDK its licence was revoked (unsigned)."""
    lic = factory.license(seats=1)
    client = through_fake(lic.product)
    client.activate(license_key=lic.key)
    before = files(state_dir)
    fake.mode, fake.forged_status = "forge", 403
    fake.forged_body = {
        "type": "about:blank",
        "title": "Licence revoked",
        "status": 403,
        "code": "LICENSE_REVOKED",
        "detail": "This licence was revoked.",
    }
    with pytest.raises(CertificateInvalid):
        client.checkin()
    assert files(state_dir) == before
    assert client.status().valid


@pytest.mark.parametrize(("status", "error"), [(503, ServerUnavailable), (429, RateLimited)])
def test_unsigned_429_and_5xx_are_retried_and_end_as_usual(
    fake: FakeServer,
    through_fake: Callable[..., LicenseClient],
    factory: Factory,
    state_dir: Path,
    status: int,
    error: type[Exception],
) -> None:
    lic = factory.license(seats=1)
    client = through_fake(lic.product, retries=2)
    client.activate(license_key=lic.key)
    before = files(state_dir)
    fake.mode, fake.forged_status = "forge", status
    fake.forged_body = {"status": status, "code": "X", "title": "x", "detail": "x"}
    fake.requests.clear()
    with pytest.raises(error):
        client.checkin()
    assert len(fake.requests) == 3  # retried
    assert files(state_dir) == before
