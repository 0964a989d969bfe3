"""The ``licserver`` command, run for real as a subprocess against its own
database (SQLite in tmp_path, or a fresh PostgreSQL database when
``LICSERVER_TEST_DB=postgresql``) and keys directory."""

from __future__ import annotations

import re
import stat
import sys
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select

from licserver import migrate
from licserver.extensions import db
from licserver.models import Event
from tests.support.cli import Instance

BIN = Path(sys.executable).parent
TOKEN_RE = re.compile(r"^lsa_[a-z0-9]{10}_[A-Za-z0-9_-]{43}$")


def _signing_key_line(out: str) -> tuple[str, str]:
    m = re.search(r"Signing key: (\S+) \((created|present)\)", out)
    assert m, out
    return m.group(1), m.group(2)


def _get(app: Flask, path: str, token: str) -> Any:
    return app.test_client().get(path, headers={"Authorization": f"Bearer {token}"})


def _post(app: Flask, path: str, token: str, body: dict[str, Any]) -> Any:
    return app.test_client().post(path, json=body, headers={"Authorization": f"Bearer {token}"})


# ---- init ---------------------------------------------------------------------------


def test_init_twice_is_safe(instance: Instance) -> None:
    first = instance.ok("init")
    kid, state = _signing_key_line(first)
    assert state == "created"
    assert f"schema {migrate.head()}" in first

    pem = instance.keys_dir / f"{kid}.pem"
    assert pem.is_file()
    assert stat.S_IMODE(pem.stat().st_mode) == 0o600
    assert b"ENCRYPTED" not in pem.read_bytes()

    second = instance.ok("init")
    assert _signing_key_line(second) == (kid, "present")
    assert f"schema {migrate.head()}" in second
    assert sorted(p.name for p in instance.keys_dir.glob("*.pem")) == [f"{kid}.pem"]

    for app in instance.app():
        assert migrate.current(db.engine) == migrate.head()
        keys = app.test_client().get("/api/v1/keys").get_json()["keys"]
        assert [(k["kid"], k["status"]) for k in keys] == [(kid, "active")]


def test_init_with_passphrase_encrypts_the_key(instance: Instance) -> None:
    out = instance.ok("init", LICSERVER_KEY_PASSPHRASE="correct passphrase")
    kid, _ = _signing_key_line(out)
    pem = (instance.keys_dir / f"{kid}.pem").read_bytes()
    assert b"ENCRYPTED" in pem
    assert stat.S_IMODE((instance.keys_dir / f"{kid}.pem").stat().st_mode) == 0o600

    for passphrase in ("wrong passphrase", ""):
        done = instance.run("init", LICSERVER_KEY_PASSPHRASE=passphrase)
        assert done.returncode != 0
        assert "LICSERVER_KEY_PASSPHRASE" in done.stderr, done.stderr
        assert "Traceback" not in done.stderr, done.stderr
        # The key file is left as it was.
        assert (instance.keys_dir / f"{kid}.pem").read_bytes() == pem

    again = instance.ok("init", LICSERVER_KEY_PASSPHRASE="correct passphrase")
    assert _signing_key_line(again) == (kid, "present")

    # The server signs with the encrypted key when given the passphrase.
    token = instance.ok("tokens", "create", "--name", "signer").strip()
    for app in instance.app(KEY_PASSPHRASE="correct passphrase"):
        assert _post(app, "/api/v1/products", token, {"code": "p", "name": "P"}).status_code == 201
        cust = _post(app, "/api/v1/customers", token, {"name": "C", "email": "c@c.test"})
        r = _post(
            app, "/api/v1/licenses", token, {"product": "p", "customer": cust.get_json()["number"]}
        )
        assert r.status_code == 201, r.get_json()
        assert r.get_json()["key"].startswith("LK1.")


def test_flask_app_licserver_init(instance: Instance) -> None:
    done = instance.run("--app", "licserver", "init", program="flask")
    assert done.returncode == 0, done.stderr
    kid, state = _signing_key_line(done.stdout)
    assert state == "created"
    assert (instance.keys_dir / f"{kid}.pem").is_file()
    assert _signing_key_line(instance.ok("init")) == (kid, "present")


# ---- tokens -------------------------------------------------------------------------


def test_tokens_create_prints_only_the_token(instance: Instance) -> None:
    instance.ok("init")
    done = instance.run("tokens", "create", "--name", "x")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1, done.stdout
    token = lines[0]
    assert TOKEN_RE.match(token), token

    read_only = instance.ok("tokens", "create", "--name", "auditor", "--scope", "read").strip()
    assert TOKEN_RE.match(read_only)
    assert read_only != token

    for app in instance.app():
        r = _get(app, "/api/v1/products", token)
        assert r.status_code == 200, r.get_json()
        assert _post(app, "/api/v1/products", token, {"code": "p", "name": "P"}).status_code == 201
        assert _get(app, "/api/v1/products/p", read_only).status_code == 200
        r = _post(app, "/api/v1/products", read_only, {"code": "q", "name": "Q"})
        assert r.status_code == 403
        assert r.get_json()["code"] == "FORBIDDEN"

    # Revoked from the command line: refused at once.
    instance.ok("tokens", "revoke", token.split("_")[1])
    for app in instance.app():
        r = _get(app, "/api/v1/products", token)
        assert r.status_code == 401
        assert r.get_json()["code"] == "UNAUTHORIZED"
        assert _get(app, "/api/v1/products", read_only).status_code == 200

    done = instance.run("tokens", "revoke", "nosuchtoken")
    assert done.returncode != 0
    assert "nosuchtoken" in done.stderr
    assert "Traceback" not in done.stderr


def test_tokens_create_and_revoke_are_audited(instance: Instance) -> None:
    instance.ok("init")
    token = instance.ok("tokens", "create", "--name", "nightly", "--scope", "read").strip()
    public_id = token.split("_")[1]
    instance.ok("tokens", "revoke", public_id)
    instance.ok("tokens", "revoke", public_id)  # again: nothing changes, nothing recorded
    for _app in instance.app():
        rows = db.session.scalars(
            select(Event).where(Event.kind.startswith("admin_token.")).order_by(Event.id)
        ).all()
        assert [(e.kind, e.actor_type, e.actor_id) for e in rows] == [
            ("admin_token.created", "admin", "cli"),
            ("admin_token.revoked", "admin", "cli"),
        ]
        assert rows[0].data == {"token": public_id, "name": "nightly", "scope": "read"}
        assert rows[1].data == {"token": public_id, "name": "nightly"}


def test_tokens_create_needs_a_name(instance: Instance) -> None:
    done = instance.run("tokens", "create")
    assert done.returncode != 0
    assert "--name" in done.stderr
    assert done.stdout == ""


# ---- demo ---------------------------------------------------------------------------


def _demo_facts(out: str) -> tuple[str, str, list[str]]:
    token = re.search(r"Admin API token[^:]*:\s+(lsa_\S+)", out)
    number = re.search(r"number (C-[0-9A-Z]+)", out)
    licences = re.findall(r"Licence (L-[0-9A-Z]{4}-[0-9A-Z]{4})", out)
    assert token and number and licences, out
    return token.group(1), number.group(1), licences


def test_demo_twice_is_idempotent(instance: Instance) -> None:
    instance.ok("init")
    token1, number1, licences1 = _demo_facts(instance.ok("demo"))
    token2, number2, licences2 = _demo_facts(instance.ok("demo"))
    assert TOKEN_RE.match(token2)
    assert number2 == number1
    assert licences2 == licences1
    assert len(licences1) >= 1

    for app in instance.app():
        r = _get(app, "/api/v1/customers", token2)
        assert r.status_code == 200, r.get_json()
        assert [c["number"] for c in r.get_json()["items"]] == [number1]
        r = _get(app, "/api/v1/licenses", token2)
        assert sorted(i["id"] for i in r.get_json()["items"]) == sorted(licences1)
        products = _get(app, "/api/v1/products", token2).get_json()["items"]
        assert len(products) == 1
        users = _get(app, f"/api/v1/customers/{number1}/users", token2).get_json()["items"]
        assert len(users) >= 1

        # What the demo prints is enough to activate.
        lic = _get(app, f"/api/v1/licenses/{licences1[0]}", token2).get_json()
        r = app.test_client().post(
            "/api/v1/activations",
            json={
                "license_key": lic["key"],
                "installation_id": "demo-machine-0001",
                "machine_name": "DEMO-PC",
            },
        )
        assert r.status_code == 201, r.get_json()
