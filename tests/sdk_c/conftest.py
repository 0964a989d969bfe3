"""The C SDK against a real licserver under gunicorn, through its conformance
driver ``lc_driver`` (client_sdk/conformance/DRIVER.md).

The library is built once per run with CMake into ``build/sdk-c``. Without the
toolchain (cmake, a C compiler, pkg-config, the -dev packages) the tests skip
with the reason, except under ``CI=true``, where a missing toolchain fails.
The shared gunicorn and the staff fixtures come from tests/sdk/conftest.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.live import LiveServer
from tests.sdk import conftest as sdk_fixtures

# The Python SDK's fixtures, shared: one gunicorn per run, its keys, staff.
_sdk_servers = sdk_fixtures._sdk_servers
server = sdk_fixtures.server
public_keys = sdk_fixtures.public_keys
staff = sdk_fixtures.staff
start_server = sdk_fixtures.start_server

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "client_sdk" / "c"
BUILD = ROOT / "build" / "sdk-c"
DRIVER = BUILD / "lc_driver"
TOOLS = ("cmake", "pkg-config", "cc")
PACKAGES = ("libcurl", "libsodium", "libcjson")


def missing_toolchain() -> str | None:
    """Why the C SDK cannot be built here, or None."""
    absent = [t for t in TOOLS if shutil.which(t) is None]
    if absent:
        return "missing " + ", ".join(absent)
    for pkg in PACKAGES:
        if subprocess.run(["pkg-config", "--exists", pkg], check=False).returncode != 0:
            return f"pkg-config finds no {pkg} (apt-get install {pkg}-dev)"
    return None


def toolchain_or_skip(reason: str | None) -> None:
    if reason is None:
        return
    message = f"C SDK tests skipped: {reason} (make test-sdk-c installs it as root)"
    if os.environ.get("CI") == "true":
        pytest.fail(message.replace("skipped", "cannot run under CI=true"), pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def c_build() -> Path:
    """The CMake build folder with the library, the driver and the example."""
    toolchain_or_skip(missing_toolchain())
    for cmd in (
        [
            "cmake",
            "-S",
            str(SOURCE),
            "-B",
            str(BUILD),
            "-DCMAKE_BUILD_TYPE=Debug",
            "-DLC_WERROR=ON",
        ],
        ["cmake", "--build", str(BUILD), "-j2"],
    ):
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}"
    return BUILD


Drive = Callable[..., dict[str, Any]]


@pytest.fixture
def drive(c_build: Path, server: LiveServer, public_keys: dict[str, str], tmp_path: Path) -> Drive:
    """``drive(op, product, **args)``: one lc_driver run against the shared server;
    ``server_url=``, ``installation_id=``, ``clock=``, ``timeout_ms=`` override the
    request's fields. One state folder and one installation ID per test."""
    iid = f"c-sdk-{os.urandom(6).hex()}"

    def run(op: str, product: str, **args: Any) -> dict[str, Any]:
        request = {
            "op": op,
            "server_url": args.pop("server_url", server.url),
            "product": product,
            "public_keys": args.pop("public_keys", public_keys),
            "state_dir": str(tmp_path / "state"),
            "installation_id": args.pop("installation_id", iid),
            "clock": args.pop("clock", None),
            "timeout_ms": args.pop("timeout_ms", 5000),
            "args": args,
        }
        done = subprocess.run(
            [str(c_build / "lc_driver")],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, f"lc_driver failed: {done.stderr}"
        answer: dict[str, Any] = json.loads(done.stdout)
        return answer

    return run
