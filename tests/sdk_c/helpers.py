"""Helpers of tests/sdk_c (not fixtures): moved out of its conftest so test
modules import them from here."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


SOURCE = ROOT / "client_sdk" / "c"


BUILD = ROOT / "build" / "sdk-c"


DRIVER = BUILD / "lc_driver"


# as sdk.mk runs lc_tests: any memory error or definite/indirect leak fails
VALGRIND = [
    "valgrind",
    "-q",
    "--error-exitcode=1",
    "--leak-check=full",
    "--errors-for-leak-kinds=definite,indirect",
]


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


def build() -> Path:
    """``build/sdk-c`` configured and built (Debug, warnings as errors), under a
    file lock: the C tests and the conformance kit, on two xdist workers at
    once, build the same folder; one builds, the other waits and finds it
    done."""
    BUILD.mkdir(parents=True, exist_ok=True)
    with open(BUILD.parent / ".sdk-c.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
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
            if done.returncode != 0:
                pytest.fail(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")
    return BUILD


def toolchain_or_skip(reason: str | None) -> None:
    if reason is None:
        return
    message = f"C SDK tests skipped: {reason} (make test-sdk-c installs it as root)"
    if os.environ.get("CI") == "true":
        pytest.fail(message.replace("skipped", "cannot run under CI=true"), pytrace=False)
    pytest.skip(message)


Drive = Callable[..., dict[str, Any]]
