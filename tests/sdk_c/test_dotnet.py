"""The .NET binding (client_sdk/c/bindings/dotnet) compiled with Mono's mcs and
run with mono against a live server: the C ABI serves C# products."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.live import LiveServer
from tests.sdk_c.helpers import SOURCE, toolchain_or_skip
from tests.support.factory import Factory
from tests.support.sdk import activations

pytestmark = pytest.mark.e2e


def test_csharp_activates_and_reads_the_status(
    c_build: Path,
    server: LiveServer,
    public_keys: dict[str, str],
    factory: Factory,
    staff: httpx.Client,
    tmp_path: Path,
) -> None:
    absent = [t for t in ("mcs", "mono") if shutil.which(t) is None]
    toolchain_or_skip(f"missing {', '.join(absent)} (apt-get install mono-mcs)" if absent else None)
    exe = tmp_path / "LicClientDemo.exe"
    binding = SOURCE / "bindings" / "dotnet"
    subprocess.run(
        [
            "mcs",
            "-nologo",
            "-warnaserror",
            f"-out:{exe}",
            str(binding / "LicClient.cs"),
            str(binding / "Demo.cs"),
        ],
        check=True,
    )
    lic = factory.license(features=["export"])
    keys = ",".join(f"{kid}={key}" for kid, key in public_keys.items())
    env = {**os.environ, "LD_LIBRARY_PATH": str(c_build)}
    common = [
        "mono",
        str(exe),
        server.url,
        lic.product,
        keys,
        str(tmp_path / "state"),
        "dotnet-install-01",
    ]

    activated = subprocess.run(
        [*common, lic.key], capture_output=True, text=True, env=env, timeout=120
    )
    assert activated.returncode == 0, activated.stdout + activated.stderr
    assert activated.stdout.split()[:3] == ["VALID", lic.id, "export"]
    [act] = activations(staff, lic.id)
    assert act["installation_id"] == "dotnet-install-01"

    later = subprocess.run(common, capture_output=True, text=True, env=env, timeout=120)
    assert later.stdout.split()[:2] == ["VALID", lic.id]

    wrong = subprocess.run(
        [*common, "LK1.not-a-key.x"], capture_output=True, text=True, env=env, timeout=120
    )
    assert wrong.returncode == 1 and wrong.stdout.startswith("ERROR INVALID_CREDENTIALS"), (
        wrong.stdout
    )
