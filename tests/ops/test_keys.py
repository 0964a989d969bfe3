"""Signing-key rotation: `licserver keys list|rotate`, GET /api/v1/keys, the
servers that must sign with the new key within KEY_REFRESH_SECONDS, and SDKs
across a rotation (one given both keys, one given only the new key)."""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from licclient import LicenseClient

from licserver import signing
from licserver.extensions import db
from licserver.runtime import context
from licserver.services import keys as key_service
from tests.ops.helpers import (
    Installation,
    OpsServer,
    admin_token,
    issue_licence,
    kid_of,
    published_keys,
)
from tests.support import loopback


def _listed(out: str) -> dict[str, str]:
    """kid -> status from `licserver keys list`."""
    rows = [line.split("\t") for line in out.strip().splitlines()[1:]]
    return {row[0]: row[1] for row in rows}


def _active(listing: dict[str, str]) -> str:
    (kid,) = [k for k, status in listing.items() if status == "active"]
    return kid


def _signers(url: str, key: str, installation: str, times: int) -> set[str]:
    """The kids of the certificates ``times`` activations get (spread over the workers)."""
    kids = set()
    with loopback.Client(base_url=url, timeout=30) as http:
        for _ in range(times):
            body = {"license_key": key, "installation_id": installation, "machine_name": "RAW"}
            r = http.post("/api/v1/activations", json=body)
            assert r.status_code in (200, 201), r.text
            kids.add(kid_of(r.json()["certificate"]))
    return kids


def test_keys_list_and_rotate(ops: Installation, ops_app: Flask) -> None:
    first = _listed(ops.ok("keys", "list"))
    old = _active(first)

    out = ops.ok("keys", "rotate")
    new = out.split("next", 1)[1].split()[0]
    assert (ops.keys_dir / f"{new}.pem").is_file()
    public = out.split("public key", 1)[1].split()[0]
    fresh = ops.app()  # a process that has not cached the key list
    keys = fresh.test_client().get("/api/v1/keys").get_json()["keys"]
    with fresh.app_context():
        db.engine.dispose()
    listed = {k["kid"]: (k["status"], k["signs"], k["public_key"]) for k in keys}
    assert listed[new] == ("active", False, public)  # API.md's statuses; it signs nothing yet
    assert listed[old][:2] == ("active", True)
    assert _listed(ops.ok("keys", "list")) == {**first, new: "next"}
    # a second one is refused while one is staged; so is activating an active key
    again = ops.cli("keys", "rotate")
    assert again.returncode == 1 and f"key {new} is staged already" in again.stderr
    wrong = ops.cli("keys", "activate", old)
    assert wrong.returncode == 1 and wrong.stderr.startswith("Error: cannot activate")

    out = ops.ok("keys", "activate", new)
    assert f"retired {old}" in out and f"active  {new}" in out
    listing = ops.ok("keys", "list")
    assert _listed(listing) == {**first, old: "retired", new: "active"}
    assert listing.splitlines()[-1].startswith(f"{new}\tactive\t")  # oldest first
    for line in listing.splitlines()[1:]:
        kid, _status, created, present = line.split("\t")
        assert created.endswith("Z") and present == "present", line

    # the API lists them all; only the new one is active
    keys = ops_app.test_client().get("/api/v1/keys").get_json()["keys"]
    assert {k["kid"]: k["status"] for k in keys} == _listed(listing)

    # a second rotation leaves exactly one active key, the newest
    newest = ops.ok("keys", "rotate").split("next", 1)[1].split()[0]
    ops.ok("keys", "activate", newest)
    after = _listed(ops.ok("keys", "list"))
    assert _active(after) == newest and after[new] == "retired"


def test_rotation_without_the_key_folder_fails_readably(ops: Installation) -> None:
    blocked = ops.workdir / "not-a-folder"
    blocked.write_text("a file where the keys folder should be")
    before = _listed(ops.ok("keys", "list"))
    done = ops.cli("keys", "rotate", KEYS_DIR=str(blocked))
    assert done.returncode == 1
    assert done.stderr.startswith("Error: cannot rotate"), done.stderr
    assert "Traceback" not in done.stderr
    assert _listed(ops.ok("keys", "list")) == before  # nothing changed


def test_servers_and_sdks_across_a_rotation(
    ops: Installation, ops_app: Flask, ops_server: OpsServer, tmp_path: Path
) -> None:
    lic = issue_licence(seats=10)
    token = admin_token()
    server = ops_server
    time.sleep(server.refresh_seconds + 0.3)  # earlier tests' rotations are seen
    before = published_keys(server.url)
    old = _active({k: v["status"] for k, v in before.items()})
    old_keys = {old: before[old]["public_key"]}

    def sdk(name: str, keys: dict[str, str]) -> LicenseClient:
        return LicenseClient(
            server.url,
            product=lic.product,
            public_keys=keys,
            state_dir=tmp_path / name,
            installation_id=f"ops-rotation-{name}",
            retries=1,
        )

    assert sdk("both", old_keys).activate(license_key=lic.key).code == "VALID"
    assert sdk("new-only", old_keys).activate(license_key=lic.key).code == "VALID"

    # Step 1: staged. Published (products pin it), signing nothing yet.
    new = ops.ok("keys", "rotate").split("next", 1)[1].split()[0]
    time.sleep(server.refresh_seconds + 0.3)  # every worker's copy of the keys is now stale
    keys = published_keys(server.url)
    assert (keys[new]["status"], keys[new]["signs"]) == ("active", False)
    assert (keys[old]["status"], keys[old]["signs"]) == ("active", True)
    both = {**old_keys, new: keys[new]["public_key"]}
    pinned = sdk("pinned-ahead", both)
    assert pinned.activate(license_key=lic.key).code == "VALID"
    assert _signers(server.url, lic.key, "ops-staged-raw", 4) == {old}

    # Step 3: activated.
    ops.ok("keys", "activate", new)
    time.sleep(server.refresh_seconds + 0.3)
    assert pinned.checkin().code == "VALID" and pinned.status().code == "VALID"

    keys = published_keys(server.url)
    statuses = {k: v["status"] for k, v in keys.items()}
    assert statuses == {
        **{k: v["status"] for k, v in before.items()},
        old: "retired",
        new: "active",
    }
    new_keys = {new: keys[new]["public_key"]}

    # Every worker signs with the new key now; the licence key, signed by the
    # retired key, keeps working.
    assert _signers(server.url, lic.key, "ops-rotation-raw", 6) == {new}
    with loopback.Client(base_url=server.url, timeout=30) as http:
        # a licence issued now has a key signed by the new key
        r = http.post(
            "/api/v1/licenses",
            json={"product": lic.product, "customer": lic.customer, "seats": 1},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 201, r.text
        assert kid_of(r.json()["key"]) == new

    # An SDK given both keys: the old certificate still verifies; a check-in
    # brings one signed by the new key.
    client = sdk("both", both)
    assert client.status().code == "VALID"
    assert client.checkin().code == "VALID"
    assert sdk("both", new_keys).status().code == "VALID"

    # An SDK given only the new key cannot verify its old certificate until it
    # checks in (check-in is authenticated by the activation token, not the
    # certificate), and is valid again after.
    client = sdk("new-only", new_keys)
    assert client.status().code == "CERTIFICATE_INVALID"
    assert client.checkin().code == "VALID"
    assert client.status().code == "VALID"


def test_a_server_without_the_new_private_key_keeps_signing_with_the_old_one(
    ops: Installation, ops_app: Flask, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Several servers with folders of their own: until the new <kid>.pem is
    copied over, the others sign with the key they have (still listed, so
    still verifiable) and say so in their log; no request fails meanwhile."""
    other_dir = tmp_path / "other-server-keys"
    shutil.copytree(ops.keys_dir, other_dir)
    session = db.session()
    here = key_service.Keyring(ops.keys_dir, refresh_seconds=0)
    there = key_service.Keyring(other_dir, refresh_seconds=0)
    old, _ = there.signer(session)

    new, _ = key_service.rotate(context(), ops.keys_dir, "")
    assert here.signer(session)[0] == new.kid
    with caplog.at_level(logging.ERROR, logger="licserver"):
        kid, key = there.signer(session)
    assert kid == old
    assert f"signing key {new.kid} is active but its private key is not in" in caplog.text
    # a process started afresh there does the same
    assert key_service.Keyring(other_dir).signer(session)[0] == old
    # what it signs verifies with the published keys
    token = signing.encode("AC1", {"v": 1}, kid, key)
    assert signing.decode(token, "AC1", there.public_keys(session))["kid"] == old

    shutil.copy(ops.keys_dir / f"{new.kid}.pem", other_dir)
    assert there.signer(session)[0] == new.kid


def test_a_licence_key_signed_elsewhere_a_moment_ago_is_accepted_at_once(
    ops: Installation, ops_app: Flask, ops_server: OpsServer
) -> None:
    """Another server rotates and issues a licence with the new key; a server
    that loaded its keyring a moment before looks the new kid up at once
    (its row is committed before anything is signed with it), in process and
    over HTTP. One forged kid sent again and again costs one query, not one
    per request."""
    session = db.session()
    here = key_service.Keyring(ops.keys_dir)  # refreshes every 5 s
    here.public_keys(session)
    with loopback.Client(base_url=ops_server.url, timeout=30) as http:
        for _ in range(4):  # the server's workers load their keyrings now
            assert http.get("/api/v1/keys").status_code == 200

        new, _ = key_service.rotate(context(), ops.keys_dir, "")
        lic = issue_licence()
        assert kid_of(lic.key) == new.kid
        assert new.kid in here.public_keys(session, new.kid)
        for n in range(4):
            body = {"license_key": lic.key, "installation_id": f"at-once-{n}", "machine_name": "PC"}
            r = http.post("/api/v1/activations", json=body)
            assert r.status_code == 201, r.text

    looked: list[str] = []

    def count(conn: object, cursor: object, statement: str, *rest: object) -> None:
        looked.append(statement)

    forged = "k-20990101-0000aa"
    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        for _ in range(5):
            assert forged not in here.public_keys(session, forged)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    assert sum("signing_keys" in s for s in looked) == 1
