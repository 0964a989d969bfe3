"""Offline activation fixtures: the portal as a browser uses it (tests/portal),
the SDK on a "machine" without a network (its own state folder and
installation ID), and, for the online round trip, the SDK tests' gunicorn."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from licclient import LicenseClient

from tests.offline.helpers import (
    OFFLINE_URL,
    Machine,
)


@pytest.fixture
def keys(client: FlaskClient) -> dict[str, str]:
    """The server's public keys, as a vendor pins them in the product."""
    r = client.get("/api/v1/keys")
    assert r.status_code == 200
    return {k["kid"]: k["public_key"] for k in r.get_json()["keys"]}


@pytest.fixture
def machine(tmp_path: Path, keys: dict[str, str]) -> Machine:
    """``machine(product, name="lab-1")``: the SDK on one offline machine (its own
    state folder and installation ID per name)."""

    def make(product: str, name: str = "lab-1", **kw: Any) -> LicenseClient:
        kw.setdefault("public_keys", keys)
        kw.setdefault("installation_id", f"{name}-{secrets.token_hex(6)}")
        kw.setdefault("state_dir", tmp_path / f"state-{name}")
        return LicenseClient(kw.pop("server_url", OFFLINE_URL), product=product, **kw)

    return make
