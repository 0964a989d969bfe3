"""Helpers of tests/conformance (not fixtures): moved out of its conftest so test
modules import them from here."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.database import test_database  # noqa: F401
from tests.support.sdk import _sdk_servers, server, staff, start_server  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]


CI = os.environ.get("CI") == "true"


DRIVER_TIMEOUT_S = 60


@dataclass
class Driver:
    name: str
    argv: list[str]

    def __call__(self, request: dict[str, Any]) -> dict[str, Any]:
        """One driver run: the request in, the answer out (DRIVER.md)."""
        proc = subprocess.run(
            self.argv,
            input=json.dumps(request),
            capture_output=True,
            text=True,
            timeout=DRIVER_TIMEOUT_S,
            cwd=ROOT,
        )
        if proc.returncode != 0:
            pytest.fail(f"driver {self.name} exited {proc.returncode}:\n{proc.stderr}")
        try:
            answer: dict[str, Any] = json.loads(proc.stdout)
        except ValueError:
            pytest.fail(f"driver {self.name} wrote no JSON:\n{proc.stdout}\n{proc.stderr}")
        return answer


class Kit:
    """A driver's requests to one server with that server's keys:
    ``kit("activate", product, args={...})`` runs one and returns the answer;
    ``url=`` sends it elsewhere (a proxy), ``other=True`` as a second
    installation (its own ID and state folder)."""

    def __init__(
        self,
        driver: Driver,
        make: Callable[..., dict[str, Any]],
        url: str,
        keys: dict[str, str],
        state_root: Path,
    ) -> None:
        self.driver, self.make, self.url, self.keys = driver, make, url, keys
        self.state_root = state_root

    def __call__(
        self, op: str, product: str, *, url: str | None = None, other: bool = False, **kw: Any
    ) -> dict[str, Any]:
        req = self.make(op, url or self.url, self.keys, product=product, **kw)
        if other:
            req.update(installation_id="kit-install-0002", state_dir=str(self.state_root / "other"))
        return self.driver(req)
