"""The conformance kit (client_sdk/conformance/README.md) as a pytest module:
every SDK's driver (client_sdk/conformance/DRIVER.md) against the vectors and
against a live gunicorn.

Drivers: ``python``, ``node`` and ``c`` (built with cmake when
client_sdk/c/CMakeLists.txt exists), plus any given as
``LICCLIENT_KIT_DRIVERS='name=command line;other=command line'``. A missing
toolchain skips that driver with the reason, and fails under ``CI=true``.

The kit has a database and servers of its own (it rotates the signing key):
``test_database`` is re-declared here, so this folder gets its own instance.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conformance.helpers import CI, ROOT, Driver, Kit
from tests.live import LiveServer
from tests.sdk_c.helpers import build as c_build

# Re-declared here, so they are this folder's own (see above).
from tests.support.database import test_database  # noqa: F401
from tests.support.sdk import _sdk_servers, fetch_public_keys, server, staff, start_server  # noqa: F401


def _unavailable(reason: str) -> None:
    if CI:
        pytest.fail(f"{reason} (CI=true: a missing toolchain fails the run)")
    pytest.skip(reason)


def _node() -> list[str]:
    node = shutil.which("node")
    if node is None:
        _unavailable("node is not installed: the Node SDK's conformance is not checked")
    assert node is not None
    out = subprocess.run([node, "--version"], capture_output=True, text=True).stdout
    major = int(out.strip().lstrip("v").split(".")[0] or 0)
    if major < 18:
        _unavailable(f"node {out.strip()} is older than 18: the Node SDK is not checked")
    return [node, str(ROOT / "client_sdk/node/conformance/driver.mjs")]


def _c() -> list[str]:
    source = ROOT / "client_sdk/c"
    if not (source / "CMakeLists.txt").exists():
        pytest.skip("the C SDK (client_sdk/c/CMakeLists.txt) is not in this tree yet")
    cmake = shutil.which("cmake")
    if cmake is None:
        _unavailable("cmake is not installed: the C SDK's conformance is not checked")
    assert cmake is not None
    return [str(c_build() / "lc_driver")]


def _extra() -> dict[str, str]:
    given = os.environ.get("LICCLIENT_KIT_DRIVERS", "")
    pairs = (item.split("=", 1) for item in given.split(";") if "=" in item)
    return {name.strip(): command for name, command in pairs}


DRIVER_NAMES = ["python", "node", "c", *_extra()]


@pytest.fixture(scope="session", params=DRIVER_NAMES)
def driver(request: pytest.FixtureRequest) -> Driver:
    name: str = request.param
    if name == "python":
        argv = [sys.executable, str(ROOT / "client_sdk/python/conformance_driver.py")]
    elif name == "node":
        argv = _node()
    elif name == "c":
        argv = _c()
    else:
        argv = shlex.split(_extra()[name])
    return Driver(name, argv)


@pytest.fixture
def kit_request(tmp_path: Path) -> Callable[..., dict[str, Any]]:
    """``kit_request(op, server_url, public_keys, **fields)``: a DRIVER.md request
    with the test's state folder and a short timeout."""

    def make(op: str, server_url: str, public_keys: dict[str, str], **kw: Any) -> dict[str, Any]:
        req: dict[str, Any] = {
            "op": op,
            "server_url": server_url,
            "product": kw.pop("product"),
            "public_keys": public_keys,
            "state_dir": str(tmp_path / "state"),
            "installation_id": kw.pop("installation_id", "kit-install-0001"),
            "clock": kw.pop("clock", None),
            "timeout_ms": kw.pop("timeout_ms", 5000),
            "args": kw.pop("args", {}),
        }
        assert not kw, kw
        return req

    return make


@pytest.fixture
def kit(
    driver: Driver,
    kit_request: Callable[..., dict[str, Any]],
    server: LiveServer,  # noqa: F811 - the fixture re-declared above
    tmp_path: Path,
) -> Kit:
    """The driver against the shared server, with its public keys."""
    return Kit(driver, kit_request, server.url, fetch_public_keys(server.url), tmp_path)


@pytest.fixture
def stub_server() -> Iterator[Callable[..., Any]]:
    """``stub_server(status, headers, body)``: a loopback HTTP server that
    answers every request so and counts them (``.hits``, ``.url``)."""
    from tests.conformance.stub import StubServer

    started: list[StubServer] = []

    def start(
        status: int,
        headers: dict[str, str] | None = None,
        body: Any = None,
        signed: bool = True,
        forge: str | None = None,
    ) -> StubServer:
        s = StubServer(status, headers or {}, body, signed=signed, forge=forge)
        started.append(s)
        return s

    yield start
    for s in started:
        s.close()
