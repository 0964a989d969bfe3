"""The kit's scenarios: every driver against a live gunicorn (the kit's own
database), a losing proxy and canned failing servers."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask import Flask

from licserver.extensions import db
from licserver.runtime import context
from licserver.services import keys as key_service
from tests.conformance.helpers import ROOT, Driver, Kit
from tests.live import LiveServer
from tests.sdk.proxy import LosingProxy
from tests.support.factory import Factory
from tests.support.sdk import activations, fetch_public_keys, ok

pytestmark = pytest.mark.e2e

Req = Callable[..., dict[str, Any]]
COMPANY = "correct horse battery"


@pytest.mark.parametrize("kind", ["license_key", "license_id", "customer_number"])
def test_activate_by_each_credential_kind(kit: Kit, factory: Factory, kind: str) -> None:
    customer = factory.customer(company_password=COMPANY)
    lic = factory.license(customer=customer, features=["export"])
    args = {
        "license_key": {"license_key": lic.key},
        "license_id": {"license_id": lic.id, "activation_password": lic.activation_password},
        "customer_number": {"customer_number": customer, "company_password": COMPANY},
    }[kind]
    answer = kit("activate", lic.product, args=args)
    assert answer["ok"], answer
    assert answer["status"]["code"] == "VALID" and answer["status"]["license_id"] == lic.id
    assert answer["status"]["features"] == ["export"]
    feature = kit("has_feature", lic.product, args={"name": "export"})
    assert feature["has_feature"] is True
    missing = kit("has_feature", lic.product, args={"name": "x"})
    assert missing["has_feature"] is False


def test_reactivation_takes_no_second_seat_and_the_seat_limit_holds(
    kit: Kit, factory: Factory, staff: httpx.Client
) -> None:
    lic = factory.license(seats=1)
    args = {"license_key": lic.key}
    for _ in range(2):
        assert kit("activate", lic.product, args=args)["ok"]
    assert len(activations(staff, lic.id)) == 1
    refused = kit("activate", lic.product, args=args, other=True)
    assert not refused["ok"]
    assert refused["error"]["code"] == "SEAT_LIMIT_REACHED"
    assert refused["error"]["http_status"] == 409
    assert refused["status"]["code"] == "NOT_ACTIVATED"


def test_status_is_offline_with_the_server_stopped(
    driver: Driver,
    kit_request: Req,
    start_server: Callable[..., LiveServer],
    factory: Factory,
    tmp_path: Path,
) -> None:
    own = start_server(workers=1)
    lic = factory.license()
    kit = Kit(driver, kit_request, own.url, fetch_public_keys(own.url), tmp_path)
    assert kit("activate", lic.product, args={"license_key": lic.key})["ok"]
    own.stop()
    status = kit("status", lic.product)
    assert status["ok"] and status["status"]["code"] == "VALID"
    checkin = kit("checkin", lic.product, timeout_ms=500)
    assert not checkin["ok"] and checkin["error"]["code"] == "NETWORK_ERROR"
    assert checkin["error"]["http_status"] is None
    assert checkin["status"]["code"] == "VALID"  # nothing changed


def test_admin_deactivation_then_checkin(
    kit: Kit, factory: Factory, staff: httpx.Client, tmp_path: Path
) -> None:
    lic = factory.license()
    answer = kit("activate", lic.product, args={"license_key": lic.key})
    assert answer["ok"]
    (row,) = activations(staff, lic.id)
    ok(staff.post(f"/api/v1/activations/{row['id']}/deactivate", json={"reason": "lost laptop"}))
    checkin = kit("checkin", lic.product)
    assert not checkin["ok"] and checkin["error"]["code"] == "DEACTIVATED"
    assert checkin["error"]["http_status"] == 410
    assert checkin["status"]["code"] == "NOT_ACTIVATED"
    assert not (tmp_path / "state" / f"{lic.product}.json").exists()


def test_client_deactivation_frees_the_seat(
    kit: Kit, factory: Factory, staff: httpx.Client
) -> None:
    lic = factory.license(seats=1)
    args = {"license_key": lic.key}
    assert kit("activate", lic.product, args=args)["ok"]
    gone = kit("deactivate", lic.product)
    assert gone["ok"] and gone["status"]["code"] == "NOT_ACTIVATED"
    assert activations(staff, lic.id) == []
    assert kit("activate", lic.product, args=args, other=True)["ok"]


def test_a_lost_answer_after_commit_takes_one_seat(
    kit: Kit, factory: Factory, staff: httpx.Client
) -> None:
    lic = factory.license(seats=2)
    proxy = LosingProxy(kit.url, lose=1)
    try:
        answer = kit("activate", lic.product, url=proxy.url, args={"license_key": lic.key})
    finally:
        proxy.close()
    assert answer["ok"], answer
    assert proxy.lost_answers and answer["status"]["code"] == "VALID"
    assert len(activations(staff, lic.id)) == 1


def test_429_with_a_short_retry_after_is_retried_then_rate_limited(
    driver: Driver, kit_request: Req, stub_server: Callable[..., Any]
) -> None:
    body = {"status": 429, "code": "RATE_LIMITED", "detail": "slow down"}
    stub = stub_server(429, {"Retry-After": "0"}, body)
    answer = driver(kit_request("activate", stub.url, KEYS, product="kit-product", args=LK))
    assert not answer["ok"] and answer["error"]["code"] == "RATE_LIMITED"
    assert answer["error"]["http_status"] == 429
    assert stub.hits == 4  # 4 attempts: 3 retries


def test_a_long_retry_after_is_rate_limited_at_once(
    driver: Driver, kit_request: Req, stub_server: Callable[..., Any]
) -> None:
    body = {"status": 429, "code": "RATE_LIMITED", "detail": "later"}
    stub = stub_server(429, {"Retry-After": "120"}, body)
    answer = driver(kit_request("activate", stub.url, KEYS, product="kit-product", args=LK))
    assert answer["error"]["code"] == "RATE_LIMITED" and stub.hits == 1


def test_other_4xx_are_never_retried(
    driver: Driver, kit_request: Req, stub_server: Callable[..., Any]
) -> None:
    body = {"status": 401, "code": "INVALID_CREDENTIALS", "detail": "no"}
    stub = stub_server(401, {}, body)
    answer = driver(kit_request("activate", stub.url, KEYS, product="kit-product", args=LK))
    assert answer["error"]["code"] == "INVALID_CREDENTIALS" and stub.hits == 1
    assert answer["error"]["http_status"] == 401


def test_unreachable_server_is_a_network_error(driver: Driver, kit_request: Req) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
    answer = driver(kit_request("activate", url, KEYS, product="kit-product", args=LK))
    assert not answer["ok"] and answer["error"]["code"] == "NETWORK_ERROR"
    assert answer["error"]["http_status"] is None
    assert answer["status"]["code"] == "NOT_ACTIVATED"


def test_key_rotation(
    driver: Driver,
    kit_request: Req,
    app: Flask,
    start_server: Callable[..., LiveServer],
    factory: Factory,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    database = request.getfixturevalue("test_database")
    # one server across the rotation: it looks its keys up again on every
    # signature (KEY_REFRESH_SECONDS=0), as servers do within that interval
    after = start_server(workers=1, env={"LICSERVER_KEY_REFRESH_SECONDS": "0"})
    lic = factory.license()
    old_keys = fetch_public_keys(after.url)
    args = {"license_key": lic.key}
    assert Kit(driver, kit_request, after.url, old_keys, tmp_path)(
        "activate", lic.product, args=args
    )["ok"]
    new, _ = key_service.rotate(context(), database.keys_dir, "")
    db.session.commit()
    both = fetch_public_keys(after.url)
    assert new.kid in both and set(old_keys) <= set(both)
    only_new = {new.kid: both[new.kid]}

    kept = driver(kit_request("status", after.url, both, product=lic.product))
    assert kept["status"]["code"] == "VALID"
    refused = driver(kit_request("status", after.url, only_new, product=lic.product))
    assert refused["status"]["code"] == "CERTIFICATE_INVALID"
    fresh = kit_request("activate", after.url, only_new, product=lic.product, args=args)
    fresh.update(installation_id="kit-install-0002", state_dir=str(tmp_path / "fresh"))
    answer = driver(fresh)
    assert answer["ok"] and answer["status"]["code"] == "VALID", answer


# the canned servers refuse before any key matters
KEYS = {"kit-k1": "A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg"}
LK = {"license_key": "LK1.e30.AAAA"}


# ---- forged answers (API.md "Signed answers") -------------------------------


def _kit_activation() -> dict[str, Any]:
    """A real activation answer for the kit's installation: the certificate of
    the kit's "valid" vector (kit-k1), so only the answer's signature can fail."""
    kit = json.loads((ROOT / "client_sdk/conformance/vectors.json").read_text())
    state = next(v for v in kit["vectors"] if v["name"] == "valid")["state"]
    return {
        "activation_id": state["activation_id"],
        "license_id": "L-KIT-0001",
        "installation_id": state["installation_id"],
        "machine_name": "kit machine",
        "activated_at": "2026-12-02T00:00:00Z",
        "certificate": state["certificate"],
        "activation_token": state["activation_token"],
        "warnings": [],
    }


@pytest.mark.parametrize("forge", [None, "unsigned", "wrong", "replay", "flip"])
def test_a_forged_activation_answer_is_certificate_invalid_and_nothing_stored(
    driver: Driver,
    kit_request: Req,
    stub_server: Callable[..., Any],
    tmp_path: Path,
    forge: str | None,
) -> None:
    stub = stub_server(201, {}, _kit_activation(), signed=forge != "unsigned", forge=forge)
    req = kit_request("activate", stub.url, KEYS, product="kit-product", args=LK, clock=1796200000)
    answer = driver(req)
    state = tmp_path / "state"
    if forge is None:  # the control: the same answer, signed as the server signs
        assert answer["ok"] and answer["status"]["code"] == "VALID", answer
        return
    assert not answer["ok"] and answer["error"]["code"] == "CERTIFICATE_INVALID", answer
    assert not state.exists() or not any(p.is_file() for p in state.rglob("*"))
