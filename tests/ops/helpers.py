"""Rows and small readers shared by the operations tests."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask

from licserver import create_app
from licserver.crypto import b64u_decode
from licserver.extensions import db
from licserver.runtime import context
from licserver.services import Actor, Origin
from licserver.services import customers as customer_service
from licserver.services import licenses as license_service
from licserver.services import products as product_service
from licserver.services import tokens as token_service
from tests.live import LiveServer
from tests.support import CHEAP_PASSWORD_HASH, loopback
from tests.support.database import TestDatabase

ORIGIN = Origin(Actor("admin", "ops-tests"))


@dataclass
class Issued:
    id: str
    key: str
    activation_password: str
    product: str
    customer: str


def issue_licence(seats: int = 5) -> Issued:
    """A product, a customer and a licence, in the current app's database (names
    of their own: the tests here share one database)."""
    product = f"ops-{secrets.token_hex(4)}"
    product_service.create(context(), code=product, name="Ops App")
    cust, _ = customer_service.create(
        context(),
        name="Ops Ltd",
        email=f"owner@{product}.test",
        company_password=None,
        invitation_ttl_hours=72,
    )
    lic, sec = license_service.create(
        context(), ORIGIN, product=product, customer=cust.number, seats=seats
    )
    return Issued(lic.public_id, sec.key, sec.activation_password, product, cust.number)


def admin_token() -> str:
    _, token = token_service.create(context(), f"ops-{secrets.token_hex(4)}", "full")
    return token


def kid_of(token: str) -> str:
    """The kid a signed token (LK1 or AC1) names."""
    payload: dict[str, Any] = json.loads(b64u_decode(token.split(".")[1]))
    return str(payload["kid"])


def published_keys(url: str) -> dict[str, dict[str, Any]]:
    r = loopback.get(f"{url}/api/v1/keys", timeout=10)
    assert r.status_code == 200, r.text
    return {k["kid"]: k for k in r.json()["keys"]}


BIN = Path(sys.executable).parent


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str


@dataclass
class Installation:
    url: str
    keys_dir: Path
    instance_dir: Path
    workdir: Path
    servers: list[LiveServer] = field(default_factory=list)
    _app: Flask | None = None

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("LICSERVER_", "FLASK_", "PROMETHEUS_"))
        }
        env.update(
            LICSERVER_DATABASE_URL=self.url,
            LICSERVER_KEYS_DIR=str(self.keys_dir),
            LICSERVER_INSTANCE_DIR=str(self.instance_dir),
            LICSERVER_SECRET_KEY="ops-test",
            **CHEAP_PASSWORD_HASH,
        )
        env.update(extra)
        return env

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        """``licserver ARGS`` as an administrator runs it, in a process of its own."""
        return subprocess.run(
            [str(BIN / "licserver"), *args],
            env=self.env(**env),
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def cli(self, *args: str, **config: Any) -> CliResult:
        """``licserver ARGS`` in this process (the same click commands, without the
        interpreter's start-up); ``config`` runs it with other settings."""
        app = self.app(**config) if config else self._cli_app()
        with app.app_context():
            try:
                result = app.test_cli_runner().invoke(args=list(args))
            finally:
                db.session.remove()
                db.engine.dispose()
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return CliResult(result.exit_code, result.stdout, result.stderr)

    def ok(self, *args: str, **config: Any) -> str:
        done = self.cli(*args, **config)
        assert done.returncode == 0, f"{args}: rc={done.returncode}\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def _cli_app(self) -> Flask:
        if self._app is None:
            self._app = self.app()
        return self._app

    def app(self, **config: Any) -> Flask:
        return create_app(
            {
                "DATABASE_URL": self.url,
                "KEYS_DIR": str(self.keys_dir),
                "SECRET_KEY": "ops-test",
                "RATE_LIMITS": "off",
                "PUBLIC_URL": "http://licserver.test",
                **config,
            }
        )

    def server(self, workers: int = 2, *, config: bool = False, **env: str) -> LiveServer:
        db = TestDatabase(self.url, self.keys_dir, self.workdir)
        s = LiveServer(db, workers, env=env, config=config)
        self.servers.append(s)
        return s


@dataclass
class OpsServer:
    server: LiveServer
    prometheus_dir: Path
    refresh_seconds: float

    @property
    def url(self) -> str:
        return self.server.url
