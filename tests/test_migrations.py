"""The migrations make exactly the schema the models describe, on the test
backend (SQLite, or PostgreSQL with LICSERVER_TEST_DB=postgresql), starting
from an empty database of their own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from flask import Flask
from sqlalchemy import Engine, inspect, text

from licserver import create_app, migrate
from licserver.extensions import db
from licserver.models import Base
from tests.support.database import BACKEND, create_pg_database, drop_pg_database

MODEL_TABLES = set(Base.metadata.tables)

# SQLite cannot reflect the expression index ix_activations_machine_name_lower
# (lower(machine_name)): SQLAlchemy and alembic warn that they skip it, and the
# comparison covers everything else (the test looks for that index in
# sqlite_master instead). PostgreSQL reflects and compares it like the rest.
pytestmark = [
    pytest.mark.filterwarnings(
        "ignore:Skipped unsupported reflection of expression-based index "
        "ix_activations_machine_name_lower"
    ),
    pytest.mark.filterwarnings(
        "ignore:autogenerate skipping metadata-specified expression-based index "
        "'ix_activations_machine_name_lower'"
    ),
]


@pytest.fixture
def empty_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """An app on a brand-new, empty database (not the suite's shared one)."""
    monkeypatch.setenv("LICSERVER_INSTANCE_DIR", str(tmp_path / "instance"))
    pg_name = None
    if BACKEND == "postgresql":
        pg_name, url = create_pg_database()
    else:
        url = f"sqlite:///{tmp_path / 'migrations.db'}"
    app = create_app({"DATABASE_URL": url, "KEYS_DIR": str(tmp_path / "keys"), "SECRET_KEY": "x"})
    try:
        with app.app_context():
            yield app
            db.session.remove()
            db.engine.dispose()
    finally:
        if pg_name:
            drop_pg_database(pg_name)


def _differences(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def _snapshot(engine: Engine) -> dict[str, Any]:
    insp = inspect(engine)
    return {
        name: (
            [(c["name"], str(c["type"]), c["nullable"]) for c in insp.get_columns(name)],
            sorted(i["name"] or "" for i in insp.get_indexes(name)),
            sorted(u["name"] or "" for u in insp.get_unique_constraints(name)),
            sorted(f["name"] or "" for f in insp.get_foreign_keys(name)),
        )
        for name in sorted(insp.get_table_names())
    }


def _downgrade_to_base(engine: Engine) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", migrate.SCRIPTS)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")


def test_upgrade_of_an_empty_database_matches_the_models(empty_app: Flask) -> None:
    engine = db.engine
    assert _tables(engine) == set()
    assert migrate.current(engine) is None

    migrate.upgrade(engine)

    assert migrate.current(engine) == migrate.head()
    assert _tables(engine) == MODEL_TABLES | {"alembic_version"}
    assert _differences(engine) == []
    # the index behind machine-name search and the one-live-activation rule exist
    indexes = {i["name"] for i in inspect(engine).get_indexes("activations")}
    assert {"uq_activations_live_installation", "ix_activations_installation_id"} <= indexes
    if engine.dialect.name == "postgresql":
        assert "ix_activations_machine_name_lower" in indexes
    else:
        with engine.connect() as conn:
            sql = conn.execute(
                text(
                    "SELECT sql FROM sqlite_master WHERE name = 'ix_activations_machine_name_lower'"
                )
            ).scalar_one()
        assert "lower(machine_name)" in sql


def test_second_upgrade_changes_nothing(empty_app: Flask) -> None:
    engine = db.engine
    migrate.upgrade(engine)
    before = _snapshot(engine)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO signing_keys (kid, public_key, status, created_at) "
                "VALUES ('k-1', 'pk', 'active', CURRENT_TIMESTAMP)"
            )
        )

    migrate.upgrade(engine)

    assert migrate.current(engine) == migrate.head()
    assert _snapshot(engine) == before
    with engine.connect() as conn:
        assert conn.execute(text("SELECT kid FROM signing_keys")).scalars().all() == ["k-1"]
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1


def test_downgrade_to_base_drops_everything_and_upgrade_rebuilds(empty_app: Flask) -> None:
    engine = db.engine
    migrate.upgrade(engine)

    _downgrade_to_base(engine)

    assert migrate.current(engine) is None
    # only alembic's own (now empty) bookkeeping table is left
    assert _tables(engine) <= {"alembic_version"}
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            leftovers = conn.execute(
                text(
                    "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = 'public' AND relname NOT LIKE 'alembic_version%'"
                )
            ).scalars()
            assert list(leftovers) == []
    else:
        with engine.connect() as conn:
            leftovers = conn.execute(
                text(
                    "SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' "
                    "AND name NOT LIKE 'alembic_version%'"
                )
            ).scalars()
            assert list(leftovers) == []

    migrate.upgrade(engine)
    assert migrate.current(engine) == migrate.head()
    assert _differences(engine) == []


def _to(engine: Engine, revision: str, how: str = "upgrade") -> None:
    cfg = Config()
    cfg.set_main_option("script_location", migrate.SCRIPTS)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        getattr(command, how)(cfg, revision)


def test_0016_keys_existing_releases_in_semver_order_and_drops_feed_tokens(
    empty_app: Flask,
) -> None:
    engine = db.engine
    _to(engine, "0015")
    versions = ["1.10.0", "1.9.0", "2.0.0-beta.1", "2.0.0", "1.0.0-alpha.beta", "1.0.0-alpha.1"]
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO products (id, code, name, default_seats, offline_grace_days,"
                " created_at) VALUES (1, 'APP', 'App', 1, 14, CURRENT_TIMESTAMP)"
            )
        )
        for n, version in enumerate([*versions, "v-legacy"], start=1):
            conn.execute(
                text(
                    "INSERT INTO releases (id, product_id, version, released_at, filename, url,"
                    " sha256, created_at, channel, status, requires_features) VALUES (:n, 1, :v,"
                    " CURRENT_TIMESTAMP, 'app.zip', 'https://x.example/app.zip', :sha,"
                    " CURRENT_TIMESTAMP, 'stable', 'published', '[]')"
                ),
                {"n": n, "v": version, "sha": "0" * 64},
            )

    _to(engine, "0016")

    with engine.connect() as conn:
        newest_first = conn.execute(
            text(
                "SELECT version FROM releases WHERE version_key IS NOT NULL"
                " ORDER BY version_key DESC"
            )
        ).scalars()
        assert list(newest_first) == [
            "2.0.0",
            "2.0.0-beta.1",
            "1.10.0",
            "1.9.0",
            "1.0.0-alpha.beta",
            "1.0.0-alpha.1",
        ]
        legacy = "SELECT version_key FROM releases WHERE version = 'v-legacy'"
        assert conn.execute(text(legacy)).scalar_one() is None  # never offered
    assert "feed_tokens" not in _tables(engine)
    assert "ix_releases_newest" in {i["name"] for i in inspect(engine).get_indexes("releases")}

    _to(engine, "0015", "downgrade")
    assert "feed_tokens" in _tables(engine)
    assert "version_key" not in {c["name"] for c in inspect(engine).get_columns("releases")}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM releases")).scalar_one() == 7
