"""Migration 0008 chains the events already in the database: downgraded to 0007
and upgraded again, a database's history gets exactly the chain its events had
when they were written one by one, and verifies."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from flask import Flask
from sqlalchemy import text

from licserver import create_app, migrate
from licserver.extensions import db
from licserver.runtime import context, runtime
from licserver.services import Actor, Origin, license_changes
from licserver.services import customers as customer_service
from licserver.services import licenses as license_service
from licserver.services import products as product_service
from licserver.services.keys import ensure_signing_key
from tests.history.helpers import cli
from tests.support.database import BACKEND, create_pg_database, drop_pg_database


@pytest.fixture
def own_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """An app on a database of its own, migrated to the head."""
    monkeypatch.setenv("LICSERVER_INSTANCE_DIR", str(tmp_path / "instance"))
    pg_name = None
    if BACKEND == "postgresql":
        pg_name, url = create_pg_database()
    else:
        url = f"sqlite:///{tmp_path / 'history.db'}"
    app = create_app(
        {
            "DATABASE_URL": url,
            "KEYS_DIR": str(tmp_path / "keys"),
            "SECRET_KEY": "x",
            "RATE_LIMITS": "off",
            "TESTING": True,
        }
    )
    try:
        with app.app_context():
            migrate.upgrade(db.engine)
            runtime().box(create=True)
            ensure_signing_key(context(), tmp_path / "keys", "")
            yield app
            db.session.remove()
            db.engine.dispose()
    finally:
        if pg_name:
            drop_pg_database(pg_name)


def _chains() -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """Every event's chain columns and every licence's head."""
    session = db.session()
    session.commit()
    rows = session.execute(
        text("SELECT id, chain_seq, chain_prev, chain_hash FROM events ORDER BY id")
    ).all()
    heads = session.execute(
        text("SELECT id, history_seq, history_head FROM licenses ORDER BY id")
    ).all()
    session.commit()
    return [tuple(r) for r in rows], [tuple(h) for h in heads]


def test_upgrade_chains_existing_events_as_they_were_chained_when_written(
    own_app: Flask,
) -> None:
    origin = Origin(Actor("admin", "tests"))
    product_service.create(context(), code="cad", name="CAD")
    cust, _ = customer_service.create(
        context(),
        name="Acme",
        email="owner@acme.test",
        company_password=None,
        invitation_ttl_hours=72,
    )
    client = own_app.test_client()
    made = []
    for seats in (2, 3):
        lic, sec = license_service.create(
            context(), origin, product="cad", customer=cust.number, seats=seats
        )
        made.append(lic.public_id)
        for i in range(seats):
            r = client.post(
                "/api/v1/activations",
                json={
                    "license_key": sec.key,
                    "installation_id": f"install-{seats}-{i}",
                    "machine_name": f"PC {i}",
                },
            )
            assert r.status_code == 201, r.get_json()
        license_changes.change_status(context(), origin, lic.public_id, "suspend")
    db.session.remove()
    before = _chains()
    events, heads = before
    assert len(events) == 2 + 5 + 2 and all(e[3] is not None for e in events)
    assert [h[1] for h in heads] == [4, 5]

    cfg = migrate._config(db.engine)
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0007")
    db.engine.dispose()
    migrate.upgrade(db.engine)
    db.engine.dispose()

    assert _chains() == before
    done = cli(own_app, "verify-history")
    assert done.exit_code == 0, done.stderr
    for public_id in made:
        assert f"licence {public_id}:" in done.stdout and "history verified" in done.stdout
