"""examples/desktop_app: the product a vendor would write, driven end to end —
as a program with its keyboard on stdin, and in-process with a moving clock."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

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
    RateLimited,
    SeatLimitReached,
    ServerUnavailable,
)

from tests.live import LiveServer
from tests.support import loopback
from tests.support.factory import Factory
from tests.support.sdk import Clock, license_view, ok
from tests.updates.helpers import payload, release

pytestmark = pytest.mark.e2e

APP = Path(__file__).resolve().parents[2] / "examples" / "desktop_app" / "app.py"
Sdk = Callable[..., LicenseClient]


def load_app() -> ModuleType:
    spec = importlib.util.spec_from_file_location("desktop_app", APP)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


app = load_app()


def dead_url() -> str:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


class Program:
    """The example as a user runs it: a process, keys typed on stdin."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def __call__(self, keys: list[str], **env: str) -> subprocess.CompletedProcess[str]:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("ACME_")}
        return subprocess.run(
            [sys.executable, str(APP)],
            input="".join(f"{k}\n" for k in keys),
            capture_output=True,
            text=True,
            env={**clean, **self.env, **env},
            timeout=60,
        )


@pytest.fixture
def program(server: LiveServer, public_keys: dict[str, str], state_dir: Path) -> Program:
    return Program(
        {
            "ACME_LICENSE_SERVER": server.url,
            "ACME_PUBLIC_KEYS": ",".join(f"{k}={v}" for k, v in public_keys.items()),
            "ACME_STATE_DIR": str(state_dir),
            "ACME_INSTALLATION_ID": "sketch-pc-0001",
            "ACME_RETRIES": "0",
        }
    )


def test_first_start_asks_for_a_licence_then_works_offline_then_deactivates(
    program: Program, factory: Factory, staff: httpx.Client
) -> None:
    lic = factory.license(seats=1, features=["layers"])
    env = {"ACME_PRODUCT": lic.product}

    first = program(["1", lic.key, "1", "2", "q"], **env)
    assert first.returncode == 0, first.stderr
    assert "has no licence for Acme Sketch yet" in first.stdout
    assert "Thank you: Acme Sketch is activated" in first.stdout
    assert f"Licensed: licence {lic.id}" in first.stdout and "a perpetual licence" in first.stdout
    assert "Works offline until" in first.stdout and "(14 days)" in first.stdout
    assert "Features: layers." in first.stdout
    assert "a beautiful sketch" in first.stdout
    assert license_view(staff, lic.id)["seats_used"] == 1

    # next start, with the server out of reach: no questions, it just works
    offline = program(["1", "q"], ACME_LICENSE_SERVER=dead_url(), **env)
    assert offline.returncode == 0, offline.stderr
    assert f"Licensed: licence {lic.id}" in offline.stdout
    assert "no licence" not in offline.stdout and "a beautiful sketch" in offline.stdout
    # "Check in now" while offline explains and carries on
    offline = program(["3", "q"], ACME_LICENSE_SERVER=dead_url(), **env)
    assert "could not be reached" in offline.stdout and offline.returncode == 0

    declined = program(["4", "n", "q"], **env)
    assert declined.returncode == 0 and license_view(staff, lic.id)["seats_used"] == 1
    done = program(["4", "y"], **env)
    assert done.returncode == 0, done.stderr
    assert "This computer is deactivated" in done.stdout
    assert license_view(staff, lic.id)["seats_used"] == 0

    again = program(["q"], **env)
    assert "has no licence for Acme Sketch yet" in again.stdout and again.returncode == 1


def test_a_new_version_is_offered_and_downloaded(
    program: Program, factory: Factory, staff: httpx.Client, tmp_path: Path
) -> None:
    lic = factory.license()
    env = {"ACME_PRODUCT": lic.product, "ACME_DOWNLOAD_DIR": str(tmp_path)}
    data = payload("1.2.0")
    release(staff, lic.product, "1.2.0", data=data, notes="Layers.\nFaster export.")
    release(staff, lic.product, "2.0.0-beta.1", channel="beta")

    run = program(["1", lic.key, "y", "q"], **env)
    assert run.returncode == 0, run.stderr
    assert "A new version is available: Acme Sketch 1.2.0 (stable)." in run.stdout
    assert "Layers.\nFaster export." in run.stdout
    (saved,) = tmp_path.glob("acme-sketch-1.2.0-*")
    assert saved.read_bytes() == data and f"Saved {saved}" in run.stdout

    beta = program(["n", "5", "n", "q"], ACME_CHANNEL="beta", **env)
    assert beta.stdout.count("A new version is available: Acme Sketch 2.0.0-beta.1 (beta).") == 2


def test_activation_problems_are_explained(
    program: Program, factory: Factory, server: LiveServer
) -> None:
    company = "correct horse battery"
    customer = factory.customer(company_password=company)
    lic = factory.license(customer=customer, seats=1)
    other = {"license_key": lic.key, "installation_id": "someone-else", "machine_name": "X"}
    assert loopback.post(f"{server.url}/api/v1/activations", json=other).status_code == 201

    done = program(
        [
            "2",
            lic.id,
            "NOT-THE-PASSWORD",  # wrong password
            "1",
            lic.key,  # right key, no seat left
            "3",
            customer,
            "",  # an empty field
            "q",
        ],
        ACME_PRODUCT=lic.product,
    )

    assert done.returncode == 1
    assert "was not accepted" in done.stdout
    assert "already in use on as many computers as it allows" in done.stdout
    assert "Please fill in every field." in done.stdout
    assert "Thank you" not in done.stdout


def test_without_pinned_keys_the_build_says_what_to_do(program: Program) -> None:
    done = program([], ACME_PUBLIC_KEYS="")
    assert done.returncode == 2 and "python -m licclient keys" in done.stderr


class Keyboard:
    """Scripted answers for the in-process app; what it printed."""

    def __init__(self, *answers: str) -> None:
        self.answers: Iterator[str] = iter(answers)
        self.printed: list[str] = []

    def ask(self, prompt: str) -> str:
        self.printed.append(prompt)
        return next(self.answers)

    def say(self, text: str) -> None:
        self.printed.append(text)

    @property
    def text(self) -> str:
        return "\n".join(self.printed)


def test_the_offline_grace_period_and_a_staff_deactivation(
    sdk: Sdk, factory: Factory, staff: httpx.Client, clock: Clock
) -> None:
    lic = factory.license(seats=1)
    client = sdk(lic.product)
    deadline = client.activate(license_key=lic.key).offline_until
    assert deadline is not None
    away = sdk(lic.product, server_url=dead_url(), retries=0)

    # 10 days later, offline: a check-in is due, the server is away — it still works
    clock.now = deadline.timestamp() - 4 * 86400 + 3600
    kb = Keyboard("1", "q")
    assert app.SketchApp(away, kb.ask, kb.say, clock).run() == 0
    assert "Works offline until" in kb.text and "(4 days)" in kb.text

    # 15 days: the offline period is over; the user connects and checks in
    clock.now = deadline.timestamp() + 86400
    kb = Keyboard("q")
    assert app.SketchApp(away, kb.ask, kb.say, clock).run() == 1
    assert "offline for longer than your licence allows" in kb.text

    # back online, but staff deactivated this computer meanwhile
    activation = client.status().activation_id
    ok(staff.post(f"/api/v1/activations/{activation}/deactivate", json={"reason": "moved"}))
    kb = Keyboard("q")
    assert app.SketchApp(client, kb.ask, kb.say, clock).run() == 1
    assert "was deactivated on this computer" in kb.text
    assert "has no licence for Acme Sketch yet" in kb.text


ERRORS: list[LicenseError] = [
    InvalidCredentials(code="INVALID_CREDENTIALS"),
    SeatLimitReached(code="SEAT_LIMIT_REACHED"),
    LicenseExpired(code="LICENSE_EXPIRED"),
    LicenseSuspended(code="LICENSE_SUSPENDED"),
    LicenseRevoked(code="LICENSE_REVOKED"),
    Deactivated(code="DEACTIVATED"),
    RateLimited(code="RATE_LIMITED", retry_after=600),
    CertificateInvalid(code="CERTIFICATE_INVALID"),
    ServerUnavailable(),
    LicenseError("No licence of that product.", code="NOT_FOUND", status=404),
    LicenseError("Something odd.", code="VALIDATION_FAILED", status=422),
]


def test_every_error_and_status_has_plain_words() -> None:
    words: list[Any] = [app.explain_error(e) for e in ERRORS]
    assert all(w and "_" not in w.split(":")[0] for w in words)  # no raw codes up front
    assert len(set(words)) == len(words)
    assert "10 minute(s)" in app.explain_error(ERRORS[6])
    codes = {
        "NOT_ACTIVATED",
        "CERTIFICATE_INVALID",
        "CLOCK_TAMPERED",
        "LICENSE_REVOKED",
        "LICENSE_SUSPENDED",
        "LICENSE_EXPIRED",
        "CHECKIN_REQUIRED",
    }
    assert set(app.STATUS_WORDS) == codes
