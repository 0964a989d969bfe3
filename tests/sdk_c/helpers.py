"""Helpers of tests/sdk_c (not fixtures): moved out of its conftest so test
modules import them from here."""

from __future__ import annotations

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


def toolchain_or_skip(reason: str | None) -> None:
    if reason is None:
        return
    message = f"C SDK tests skipped: {reason} (make test-sdk-c installs it as root)"
    if os.environ.get("CI") == "true":
        pytest.fail(message.replace("skipped", "cannot run under CI=true"), pytrace=False)
    pytest.skip(message)


Drive = Callable[..., dict[str, Any]]
