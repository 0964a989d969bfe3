"""The .NET binding (client_sdk/c/bindings/dotnet) compiled with Mono's mcs and
run with mono against a live server: the C ABI serves C# products."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.live import LiveServer
from tests.sdk_c.helpers import SOURCE, toolchain_or_skip
from tests.support.factory import Factory
from tests.support.sdk import activations
from tests.updates.helpers import payload, release

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def demo_exe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Demo.cs and the binding compiled with mcs (warnings are errors)."""
    absent = [t for t in ("mcs", "mono") if shutil.which(t) is None]
    toolchain_or_skip(f"missing {', '.join(absent)} (apt-get install mono-mcs)" if absent else None)
    exe = tmp_path_factory.mktemp("dotnet") / "LicClientDemo.exe"
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
    return exe


Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def demo(
    c_build: Path, demo_exe: Path, server: LiveServer, public_keys: dict[str, str], tmp_path: Path
) -> Run:
    """``demo(product, installation_id, *args)``: Demo.cs run with mono against
    the shared server, its state in the test's folder."""
    keys = ",".join(f"{kid}={key}" for kid, key in public_keys.items())
    env = {**os.environ, "LD_LIBRARY_PATH": str(c_build)}

    def run(product: str, installation: str, *args: str) -> subprocess.CompletedProcess[str]:
        argv = ["mono", str(demo_exe), server.url, product, keys, str(tmp_path / "state")]
        return subprocess.run(
            [*argv, installation, *args], capture_output=True, text=True, env=env, timeout=120
        )

    return run


def test_csharp_activates_and_reads_the_status(
    demo: Run, factory: Factory, staff: httpx.Client
) -> None:
    lic = factory.license(features=["export"])

    activated = demo(lic.product, "dotnet-install-01", lic.key)
    assert activated.returncode == 0, activated.stdout + activated.stderr
    assert activated.stdout.split()[:3] == ["VALID", lic.id, "export"]
    [act] = activations(staff, lic.id)
    assert act["installation_id"] == "dotnet-install-01"

    later = demo(lic.product, "dotnet-install-01")
    assert later.stdout.split()[:2] == ["VALID", lic.id]

    wrong = demo(lic.product, "dotnet-install-01", "LK1.not-a-key.x")
    assert wrong.returncode == 1 and wrong.stdout.startswith("ERROR INVALID_CREDENTIALS"), (
        wrong.stdout
    )


def test_csharp_finds_the_update_and_downloads_it_verified(
    demo: Run, factory: Factory, staff: httpx.Client, tmp_path: Path
) -> None:
    lic = factory.license()
    data = payload("1.3.0", "linux") * 10
    release(staff, lic.product, "1.2.0", platform="windows", days_ago=2)
    release(staff, lic.product, "1.3.0", platform="linux", days_ago=1, data=data)
    downloads = tmp_path / "downloads"
    downloads.mkdir()

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return demo(lic.product, "dotnet-install-02", *args)

    got = run(lic.key, "--update", "1.0.0", str(downloads))
    assert got.returncode == 0, got.stdout + got.stderr
    lines = got.stdout.splitlines()
    assert lines[0].split()[:2] == ["VALID", lic.id]
    assert lines[1] == "A new version is available: 1.3.0"  # this machine's platform: linux
    target = downloads / "update-1.3.0"
    assert lines[2].startswith(f"Downloaded {target} ({len(data)} bytes, sha256 ")
    assert target.read_bytes() == data
    assert not (downloads / "update-1.3.0.part").exists()

    newest = run("--update", "1.3.0", str(downloads))
    assert (
        newest.returncode == 0 and newest.stdout.splitlines()[1] == "You have the newest version."
    )
    unreadable = run("--update", "not a version", str(downloads))
    assert unreadable.returncode == 1
    assert unreadable.stdout.splitlines()[1].startswith("ERROR VALIDATION_FAILED 422"), (
        unreadable.stdout
    )
