"""The offline vectors (client_sdk/conformance/vectors.json) through every driver."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conformance.helpers import ROOT, Driver

DOC = json.loads((ROOT / "client_sdk/conformance/vectors.json").read_text())
DEFAULTS = DOC["defaults"]


def write_state(state_dir: Path, product: str, vector: dict[str, Any]) -> None:
    if "state" in vector and vector["state"] is None:
        return
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    if "state_text" in vector:
        raw = vector["state_text"].encode()
    elif "state_base64" in vector:
        text = vector["state_base64"]
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    else:
        raw = json.dumps(vector["state"]).encode()
    path = state_dir / f"{product}.json"
    path.write_bytes(raw)
    path.chmod(0o600)


@pytest.mark.parametrize("vector", DOC["vectors"], ids=[v["name"] for v in DOC["vectors"]])
def test_vector(driver: Driver, vector: dict[str, Any], tmp_path: Path) -> None:
    product = vector.get("product", DEFAULTS["product"])
    state_dir = tmp_path / "state"
    write_state(state_dir, product, vector)
    answer = driver(
        {
            "op": vector["op"],
            "server_url": DEFAULTS["server_url"],
            "product": product,
            "public_keys": vector.get("public_keys", DEFAULTS["public_keys"]),
            "state_dir": str(state_dir),
            "installation_id": vector.get("installation_id", DEFAULTS["installation_id"]),
            "clock": vector.get("clock", DEFAULTS["clock"]),
            "timeout_ms": 1000,
            "args": vector.get("args", {}),
        }
    )
    status = answer["status"]
    why = f"{vector['name']} ({vector['why']}): {answer}"
    for field, expected in vector["expect"].items():
        assert status[field] == expected, why
    if "expect_error" in vector:
        assert not answer["ok"] and answer["error"]["code"] == vector["expect_error"], why
    assert answer["installation_id"] == DEFAULTS["installation_id"]
