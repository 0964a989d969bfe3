"""The C SDK against a real licserver under gunicorn, through its conformance
driver ``lc_driver`` (client_sdk/conformance/DRIVER.md).

The library is built once per run with CMake into ``build/sdk-c``. Without the
toolchain (cmake, a C compiler, pkg-config, the -dev packages) the tests skip
with the reason, except under ``CI=true``, where a missing toolchain fails.
The shared gunicorn and the staff fixtures come from tests/support/sdk.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.live import LiveServer
from tests.sdk_c.helpers import (
    VALGRIND,
    Drive,
    build,
    missing_toolchain,
    toolchain_or_skip,
)


@pytest.fixture(scope="session")
def c_build() -> Path:
    """The CMake build folder with the library, the driver and the example."""
    toolchain_or_skip(missing_toolchain())
    return build()


@pytest.fixture
def drive(c_build: Path, server: LiveServer, public_keys: dict[str, str], tmp_path: Path) -> Drive:
    """``drive(op, product, **args)``: one lc_driver run against the shared server;
    ``server_url=``, ``installation_id=``, ``clock=``, ``timeout_ms=`` override the
    request's fields; ``valgrind=True`` runs the driver under valgrind (when it is
    installed), any memory error or leak failing the test. One state folder and one
    installation ID per test."""
    iid = f"c-sdk-{os.urandom(6).hex()}"

    def run(op: str, product: str, **args: Any) -> dict[str, Any]:
        memcheck = VALGRIND if args.pop("valgrind", False) and shutil.which("valgrind") else []
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
            [*memcheck, str(c_build / "lc_driver")],
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
