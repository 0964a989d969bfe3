"""The C SDK's calls against a real licserver: each credential kind, offline
status with the server stopped, staff deactivation then check-in, client
deactivation, the seat limit, 429 with Retry-After, an unreachable server,
the installation ID the Python SDK derives on this machine, and the example
product (which also announces and downloads an update). The conformance
kit covers the rest."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from licclient import _fingerprint

from tests.live import LiveServer
from tests.sdk_c.helpers import Drive
from tests.support import loopback
from tests.support.factory import Factory
from tests.support.sdk import activations, fetch_public_keys, license_view, ok
from tests.updates.helpers import payload, release

pytestmark = pytest.mark.e2e

COMPANY_PASSWORD = "correct horse battery"


def test_activate_by_each_credential_kind(
    drive: Drive, factory: Factory, staff: httpx.Client
) -> None:
    lic = factory.license(seats=3, features=["export", "plot"])
    by_key = drive("activate", lic.product, license_key=lic.key)
    assert by_key["ok"], by_key["error"]
    assert by_key["status"]["code"] == "VALID" and by_key["status"]["license_id"] == lic.id
    assert by_key["status"]["features"] == ["export", "plot"]

    other = factory.license(seats=1)
    by_password = drive(
        "activate",
        other.product,
        license_id=other.id,
        activation_password=other.activation_password,
        installation_id="c-sdk-password-0001",
    )
    assert by_password["ok"] and by_password["status"]["valid"], by_password["error"]

    customer = factory.customer(company_password=COMPANY_PASSWORD)
    product = factory.product()
    company = factory.license(product=product, customer=customer)
    by_company = drive(
        "activate", product, customer_number=customer, company_password=COMPANY_PASSWORD
    )
    assert by_company["ok"] and by_company["status"]["license_id"] == company.id
    assert len(activations(staff, lic.id)) == 1 and len(activations(staff, company.id)) == 1


def test_wrong_credentials_answer_the_servers_code(drive: Drive, factory: Factory) -> None:
    lic = factory.license()
    answer = drive("activate", lic.product, license_id=lic.id, activation_password="wrong")
    assert not answer["ok"]
    assert answer["error"]["code"] == "INVALID_CREDENTIALS"
    assert answer["error"]["http_status"] in (401, 403)
    assert answer["status"]["code"] == "NOT_ACTIVATED"


def test_status_works_offline_with_the_server_stopped(
    c_build: Path,
    start_server: Callable[..., LiveServer],
    factory: Factory,
    drive: Drive,
    tmp_path: Path,
) -> None:
    own = start_server()
    keys = fetch_public_keys(own.url)
    lic = factory.license(features=["export"])
    assert drive(
        "activate", lic.product, server_url=own.url, public_keys=keys, license_key=lic.key
    )["ok"]
    state = tmp_path / "state" / f"{lic.product}.json"
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    assert stat.S_IMODE(state.parent.stat().st_mode) == 0o700
    saved = json.loads(state.read_text())
    assert saved["format"] == "licclient-state/1" and saved["refusal"] is None
    own.stop()

    status = drive("status", lic.product, server_url=own.url, public_keys=keys)
    assert status["status"]["code"] == "VALID"
    feature = drive("has_feature", lic.product, server_url=own.url, public_keys=keys, name="export")
    assert feature["has_feature"] is True
    later = drive("status", lic.product, public_keys=keys, clock=int(time.time()) + 400 * 86400)
    assert later["status"]["code"] in ("CHECKIN_REQUIRED", "LICENSE_EXPIRED")


def test_checkin_after_staff_deactivation_removes_the_local_state(
    drive: Drive, factory: Factory, staff: httpx.Client, tmp_path: Path
) -> None:
    lic = factory.license()
    first = drive("activate", lic.product, license_key=lic.key)
    assert drive("checkin", lic.product)["ok"]
    [act] = activations(staff, lic.id)
    ok(staff.post(f"/api/v1/activations/{act['id']}/deactivate", json={"reason": "moved"}))

    answer = drive("checkin", lic.product)
    assert not answer["ok"] and answer["error"]["code"] == "DEACTIVATED"
    assert answer["status"]["code"] == "NOT_ACTIVATED"
    assert not (tmp_path / "state" / f"{lic.product}.json").exists()
    assert first["status"]["valid"]


def test_deactivate_frees_the_seat_and_the_seat_limit_holds(
    drive: Drive, factory: Factory, staff: httpx.Client
) -> None:
    lic = factory.license(seats=1)
    assert drive("activate", lic.product, license_key=lic.key)["ok"]
    full = drive("activate", lic.product, license_key=lic.key, installation_id="c-sdk-second-01")
    assert not full["ok"] and full["error"]["code"] == "SEAT_LIMIT_REACHED"
    assert full["error"]["http_status"] == 409

    assert drive("deactivate", lic.product)["ok"]
    assert license_view(staff, lic.id)["seats_used"] == 0
    again = drive("activate", lic.product, license_key=lic.key, installation_id="c-sdk-second-01")
    assert again["ok"], again["error"]


def test_429_with_retry_after_is_waited_for(
    start_server: Callable[..., LiveServer], factory: Factory, drive: Drive
) -> None:
    limited = start_server(
        env={"LICSERVER_RATE_LIMITS": "on", "LICSERVER_CLIENT_RATE_LIMIT": "2 per 2 seconds"}
    )
    keys = fetch_public_keys(limited.url)
    lic = factory.license()
    for _ in range(2):
        loopback.post(f"{limited.url}/api/v1/activations", json={}, timeout=10)
    started = time.monotonic()
    answer = drive(
        "activate", lic.product, server_url=limited.url, public_keys=keys, license_key=lic.key
    )
    assert answer["ok"], answer["error"]
    assert time.monotonic() - started >= 0.5  # it waited for the window to pass


def test_unreachable_server_is_a_network_error(drive: Drive, factory: Factory) -> None:
    lic = factory.license()
    answer = drive(
        "activate",
        lic.product,
        server_url="http://127.0.0.1:9",
        license_key=lic.key,
        timeout_ms=500,
    )
    assert not answer["ok"]
    assert answer["error"]["code"] == "NETWORK_ERROR" and answer["error"]["http_status"] is None


def test_the_installation_id_is_the_python_sdks(drive: Drive, tmp_path: Path) -> None:
    answer = drive("installation_id", "cad-pro", installation_id=None)
    assert answer["installation_id"] == _fingerprint.installation_id("cad-pro", tmp_path / "state")


def test_the_example_product_activates_then_works_offline_then_deactivates(
    c_build: Path,
    server: LiveServer,
    public_keys: dict[str, str],
    factory: Factory,
    staff: httpx.Client,
    tmp_path: Path,
) -> None:
    lic = factory.license(product=factory.product(code="cad-pro"), features=["export"])
    keys = ",".join(f"{kid}={key}" for kid, key in public_keys.items())
    env = {
        **os.environ,
        "XDG_STATE_HOME": str(tmp_path / "xdg"),
        "C_APP_DOWNLOAD_DIR": str(tmp_path),
    }

    def app(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        cmd = [str(c_build / "c_app"), server.url, keys, *args]
        return subprocess.run(cmd, input=stdin, capture_output=True, text=True, env=env, timeout=60)

    wrong = app(stdin="LK1.nope.nope\n")
    assert "not accepted" in wrong.stdout
    first = app(stdin=f"{lic.key}\n")
    assert first.returncode == 0 and f"Working (licence {lic.id}, export enabled)" in first.stdout
    assert (tmp_path / "xdg" / "licclient" / "cad-pro.json").exists()
    assert "new version" not in first.stdout

    data = payload("1.2.0", "linux")
    release(staff, "cad-pro", "1.2.0", platform="linux", data=data)
    later = app()
    assert later.returncode == 0 and "Enter your licence key" not in later.stdout
    assert "A new version is available: 1.2.0" in later.stdout
    assert "Downloaded and verified" in later.stdout
    assert (tmp_path / "cad-pro-1.2.0.bin").read_bytes() == data
    gone = app("deactivate")
    assert "deactivated" in gone.stdout and license_view(staff, lic.id)["seats_used"] == 0
