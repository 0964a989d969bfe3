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


def test_csharp_activates_and_reads_the_status(
    c_build: Path,
    demo_exe: Path,
    server: LiveServer,
    public_keys: dict[str, str],
    factory: Factory,
    staff: httpx.Client,
    tmp_path: Path,
) -> None:
    exe = demo_exe
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


def test_csharp_finds_the_update_and_downloads_it_verified(
    c_build: Path,
    demo_exe: Path,
    server: LiveServer,
    public_keys: dict[str, str],
    factory: Factory,
    staff: httpx.Client,
    tmp_path: Path,
) -> None:
    lic = factory.license()
    data = payload("1.3.0", "linux") * 10
    release(staff, lic.product, "1.2.0", platform="windows", days_ago=2)
    release(staff, lic.product, "1.3.0", platform="linux", days_ago=1, data=data)
    keys = ",".join(f"{kid}={key}" for kid, key in public_keys.items())
    env = {**os.environ, "LD_LIBRARY_PATH": str(c_build)}
    common = ["mono", str(demo_exe), server.url, lic.product, keys, str(tmp_path / "state")]
    common.append("dotnet-install-02")
    downloads = tmp_path / "downloads"
    downloads.mkdir()

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*common, *args], capture_output=True, text=True, env=env, timeout=120
        )

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
