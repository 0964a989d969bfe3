"""``python -m licclient activate|status|checkin|deactivate`` (and ``keys``):
what support staff see, and the exit status scripts rely on."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.live import LiveServer
from tests.support import loopback
from tests.support.factory import Factory
from tests.support.sdk import license_view

pytestmark = pytest.mark.e2e


class Cli:
    def __init__(self, server: LiveServer, keys: dict[str, str], state_dir: Path) -> None:
        self.server, self.keys, self.state_dir = server, keys, state_dir

    def __call__(
        self, *args: str, env: dict[str, str] | None = None, stdin: str = ""
    ) -> subprocess.CompletedProcess[str]:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("LICCLIENT_")}
        return subprocess.run(
            [sys.executable, "-m", "licclient", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env={**clean, **(env or {})},
            timeout=60,
        )

    def options(self, product: str, *, server: str | None = None) -> list[str]:
        opts = ["--server", server or self.server.url, "--product", product]
        for kid, key in self.keys.items():
            opts += ["--public-key", f"{kid}={key}"]
        return [*opts, "--state-dir", str(self.state_dir), "--installation-id", "support-pc-01"]

    def json(self, *args: str, **kw: Any) -> tuple[int, dict[str, Any]]:
        done = self(*args, "--json", **kw)
        assert done.stdout, done.stderr
        return done.returncode, json.loads(done.stdout)


@pytest.fixture
def cli(server: LiveServer, public_keys: dict[str, str], state_dir: Path) -> Cli:
    return Cli(server, public_keys, state_dir)


def test_keys_prints_the_servers_public_keys(cli: Cli, public_keys: dict[str, str]) -> None:
    code, out = cli.json("keys", "--server", cli.server.url)
    assert code == 0 and out == {"keys": public_keys}
    text = cli("keys", "--server", cli.server.url)
    [(kid, key)] = public_keys.items()
    assert text.returncode == 0 and f"--public-key {kid}={key}" in text.stdout


def test_activate_status_checkin_deactivate(
    cli: Cli, factory: Factory, staff: httpx.Client
) -> None:
    lic = factory.license(seats=2, features=["export"])
    opts = cli.options(lic.product)

    done = cli("activate", *opts, "--license-key", lic.key, "--machine-name", "HELPDESK")
    assert done.returncode == 0, done.stderr
    assert "VALID — licensed" in done.stdout and lic.id in done.stdout
    assert "HELPDESK" in done.stdout and "export" in done.stdout
    assert license_view(staff, lic.id)["seats_used"] == 1

    # status is offline: no --server needed
    no_server = [o for o in opts if o not in ("--server", cli.server.url)]
    code, status = cli.json("status", *no_server)
    assert code == 0
    assert status["valid"] is True and status["code"] == "VALID"
    assert status["license_id"] == lic.id and status["installation_id"] == "support-pc-01"
    assert status["expires_at"] is None and status["offline_until"].endswith("Z")

    code, checked = cli.json("checkin", *opts)
    assert code == 0 and checked["code"] == "VALID"

    code, gone = cli.json("deactivate", *opts)
    assert code == 0 and gone == {"deactivated": True, "installation_id": "support-pc-01"}
    assert license_view(staff, lic.id)["seats_used"] == 0

    code, status = cli.json("status", *opts)
    assert code == 1 and status["code"] == "NOT_ACTIVATED" and status["valid"] is False
    text = cli("status", *opts)
    assert text.returncode == 1 and "not activated on this machine" in text.stdout


def test_passwords_come_from_the_environment_or_stdin(cli: Cli, factory: Factory) -> None:
    company = "correct horse battery"
    customer = factory.customer(company_password=company)
    lic = factory.license(customer=customer)
    opts = cli.options(lic.product)

    by_env = cli(
        "activate",
        *opts,
        "--license-id",
        lic.id,
        env={"LICCLIENT_ACTIVATION_PASSWORD": lic.activation_password},
    )
    assert by_env.returncode == 0, by_env.stderr

    by_stdin = cli("activate", *opts, "--customer-number", customer, stdin=company + "\n")
    assert by_stdin.returncode == 0, by_stdin.stderr
    assert lic.id in by_stdin.stdout


def test_options_from_the_environment(cli: Cli, factory: Factory) -> None:
    lic = factory.license()
    env = {
        "LICCLIENT_SERVER": cli.server.url,
        "LICCLIENT_PRODUCT": lic.product,
        "LICCLIENT_PUBLIC_KEYS": ",".join(f"{k}={v}" for k, v in cli.keys.items()),
        "LICCLIENT_STATE_DIR": str(cli.state_dir),
        "LICCLIENT_INSTALLATION_ID": "support-pc-02",
    }
    assert cli("activate", "--license-key", lic.key, env=env).returncode == 0
    code, status = cli.json("status", env=env)
    assert code == 0 and status["installation_id"] == "support-pc-02"


def test_a_refusal_exits_1_with_the_servers_explanation(
    cli: Cli, factory: Factory, server: LiveServer
) -> None:
    lic = factory.license()
    opts = cli.options(lic.product)

    done = cli(
        "activate",
        *opts,
        "--license-id",
        lic.id,
        env={"LICCLIENT_ACTIVATION_PASSWORD": "WRONG-WRONG-WRONG"},
    )

    assert done.returncode == 1 and done.stdout == ""
    answer = loopback.post(
        f"{server.url}/api/v1/activations",
        json={
            "license_id": lic.id,
            "activation_password": "WRONG-WRONG-WRONG",
            "installation_id": "support-pc-01",
            "machine_name": "x",
        },
    ).json()
    assert done.stderr.strip() == f"InvalidCredentials (INVALID_CREDENTIALS): {answer['detail']}"
    code, err = cli.json(
        "checkin", *opts, env={"LICCLIENT_ACTIVATION_PASSWORD": "WRONG-WRONG-WRONG"}
    )
    assert code == 1 and err["error"] == "LicenseError" and err["code"] == "NOT_ACTIVATED"


def test_an_unreachable_server_exits_3(cli: Cli, factory: Factory) -> None:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    lic = factory.license()

    code, err = cli.json(
        "activate",
        *cli.options(lic.product, server=dead),
        "--license-key",
        lic.key,
        "--retries",
        "0",
    )

    assert code == 3 and err["error"] == "ServerUnavailable" and err["code"] is None
    assert dead in err["detail"]


@pytest.mark.parametrize(
    "args",
    [
        ["status", "--public-key", "k=AAAA"],  # no --product
        ["status", "--product", "cad-pro"],  # no public key
        ["status", "--product", "cad-pro", "--public-key", "no-equals-sign"],
        ["activate", "--product", "cad-pro", "--public-key", "k=x", "--license-key", "LK1.a.b"],
        ["frobnicate"],
    ],
)
def test_wrong_usage_exits_2(cli: Cli, args: list[str]) -> None:
    done = cli(*args)
    assert done.returncode == 2 and "error" in done.stderr
