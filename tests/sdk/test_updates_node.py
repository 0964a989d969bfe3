"""The Node SDK's checkForUpdate() and Update.download() against a real
licserver (gunicorn): a licensed machine sees the stable and the beta release
its licence allows, and the downloaded file is the published one; the
electron_like example announces the update and downloads it."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.live import LiveServer
from tests.support.factory import Factory
from tests.support.sdk import fetch_public_keys
from tests.updates.helpers import payload, release

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import { LicenseClient } from "./client_sdk/node/src/index.js";
const a = JSON.parse(process.argv[1]);
const c = new LicenseClient({ serverUrl: a.url, product: a.product, publicKeys: a.keys,
  stateDir: a.dir, installationId: "node-update-test-0001" });
await c.activate({ licenseKey: a.key });
const out = {};
for (const channel of ["stable", "beta"]) {
  const u = await c.checkForUpdate("1.0.0", { channel, platform: "windows" });
  out[channel] = u && u.version;
  if (channel === "stable") await u.download(`${a.dir}/setup.exe`);
}
out.none = await c.checkForUpdate("2.0.0", { channel: "beta", platform: "windows" });
console.log(JSON.stringify(out));
"""


def test_node_sdk_checks_and_downloads(
    server: LiveServer, staff: httpx.Client, factory: Factory, tmp_path: Path
) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    lic = factory.license()
    data = payload("1.2.0", "windows") * 10
    release(staff, lic.product, "1.2.0", platform="windows", days_ago=1, data=data)
    release(staff, lic.product, "2.0.0-beta.1", channel="beta", platform="windows")
    args = {
        "url": server.url,
        "product": lic.product,
        "keys": fetch_public_keys(server.url),
        "dir": str(tmp_path),
        "key": lic.key,
    }
    proc = subprocess.run(
        [node, "--input-type=module", "-e", SCRIPT, json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"stable": "1.2.0", "beta": "2.0.0-beta.1", "none": None}
    got = (tmp_path / "setup.exe").read_bytes()
    assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()


def test_the_electron_like_example_announces_and_downloads_an_update(
    server: LiveServer, staff: httpx.Client, factory: Factory, tmp_path: Path
) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    lic = factory.license()
    data = payload("1.2.0", "linux")
    release(staff, lic.product, "1.2.0", platform="linux", data=data)
    env = {
        "PATH": "/usr/bin:/bin",
        "LICSERVER_URL": server.url,
        "LICSERVER_PRODUCT": lic.product,
        "LICSERVER_KEYS": json.dumps(fetch_public_keys(server.url)),
        "LICSERVER_STATE_DIR": str(tmp_path / "state"),
        "LICSERVER_DOWNLOAD_DIR": str(tmp_path),
    }
    app = ROOT / "examples" / "electron_like" / "app.mjs"
    proc = subprocess.run(
        [node, str(app)], input=f"{lic.key}\n", env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "A new version is available: 1.2.0" in proc.stdout
    assert "Downloaded and verified" in proc.stdout
    assert (tmp_path / "cad-pro-1.2.0.bin").read_bytes() == data
