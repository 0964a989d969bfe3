"""Load held (docs/reliability.md): seat races, one installation racing itself,
churn under a sampling reader, and per-IP limits shared across servers through
Redis. Bounded versions; ``scripts/reliability.py load`` runs them full size."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from tests.live import LiveServer
from tests.reliability.harness import (
    REDIS_URL,
    churn,
    same_installation,
    seat_race,
    shared_rate_limit,
)
from tests.support.factory import Factory

pytestmark = pytest.mark.e2e


def test_distinct_installations_race_for_five_seats(
    race_servers: list[LiveServer], factory: Factory, engine: Engine
) -> None:
    for rep in range(2):
        lic = factory.license(seats=5)
        race = seat_race(race_servers, engine, {"license_key": lic.key}, lic.id, 100, f"r{rep}")

        assert race.statuses == {201: 5, 409: 95}, (race, race_servers[0].log()[-3000:])
        assert race.codes == {"SEAT_LIMIT_REACHED": 95}
        assert race.server_errors == []
        assert (race.live_rows, race.seats_used) == (5, 5)
    # SQLite waits for its write lock; no "database is locked" reached anyone
    assert not any("database is locked" in s.log() for s in race_servers)


def test_password_credentials_race_the_same_way(
    race_servers: list[LiveServer], factory: Factory, engine: Engine
) -> None:
    """The full path (not PostgreSQL's one-statement fast path for keys)."""
    lic = factory.license(seats=5)
    creds = {"license_id": lic.id, "activation_password": lic.activation_password}

    race = seat_race(race_servers, engine, creds, lic.id, 40, "pw")

    assert race.statuses == {201: 5, 409: 35}, race
    assert (race.live_rows, race.seats_used) == (5, 5)


def test_one_installation_fifty_times_at_once_has_one_activation(
    race_servers: list[LiveServer], factory: Factory, engine: Engine
) -> None:
    lic = factory.license(seats=1)

    got = same_installation(race_servers, engine, {"license_key": lic.key}, lic.id, 50)

    assert got.statuses == {201: 1, 200: 49}, got
    assert len(got.activation_ids) == 1
    assert (got.live_rows, got.seats_used) == (1, 1)


def test_churn_never_exceeds_the_seats_and_ends_at_zero(
    race_servers: list[LiveServer], factory: Factory, engine: Engine
) -> None:
    lic = factory.license(seats=3)

    got = churn(race_servers, engine, {"license_key": lic.key}, lic.id, clients=10, rounds=5)

    assert got.unexpected == [], got
    assert got.outcomes["201+200"] > 0
    assert got.samples > 0
    assert got.max_live <= 3 and got.max_seats_used <= 3, got
    assert (got.final_live, got.final_seats_used) == (0, 0)


def test_per_ip_limit_is_shared_by_two_servers_through_redis(
    start_server: object, redis_prefix: str
) -> None:
    env = {
        "LICSERVER_RATE_LIMITS": "on",
        "LICSERVER_REDIS_URL": REDIS_URL,
        "LICSERVER_REDIS_KEY_PREFIX": redis_prefix,
        "LICSERVER_CLIENT_RATE_LIMIT": "12 per minute",
    }
    # /healthz is not rate-limited: the readiness probe spends nothing
    servers = [start_server(1, env=env, ready_path="/healthz") for _ in range(2)]  # type: ignore[operator]

    statuses = shared_rate_limit(servers, 30)

    # 12 in all, not 12 per process (scripts/reliability.py: 2 servers x 2 workers)
    assert statuses == {200: 12, 429: 18}, statuses
