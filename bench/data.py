"""The rows the benchmark needs.

``make_scenario_rows`` creates, through the real services, everything a scenario
sends or looks up: licences with many seats, and live activations with their
tokens. ``bulk_load`` then fills the database with a large, valid background
(1,000,000 licences and 3,000,000 activations by default) as fast as the
database takes it: COPY on PostgreSQL, one executemany transaction on SQLite.
The background rows are valid for the app (real ids in the right formats, seat
counts that match their activations, sealed secrets), but they share one sealed
key and password blob: no scenario uses them, they only make the tables and
indexes large.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from secrets import token_hex
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from licserver import signing
from licserver.domain.ids import ALPHABET
from licserver.extensions import db
from licserver.models import Activation, License, Product
from licserver.runtime import context
from licserver.services import Actor, Origin
from licserver.services import activation as activation_service
from licserver.services import customers as customer_service
from licserver.services import licenses as license_service
from licserver.services import products as product_service
from licserver.services.credentials import LICENSE_KEY, Credentials

BENCH = Origin(Actor("admin", "bench"), ip="127.0.0.1")
PRODUCT = "bench-app"
# More seats than any run can take: activation requests must never hit the limit.
MANY_SEATS = 10_000_000


@dataclass
class ScenarioRows:
    """What the wrk scripts send, and the licences whose seats are checked."""

    random_keys: list[str] = field(default_factory=list)
    hot_key: str = ""
    validate: list[tuple[str, str]] = field(default_factory=list)  # (key, installation id)
    checkin: list[tuple[str, str]] = field(default_factory=list)  # (activation id, token)
    license_ids: list[int] = field(default_factory=list)  # row ids of all of the above


def make_scenario_rows(app: Flask, licences: int, live_per_licence: int) -> ScenarioRows:
    """``licences`` licences for the random-licence scenarios, one more for the
    single-licence one, each with ``MANY_SEATS`` seats; ``live_per_licence`` live
    activations on each of the first, made by the activation service itself."""
    rows = ScenarioRows()
    with app.app_context():
        product_service.create(context(), code=PRODUCT, name="Bench App", offline_grace_days=14)
        cust, _ = customer_service.create(
            context(),
            name="Bench Customer",
            email="bench@bench.example",
            company_password=None,
            invitation_ttl_hours=72,
        )
        number = cust.number
        for i in range(licences + 1):
            lic, secrets = license_service.create(
                context(),
                BENCH,
                product=PRODUCT,
                customer=number,
                seats=MANY_SEATS,
                expires_at=None,
                features=["export", "pro"],
            )
            rows.license_ids.append(lic.id)
            if i == licences:
                rows.hot_key = secrets.key
                continue
            rows.random_keys.append(secrets.key)
            for j in range(live_per_licence):
                iid = f"bench-live-{i:05d}-{j}-{token_hex(6)}"
                result = activation_service.activate(
                    context(),
                    Credentials(kind=LICENSE_KEY, license_key=secrets.key),
                    iid,
                    f"LIVE-PC-{i}-{j}",
                    {"app_version": "1.0", "os": "Linux"},
                    BENCH,
                )
                assert result.created
                rows.validate.append((secrets.key, iid))
                # (getattr: the bench also measures licserver before the hot paths were
                # rewritten, whose result carried the activation itself)
                aid = getattr(result, "activation_id", None) or result.activation.public_id  # type: ignore[attr-defined]
                rows.checkin.append((aid, result.activation_token))
        db.session.remove()
        db.engine.dispose()
    return rows


@dataclass
class SeatCheck:
    licences: int
    live_activations: int
    over_limit: list[str]  # public ids with more live activations than seats
    miscounted: list[str]  # public ids whose seats_used differs from the live count


def check_seats(app: Flask, license_ids: list[int]) -> SeatCheck:
    """Count the live activations of these licences in the database: none may
    be over its seat limit, and every licence's seat counter must match. One
    statement, so one snapshot: requests still finishing cannot skew it."""
    live = (
        select(func.count(Activation.id))
        .where(Activation.license_id == License.id, Activation.deactivated_at.is_(None))
        .correlate(License)
        .scalar_subquery()
    )
    with app.app_context():
        session = db.session()
        rows = session.execute(
            select(License.public_id, License.seats, License.seats_used, live).where(
                License.id.in_(license_ids)
            )
        ).all()
        session.rollback()
        db.session.remove()
        db.engine.dispose()
    return SeatCheck(
        licences=len(rows),
        live_activations=sum(n for *_, n in rows),
        over_limit=[pid for pid, seats, _, n in rows if n > seats],
        miscounted=[pid for pid, _, used, n in rows if n != used],
    )


# ---- the large background -----------------------------------------------------


@dataclass
class LoadReport:
    customers: int
    licences: int
    activations: int
    seconds: float  # the load itself
    analyze_seconds: float  # statistics (PostgreSQL: and the visibility map, a checkpoint)


def bulk_load(app: Flask, licences: int, activations_per_licence: int) -> LoadReport:
    """Add ``licences`` licences (ten per customer, over 10 products) with
    ``activations_per_licence`` live activations each, then refresh the planner's
    statistics."""
    customers = max(1, licences // 10)
    with app.app_context():
        box = context().box
        # One sealed key and password for all: real ciphertexts the app can open.
        kid, key = context().keyring.signer(db.session())
        lk = signing.encode(
            signing.LICENSE_KEY_PREFIX,
            signing.license_key_payload("L-0000-0000", "bulk-0", "C-000000", 1, 0),
            kid,
            key,
        )
        blobs = (
            box.seal(lk, license_service.KEY_PURPOSE),
            box.seal("BULK0-BULK0-BULK0-BULK0", license_service.PASSWORD_PURPOSE),
        )
        url = db.engine.url
        db.session.remove()
        db.engine.dispose()
    plan = _Plan(licences, activations_per_licence, customers, *blobs)
    started = time.monotonic()
    if url.get_backend_name() == "postgresql":
        analyze = _load_postgresql(url.set(drivername="postgresql").render_as_string(False), plan)
    else:
        assert url.database
        analyze = _load_sqlite(url.database, plan)
    total = time.monotonic() - started
    return LoadReport(
        customers, licences, licences * activations_per_licence, total - analyze, analyze
    )


@dataclass
class _Plan:
    licences: int
    per_licence: int
    customers: int
    key_blob: bytes
    password_blob: bytes
    # Row ids start above what the database holds; set by the loader. Public ids
    # are made from row ids, so that loads one after the other never collide.
    first_customer: int = 0
    first_product: int = 0
    first_licence: int = 0
    first_activation: int = 0
    at: Any = None  # created_at etc., in the driver's form

    def products(self) -> Iterator[tuple[Any, ...]]:
        for p in range(self.first_product, self.first_product + PRODUCTS):
            yield (p, f"bulk-{p}", f"Bulk product {p}", 5, 14, self.at)

    def customer_rows(self) -> Iterator[tuple[Any, ...]]:
        for c in range(self.first_customer, self.first_customer + self.customers):
            yield (
                c,
                _customer_number(c),
                f"Bulk customer {c}",
                f"bulk{c}@bulk.example",
                self.at,
                self.at,
            )

    def licence_rows(self) -> Iterator[tuple[Any, ...]]:
        first, customers = self.first_licence, self.customers
        for lid in range(first, first + self.licences):
            n = lid - first
            yield (
                lid,
                _licence_id(lid),
                self.first_product + n % PRODUCTS,
                self.first_customer + n % customers,
                5,
                self.per_licence,
                "active",
                None,
                "[]",
                1,
                self.key_blob,
                self.password_blob,
                self.at,
                self.at,
            )

    def activation_rows(self) -> Iterator[tuple[Any, ...]]:
        aid, at = self.first_activation, self.at
        for lid in range(self.first_licence, self.first_licence + self.licences):
            for j in range(self.per_licence):
                yield (
                    aid,
                    f"A-Z{aid:015d}",
                    lid,
                    f"bulk-{lid:08d}-{j}",
                    f"PC-{lid:08d}-{j}",
                    TOKEN_HASH,
                    "127.0.0.1",
                    at,
                )
                aid += 1


PRODUCTS = 10
TOKEN_HASH = hashlib.sha256(b"bulk activation token").hexdigest()
PRODUCT_COLUMNS = "id, code, name, default_seats, offline_grace_days, created_at"
CUSTOMER_COLUMNS = "id, number, name, email, created_at, updated_at"
LICENCE_COLUMNS = (
    "id, public_id, product_id, customer_id, seats, seats_used, status, expires_at, features,"
    " key_serial, key_enc, activation_password_enc, created_at, updated_at"
)
ACTIVATION_COLUMNS = (
    "id, public_id, license_id, installation_id, machine_name, token_hash, ip, activated_at"
)
TABLES = (
    ("products", PRODUCT_COLUMNS, _Plan.products),
    ("customers", CUSTOMER_COLUMNS, _Plan.customer_rows),
    ("licenses", LICENCE_COLUMNS, _Plan.licence_rows),
    ("activations", ACTIVATION_COLUMNS, _Plan.activation_rows),
)


# Ids of the background: made from row ids, after a Z. Every character is a
# Crockford base32 digit, so they are valid ids; the services' random ids (the
# scenario rows) would have to match every further digit to collide.
def _customer_number(row_id: int) -> str:
    digits = []
    for _ in range(5):
        row_id, r = divmod(row_id, 32)
        digits.append(ALPHABET[r])
    return "C-Z" + "".join(reversed(digits))


def _licence_id(row_id: int) -> str:
    return f"L-Z{row_id // 10_000:03d}-{row_id % 10_000:04d}"


def _load_postgresql(dsn: str, plan: _Plan) -> float:
    import psycopg

    with psycopg.connect(dsn) as conn:
        conn.execute("SET synchronous_commit = off")
        # Rows are valid by construction; skip the per-row foreign-key triggers.
        conn.execute("SET session_replication_role = replica")
        plan.first_customer, plan.first_product, plan.first_licence, plan.first_activation = (
            _next_id(conn, t) for t in ("customers", "products", "licenses", "activations")
        )
        plan.at = datetime(2026, 1, 1, tzinfo=UTC)
        with conn.cursor() as cur:
            # Indexes that back no constraint are dropped for the load and made again
            # from their own definitions after it: one sort each instead of millions
            # of insertions. (Primary keys and unique constraints stay.)
            indexes = cur.execute(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i"
                " WHERE i.schemaname = current_schema()"
                " AND i.tablename IN ('licenses', 'activations')"
                " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"
            ).fetchall()
            for name, _ in indexes:
                cur.execute(f'DROP INDEX "{name}"')
            for table, columns, rows in TABLES:
                with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as cp:
                    for row in rows(plan):
                        cp.write_row(row)
            cur.execute("SET maintenance_work_mem = '512MB'")
            for _, definition in indexes:
                cur.execute(definition)
            for table, _, _ in TABLES:
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
        conn.commit()
    started = time.monotonic()
    with psycopg.connect(dsn, autocommit=True) as conn:
        # Without it autovacuum would start on the new rows in the middle of a run.
        conn.execute("VACUUM (ANALYZE) products, customers, licenses, activations")
        # And the load's gigabytes of dirty pages written out now, not by the
        # checkpointer and the kernel's writeback during the measured runs, where
        # they competed with every commit's WAL flush (docs/performance.md, target 5).
        conn.execute("CHECKPOINT")
    return time.monotonic() - started


def _next_id(conn: Any, table: str) -> int:
    row = conn.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}").fetchone()
    return int(row[0])


def _load_sqlite(path: str, plan: _Plan) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        # the app's own lower() (see licserver.database): the machine-name index uses it
        conn.create_function(
            "lower", 1, lambda v: v.lower() if isinstance(v, str) else v, deterministic=True
        )
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA cache_size = -400000")
        conn.execute("BEGIN IMMEDIATE")
        plan.first_customer, plan.first_product, plan.first_licence, plan.first_activation = (
            _next_id(conn, t) for t in ("customers", "products", "licenses", "activations")
        )
        # SQLAlchemy's storage format for naive UTC datetimes on SQLite
        plan.at = "2026-01-01 00:00:00.000000"
        # As on PostgreSQL: the indexes that back no constraint are made again
        # after the load, from their own definitions.
        indexes = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            " AND tbl_name IN ('licenses', 'activations')"
        ).fetchall()
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        for table, columns, rows in TABLES:
            marks = ", ".join("?" * len(columns.split(",")))
            conn.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows(plan))
        for _, definition in indexes:
            conn.execute(definition)
        conn.execute("COMMIT")
        started = time.monotonic()
        conn.execute("ANALYZE")
        conn.execute("PRAGMA journal_mode = WAL")
        return time.monotonic() - started
    finally:
        conn.close()


def make_releases(app: Flask, count: int) -> int:
    """``count`` published releases of the scenario product for the update
    check: mostly stable, every tenth on beta, each with files for windows,
    macos and linux (hosted elsewhere: the check never reads a file). Inserted
    as rows at once, in one transaction; returns the count."""
    from datetime import timedelta

    from licserver.domain.updates import version_key_of
    from licserver.models.release import Release
    from licserver.models.update import ReleaseArtifact

    with app.app_context():
        product_id = db.session.scalars(select(Product.id).where(Product.code == PRODUCT)).one()
        start = datetime(2020, 1, 1, tzinfo=UTC)
        for i in range(count):
            version = f"1.{i // 100}.{i % 100}" if i % 10 else f"1.{i // 100}.{i % 100}-beta.1"
            sha = hashlib.sha256(version.encode()).hexdigest()
            url = f"https://downloads.bench.example/{version}/app.zip"
            release = Release(
                product_id=product_id,
                version=version,
                version_key=version_key_of(version),
                released_at=start + timedelta(days=i),
                filename="app.zip",
                url=url,
                sha256=sha,
                size=1000,
                channel="stable" if i % 10 else "beta",
                status="published",
                published_at=start + timedelta(days=i),
                notified_at=start + timedelta(days=i),
                requires_features=[],
            )
            db.session.add(release)
            for platform in ("windows", "macos", "linux"):
                db.session.add(
                    ReleaseArtifact(
                        release=release,
                        platform=platform,
                        arch=None,
                        platform_key=platform,
                        arch_key="",
                        storage="url",
                        url=url,
                        filename="app.zip",
                        sha256=sha,
                        size=1000,
                    )
                )
        db.session.commit()
        db.session.remove()
    return count
