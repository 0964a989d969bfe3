"""Every error the server answers reaches the product as its exception, with
the server's code and detail; what is retried and what is not; 429 with
Retry-After from a server with its rate limits on; 503 from a server without
its database."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from licclient import (
    CertificateInvalid,
    Deactivated,
    DeactivationLimitReached,
    InvalidCredentials,
    LicenseClient,
    LicenseError,
    LicenseExpired,
    LicenseRevoked,
    LicenseSuspended,
    RateLimited,
    SeatLimitReached,
    ServerUnavailable,
    TrialAlreadyUsed,
)
from licclient._http import parse_retry_after
from licclient.errors import error_for

from licserver.domain import errors as server_errors
from tests.live import LiveServer
from tests.support import loopback
from tests.support.factory import Factory, IssuedLicense
from tests.support.sdk import fetch_public_keys, license_view, ok

pytestmark = pytest.mark.e2e

Sdk = Callable[..., LicenseClient]
COMPANY_PASSWORD = "correct horse battery"


def retry_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if hasattr(r, "licclient_retry_delay")]


def server_answer(url: str, body: dict[str, Any]) -> httpx.Response:
    """The same activation request, sent without the SDK: what the server says."""
    return loopback.post(f"{url}/api/v1/activations", json=body, timeout=10)


def assert_carries(exc: LicenseError, answer: httpx.Response) -> None:
    problem = answer.json()
    assert exc.status == answer.status_code == problem["status"]
    assert exc.code == problem["code"]
    assert exc.detail == problem["detail"] and str(exc) == problem["detail"]


# Each case: how to make the licence, the SDK call's credentials or options,
# the exception class and the code the server answers with.
def _expired(factory: Factory) -> IssuedLicense:
    return factory.license(expires_at=datetime.now(UTC) - timedelta(days=1))


ACTIVATION_REFUSALS: dict[str, tuple[Callable[..., Any], str, type[LicenseError], str, int]] = {
    "wrong password": (
        lambda f: f.license(),
        "wrong-password",
        InvalidCredentials,
        "INVALID_CREDENTIALS",
        401,
    ),
    "suspended": (lambda f: f.license(), "suspend", LicenseSuspended, "LICENSE_SUSPENDED", 403),
    "revoked": (lambda f: f.license(), "revoke", LicenseRevoked, "LICENSE_REVOKED", 403),
    "expired": (_expired, "", LicenseExpired, "LICENSE_EXPIRED", 403),
    "seats full": (
        lambda f: f.license(seats=1),
        "fill",
        SeatLimitReached,
        "SEAT_LIMIT_REACHED",
        409,
    ),
    "too long a machine name": (
        lambda f: f.license(),
        "long-name",
        LicenseError,
        "VALIDATION_FAILED",
        422,
    ),
    "too large a request": (
        lambda f: f.license(),
        "huge-name",
        LicenseError,
        "PAYLOAD_TOO_LARGE",
        413,
    ),
}


@pytest.mark.parametrize(
    ("make", "twist", "error", "code", "status"),
    ACTIVATION_REFUSALS.values(),
    ids=ACTIVATION_REFUSALS.keys(),
)
def test_activation_refusals_raise_their_exception_with_the_servers_detail(
    sdk: Sdk,
    factory: Factory,
    staff: httpx.Client,
    server: LiveServer,
    caplog: pytest.LogCaptureFixture,
    make: Callable[[Factory], IssuedLicense],
    twist: str,
    error: type[LicenseError],
    code: str,
    status: int,
) -> None:
    lic = make(factory)
    if twist in ("suspend", "revoke"):
        ok(staff.post(f"/api/v1/licenses/{lic.id}/{twist}", json={}))
    if twist == "fill":  # another machine holds the one seat
        other = {"license_key": lic.key, "installation_id": "other-machine", "machine_name": "X"}
        assert server_answer(server.url, other).status_code == 201
    password = "WRONG-WRONG-WRONG-WRONG" if twist == "wrong-password" else lic.activation_password
    name = {"long-name": "x" * 300, "huge-name": "x" * 70_000}.get(twist, "PC-1")
    client = sdk(lic.product, retries=3)
    caplog.set_level(logging.INFO, logger="licclient")

    with pytest.raises(error) as caught:
        client.activate(license_id=lic.id, activation_password=password, machine_name=name)

    assert type(caught.value) is error
    body = {
        "license_id": lic.id,
        "activation_password": password,
        "installation_id": client.installation_id,
        "machine_name": name,
    }
    assert_carries(caught.value, server_answer(server.url, body))
    assert caught.value.code == code and caught.value.status == status
    assert not retry_records(caplog)  # 4xx: never retried
    assert client.status().code == "NOT_ACTIVATED"
    if code == "VALIDATION_FAILED":
        assert "machine_name" in caught.value.errors


def test_company_credentials_for_a_product_the_customer_lacks(
    sdk: Sdk, factory: Factory, server: LiveServer
) -> None:
    customer = factory.customer(company_password=COMPANY_PASSWORD)
    factory.license(customer=customer)
    client = sdk(factory.product())

    with pytest.raises(LicenseError) as caught:
        client.activate(customer_number=customer, company_password=COMPANY_PASSWORD)

    assert type(caught.value) is LicenseError
    assert caught.value.code == "NOT_FOUND" and caught.value.status == 404
    body = {
        "customer_number": customer,
        "company_password": COMPANY_PASSWORD,
        "product": client.product,
        "installation_id": client.installation_id,
        "machine_name": "PC",
    }
    assert_carries(caught.value, server_answer(server.url, body))


def test_checkin_refusals_carry_the_servers_detail(
    sdk: Sdk, factory: Factory, staff: httpx.Client, server: LiveServer, state_dir: Path
) -> None:
    lic = factory.license()
    client = sdk(lic.product)
    aid = client.activate(license_key=lic.key).activation_id
    path = state_dir / f"{lic.product}.json"
    good = json.loads(path.read_text())
    path.write_text(json.dumps(dict(good, activation_token="not-the-token")))

    with pytest.raises(InvalidCredentials) as wrong:
        client.checkin()
    raw = loopback.post(
        f"{server.url}/api/v1/activations/{aid}/checkin",
        json={"activation_token": "not-the-token"},
    )
    assert_carries(wrong.value, raw)
    assert client.status().valid  # an ambiguous refusal keeps the activation

    path.write_text(json.dumps(good))
    ok(staff.post(f"/api/v1/activations/{aid}/deactivate", json={"reason": "gone"}))
    with pytest.raises(Deactivated) as gone:
        client.checkin()
    raw = loopback.post(
        f"{server.url}/api/v1/activations/{aid}/checkin",
        json={"activation_token": good["activation_token"]},
    )
    assert_carries(gone.value, raw)


def test_every_server_error_code_has_its_exception() -> None:
    """The server's whole error tree, as problem+json bodies, through the SDK's one mapping."""
    own_class = {
        "INVALID_CREDENTIALS": InvalidCredentials,
        "SEAT_LIMIT_REACHED": SeatLimitReached,
        "LICENSE_EXPIRED": LicenseExpired,
        "LICENSE_SUSPENDED": LicenseSuspended,
        "LICENSE_REVOKED": LicenseRevoked,
        "DEACTIVATED": Deactivated,
        "DEACTIVATION_LIMIT_REACHED": DeactivationLimitReached,
        "TRIAL_ALREADY_USED": TrialAlreadyUsed,
        "RATE_LIMITED": RateLimited,
        "SERVICE_UNAVAILABLE": ServerUnavailable,
    }
    seen = set()
    for cls in server_errors.ALL_ERRORS:
        body = {"type": "about:blank", "title": cls.title, "status": cls.status}
        body |= {"code": cls.code, "detail": f"why: {cls.code}"}
        exc = error_for(cls.status, body, retry_after=7 if cls.status == 429 else None)
        assert type(exc) is own_class.get(cls.code, LicenseError), cls.code
        assert (exc.code, exc.detail, exc.status) == (cls.code, f"why: {cls.code}", cls.status)
        seen.add(cls.code)
    assert set(own_class) <= seen
    limited = error_for(429, {"code": "RATE_LIMITED", "detail": "slow"}, retry_after=7)
    assert isinstance(limited, RateLimited) and limited.retry_after == 7
    # not our server's answer (a proxy's HTML page): judged by the status
    assert type(error_for(502, None)) is ServerUnavailable
    assert type(error_for(429, None)) is RateLimited
    assert type(error_for(404, None)) is LicenseError


def test_an_unreachable_server_is_retried_with_backoff_then_unavailable(
    sdk: Sdk, factory: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        port = sock.getsockname()[1]
    # nothing listens on the port any more
    lic = factory.license()
    client = sdk(lic.product, server_url=f"http://127.0.0.1:{port}", retries=2)
    caplog.set_level(logging.INFO, logger="licclient")

    with pytest.raises(ServerUnavailable) as caught:
        client.activate(license_key=lic.key)

    assert caught.value.code is None and caught.value.status is None
    assert isinstance(caught.value.__cause__, Exception)
    first, second = (r.licclient_retry_delay for r in retry_records(caplog))  # type: ignore[attr-defined]
    assert 0.25 <= first <= 0.5 and 0.5 <= second <= 1.0  # exponential, jittered
    assert client.status().code == "NOT_ACTIVATED"


def test_an_answer_that_is_not_the_licence_servers(
    sdk: Sdk, factory: Factory, server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    lic = factory.license()
    # a wrong base URL: the server answers with a plain 404 page, not problem+json
    client = sdk(lic.product, server_url=f"{server.url}/wrong/prefix", retries=3)
    caplog.set_level(logging.INFO, logger="licclient")

    with pytest.raises(CertificateInvalid) as caught:
        client.activate(license_key=lic.key)

    # an unsigned answer (API.md "Signed answers"): not the licence server's word
    assert caught.value.status == 404 and caught.value.code == "CERTIFICATE_INVALID"
    assert "404" in caught.value.detail and "server URL" in caught.value.detail
    assert not retry_records(caplog)
    assert client.status().code == "NOT_ACTIVATED"


def test_parse_retry_after() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now=1445412500.0) == 10.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412500.0) == 0.0


# ---- servers of their own ----------------------------------------------------


def spend_allowance(url: str) -> float:
    """Requests until the per-IP limit answers 429; its Retry-After."""
    for _ in range(20):
        r = loopback.get(f"{url}/api/v1/keys", timeout=10)
        if r.status_code == 429:
            return float(r.headers["Retry-After"])
    raise AssertionError("the per-IP limit never answered 429")


def test_429_with_retry_after_is_waited_for_then_retried(
    start_server: Callable[..., LiveServer],
    sdk: Sdk,
    factory: Factory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    limited = start_server(
        workers=1,
        env={"LICSERVER_RATE_LIMITS": "on", "LICSERVER_CLIENT_RATE_LIMIT": "2 per 2 seconds"},
    )
    keys = fetch_public_keys(limited.url)
    lic = factory.license()
    caplog.set_level(logging.INFO, logger="licclient")

    spend_allowance(limited.url)
    impatient = sdk(lic.product, server_url=limited.url, public_keys=keys, retries=0)
    with pytest.raises(RateLimited) as caught:
        impatient.activate(license_key=lic.key)
    exc = caught.value
    assert exc.code == "RATE_LIMITED" and exc.status == 429 and exc.detail
    # the window's real end, not a default minute
    assert exc.retry_after is not None and 1 <= exc.retry_after <= 3
    assert impatient.status().code == "NOT_ACTIVATED"

    asked = spend_allowance(limited.url)
    patient = sdk(lic.product, server_url=limited.url, public_keys=keys, retries=3)
    status = patient.activate(license_key=lic.key)

    assert status.valid
    first_wait = next(r for r in retry_records(caplog))
    assert first_wait.licclient_retry_reason == "RATE_LIMITED"  # type: ignore[attr-defined]
    # Retry-After, plus a little jitter
    assert asked - 1 <= first_wait.licclient_retry_delay <= asked + 1  # type: ignore[attr-defined]


def test_a_long_retry_after_raises_at_once(
    start_server: Callable[..., LiveServer],
    sdk: Sdk,
    factory: Factory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    budget = start_server(
        workers=1,
        env={"LICSERVER_RATE_LIMITS": "on", "LICSERVER_FAILED_ATTEMPTS_LIMIT": "2"},
    )
    lic = factory.license()
    client = sdk(
        lic.product, server_url=budget.url, public_keys=fetch_public_keys(budget.url), retries=3
    )
    for _ in range(2):
        with pytest.raises(InvalidCredentials):
            client.activate(license_id=lic.id, activation_password="WRONG-WRONG-WRONG")
    caplog.set_level(logging.INFO, logger="licclient")

    # the failed-attempt budget is spent for an hour: right passwords wait too
    with pytest.raises(RateLimited) as caught:
        client.activate(license_id=lic.id, activation_password=lic.activation_password)

    assert caught.value.code == "RATE_LIMITED" and caught.value.detail
    assert caught.value.retry_after is not None and 60 < caught.value.retry_after <= 3600
    assert not retry_records(caplog)  # not waited for: that is the product's decision


def test_a_server_without_its_database_is_unavailable(
    start_server: Callable[..., LiveServer],
    sdk: Sdk,
    factory: Factory,
    tmp_path: Path,
    staff: httpx.Client,
) -> None:
    down = start_server(
        workers=1,
        env={"LICSERVER_DATABASE_URL": f"sqlite:///{tmp_path}/no/such/folder/licserver.db"},
        ready_path="/healthz",
    )
    lic = factory.license()
    client = sdk(lic.product, server_url=down.url, retries=0)

    with pytest.raises(ServerUnavailable) as caught:
        client.activate(license_key=lic.key)

    raw = loopback.post(
        f"{down.url}/api/v1/activations",
        json={"license_key": lic.key, "installation_id": "abcdefgh", "machine_name": "PC"},
    )
    assert_carries(caught.value, raw)
    assert caught.value.code == "SERVICE_UNAVAILABLE" and caught.value.status == 503
    assert raw.headers["Retry-After"] == "5"
    assert license_view(staff, lic.id)["seats_used"] == 0

    # with the activation made elsewhere, the unavailable server is tolerated offline
    sdk(lic.product).activate(license_key=lic.key)
    later = sdk(lic.product, server_url=down.url, retries=0)
    assert later.auto_checkin(within=timedelta(days=30)).valid
