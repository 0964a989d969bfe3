"""Shared fixtures: a real app on a real database, fresh for every test.

The database is SQLite by default. ``LICSERVER_TEST_DB=postgresql`` runs the
same suite on PostgreSQL (``LICSERVER_TEST_PG_URL``, default
``postgresql://postgres@127.0.0.1:5432/postgres``): the run creates its own
database there and drops it at the end. Unreachable PostgreSQL fails the run.

The schema is made once per run by the real migrations; each test then starts
from empty tables.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from licserver import create_app, migrate
from licserver.extensions import db
from licserver.models import Base
from licserver.runtime import context
from licserver.services import Actor, Origin
from licserver.services import customers as customer_service
from licserver.services import licenses as license_service
from licserver.services import products as product_service
from licserver.services import tokens as token_service
from licserver.services.keys import ensure_signing_key
from tests.support import CHEAP_PASSWORD_HASH

# Fixture modules: ``smtp_server`` (a real SMTP server, aiosmtpd), ``live_server``
# (gunicorn), ``chromium`` (a headless browser), ``instance`` (an installation
# whose ``licserver`` command runs as a subprocess).
pytest_plugins = [
    "tests.mail",
    "tests.support.servers",
    "tests.support.browser",
    "tests.support.cli",
]

# Every app this process builds hashes cheaply (argon2id's smallest cost).
os.environ.update(CHEAP_PASSWORD_HASH)

BACKEND = os.environ.get("LICSERVER_TEST_DB", "sqlite")
PG_ADMIN_URL = os.environ.get(
    "LICSERVER_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def pytest_report_header() -> str:
    return f"licserver test database: {BACKEND}"


def pytest_sessionstart(session: pytest.Session) -> None:
    """Unreachable PostgreSQL ends the run with exit status 3 before any test,
    in the one process that runs or distributes them (pytest-xdist's workers
    each make a database of their own, see ``test_database``)."""
    if BACKEND == "postgresql" and not hasattr(session.config, "workerinput"):
        _drop_pg_database(_create_pg_database()[0])


@dataclass
class TestDatabase:
    url: str
    keys_dir: Path
    workdir: Path


def _create_pg_database() -> tuple[str, str]:
    import psycopg

    name = f"licserver_test_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        pytest.exit(f"PostgreSQL is unreachable at {PG_ADMIN_URL}: {exc}", returncode=3)
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return name, f"{base}/{name}"


def _drop_pg_database(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def test_database() -> Iterator[TestDatabase]:
    workdir = Path(tempfile.mkdtemp(prefix="licserver-test-"))
    keys_dir = workdir / "keys"
    pg_name = None
    if BACKEND == "postgresql":
        pg_name, url = _create_pg_database()
    elif BACKEND == "sqlite":
        url = f"sqlite:///{workdir / 'test.db'}"
    else:
        raise pytest.UsageError(f"LICSERVER_TEST_DB must be sqlite or postgresql, not {BACKEND}")
    os.environ.setdefault("LICSERVER_INSTANCE_DIR", str(workdir / "instance"))
    app = create_app(
        {"DATABASE_URL": url, "KEYS_DIR": str(keys_dir), "SECRET_KEY": "test", "TESTING": True}
    )
    with app.app_context():
        migrate.upgrade(db.engine)
        from licserver.runtime import runtime

        runtime().box(create=True)
        ensure_signing_key(context(), keys_dir, "")
        db.session.remove()
        db.engine.dispose()
    try:
        yield TestDatabase(url=url, keys_dir=keys_dir, workdir=workdir)
    finally:
        if pg_name:
            _drop_pg_database(pg_name)
        shutil.rmtree(workdir, ignore_errors=True)


def _empty_tables(url: str) -> None:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    tables = [t.name for t in reversed(Base.metadata.sorted_tables) if t.name != "signing_keys"]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))
    engine.dispose()


@pytest.fixture
def app_config(test_database: TestDatabase, tmp_path: Path) -> dict[str, Any]:
    """The config of the test's app; a test may change it before using ``app``."""
    return {
        "DATABASE_URL": test_database.url,
        "KEYS_DIR": str(test_database.keys_dir),
        "SECRET_KEY": "test-secret",
        "TESTING": True,
        "RATE_LIMITS": "off",
        "PUBLIC_URL": "http://licserver.test",
    }


@pytest.fixture
def app(
    app_config: dict[str, Any],
    test_database: TestDatabase,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Flask]:
    monkeypatch.setenv("LICSERVER_INSTANCE_DIR", str(tmp_path / "instance"))
    _empty_tables(test_database.url)
    application = create_app(app_config)

    # The fixture holds one app context for the whole test, so requests made with
    # the test client share it; end each request's session as production does
    # (there every request has its own app context), so no request reads another
    # transaction's snapshot or identity map.
    @application.teardown_request
    def _end_session(_exc: BaseException | None) -> None:
        db.session.remove()

    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def admin_token(app: Flask) -> str:
    _, token = token_service.create(context(), "tests", "full")
    return token


class AdminClient:
    """The test client with a bearer token on every request."""

    def __init__(self, client: FlaskClient, token: str) -> None:
        self.client, self.token = client, token

    def _headers(self, kw: dict[str, Any]) -> dict[str, Any]:
        headers = dict(kw.pop("headers", {}) or {})
        headers.setdefault("Authorization", f"Bearer {self.token}")
        return headers

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(path, headers=self._headers(kw), **kw)

    def post(self, path: str, **kw: Any) -> Any:
        return self.client.post(path, headers=self._headers(kw), **kw)

    def patch(self, path: str, **kw: Any) -> Any:
        return self.client.patch(path, headers=self._headers(kw), **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.client.delete(path, headers=self._headers(kw), **kw)


@pytest.fixture
def admin(client: FlaskClient, admin_token: str) -> AdminClient:
    return AdminClient(client, admin_token)


TEST_ORIGIN = Origin(Actor("admin", "tests"))


@dataclass
class IssuedLicense:
    id: str
    key: str
    activation_password: str
    customer_number: str
    product: str


class Factory:
    """Rows through the real services, for tests that need them as a given."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._n = 0

    def product(self, code: str | None = None, **kw: Any) -> str:
        self._n += 1
        code = code or f"prod-{self._n}"
        product_service.create(context(), code=code, name=kw.pop("name", code.title()), **kw)
        return code

    def customer(
        self, email: str | None = None, company_password: str | None = None, name: str = "Acme Ltd"
    ) -> str:
        self._n += 1
        cust, _ = customer_service.create(
            context(),
            name=name,
            email=email or f"owner{self._n}@acme.test",
            company_password=company_password,
            invitation_ttl_hours=72,
        )
        return cust.number

    def license(
        self, product: str | None = None, customer: str | None = None, seats: int = 5, **kw: Any
    ) -> IssuedLicense:
        product = product or self.product()
        customer = customer or self.customer()
        lic, sec = license_service.create(
            context(), TEST_ORIGIN, product=product, customer=customer, seats=seats, **kw
        )
        return IssuedLicense(lic.public_id, sec.key, sec.activation_password, customer, product)


@pytest.fixture
def factory(app: Flask) -> Factory:
    return Factory(app)
