"""client_sdk/python/README.md's "Embedding the SDK" example, copied as a vendor
would, with the three constants filled in, run against the live server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.live import LiveServer
from tests.support.factory import Factory
from tests.support.sdk import license_view

pytestmark = pytest.mark.e2e

README = Path(__file__).resolve().parents[2] / "client_sdk" / "python" / "README.md"


def embedding_example() -> str:
    section = README.read_text().split("## Embedding the SDK", 1)[1]
    found = re.search(r"```python\n(.*?)```", section, re.S)
    assert found, "no python block under 'Embedding the SDK'"
    return found.group(1)


def test_the_readme_example_runs_as_written(
    server: LiveServer,
    public_keys: dict[str, str],
    factory: Factory,
    staff: httpx.Client,
    tmp_path: Path,
) -> None:
    lic = factory.license(features=["export"])
    code = embedding_example()
    for name, value in (
        ("SERVER", repr(server.url)),
        ("PRODUCT", repr(lic.product)),
        ("PUBLIC_KEYS", repr(public_keys)),
    ):
        code, n = re.subn(rf"^{name} = .*$", f"{name} = {value}", code, flags=re.M)
        assert n == 1, name
    script = tmp_path / "licensing.py"
    script.write_text(code)
    home = tmp_path / "home"
    env = {**os.environ, "HOME": str(home), "XDG_STATE_HOME": str(home / ".local" / "state")}

    def run(stdin: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(script)],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )

    refused = run("LK1.not.a-key\n\n")
    assert refused.returncode == 1
    assert "That licence key was not accepted." in refused.stdout
    assert "CAD Pro needs a licence." in refused.stderr

    first = run(f"{lic.key}\n")
    assert first.returncode == 0, first.stderr
    assert f"Licensed ({lic.id})" in first.stdout
    assert "The export module is enabled." in first.stdout
    assert (home / ".local" / "state" / "licclient" / f"{lic.product}.json").exists()

    again = run("")  # the next start asks nothing
    assert again.returncode == 0 and "Licence key" not in again.stdout
    assert license_view(staff, lic.id)["seats_used"] == 1
