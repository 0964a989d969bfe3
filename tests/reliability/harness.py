"""The reliability scenarios, shared by the bounded tests (tests/reliability) and
the full-size runs (scripts/reliability.py): each drives real gunicorn servers
over loopback HTTP against a real database and returns what it measured, so the
test asserts on it and the script prints it.

Nothing here talks to the app in-process: requests go through gunicorn, counts
come from a separate database connection.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from tests.live import LiveServer
from tests.support import loopback


def engine_for(url: str) -> Engine:
    return create_engine(url.replace("postgresql://", "postgresql+psycopg://"))


def in_parallel(
    n: int, fn: Callable[[int, httpx.Client], Any], url_for: Callable[[int], str]
) -> list[Any]:
    """``fn(i, client)`` in ``n`` threads released together by a barrier; thread
    ``i`` talks to ``url_for(i)`` over a connection of its own."""
    barrier = threading.Barrier(n)

    def run(i: int) -> Any:
        with loopback.Client(base_url=url_for(i), timeout=120) as http:
            barrier.wait(timeout=60)
            return fn(i, http)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def seat_counts(engine: Engine, license_id: str) -> tuple[int, int]:
    """(live activation rows, the licence's seats_used), read straight from the database."""
    with engine.connect() as conn:
        live = conn.execute(
            text(
                "SELECT count(*) FROM activations a JOIN licenses l ON l.id = a.license_id "
                "WHERE l.public_id = :lid AND a.deactivated_at IS NULL"
            ),
            {"lid": license_id},
        ).scalar_one()
        used = conn.execute(
            text("SELECT seats_used FROM licenses WHERE public_id = :lid"), {"lid": license_id}
        ).scalar_one()
    return int(live), int(used)


def activation_body(creds: dict[str, str], iid: str, name: str) -> dict[str, Any]:
    return {**creds, "installation_id": iid, "machine_name": name}


@dataclass
class RaceRound:
    statuses: Counter[int]
    codes: Counter[str]
    live_rows: int
    seats_used: int
    server_errors: list[str]
    seconds: float


def seat_race(
    servers: Sequence[LiveServer],
    engine: Engine,
    creds: dict[str, str],
    license_id: str,
    n: int,
    tag: str,
) -> RaceRound:
    """``n`` distinct installations activate at once on one licence, spread
    round-robin over ``servers``."""

    def activate(i: int, http: httpx.Client) -> tuple[int, str, str]:
        r = http.post(
            "/api/v1/activations", json=activation_body(creds, f"{tag}-install-{i:04d}", f"PC-{i}")
        )
        code = r.json().get("code", "") if r.status_code >= 400 else ""
        return r.status_code, code, r.text if r.status_code >= 500 else ""

    start = time.monotonic()
    results = in_parallel(n, activate, lambda i: servers[i % len(servers)].url)
    seconds = time.monotonic() - start
    live, used = seat_counts(engine, license_id)
    return RaceRound(
        statuses=Counter(s for s, _, _ in results),
        codes=Counter(c for _, c, _ in results if c),
        live_rows=live,
        seats_used=used,
        server_errors=[t for s, _, t in results if s >= 500],
        seconds=seconds,
    )


@dataclass
class SameInstallation:
    statuses: Counter[int]
    activation_ids: set[str]
    live_rows: int
    seats_used: int


def same_installation(
    servers: Sequence[LiveServer], engine: Engine, creds: dict[str, str], license_id: str, n: int
) -> SameInstallation:
    """One installation activating ``n`` times at once."""

    def activate(i: int, http: httpx.Client) -> tuple[int, str]:
        r = http.post("/api/v1/activations", json=activation_body(creds, "same-install", "SAME"))
        return r.status_code, r.json().get("activation_id", r.text)

    results = in_parallel(n, activate, lambda i: servers[i % len(servers)].url)
    live, used = seat_counts(engine, license_id)
    return SameInstallation(
        statuses=Counter(s for s, _ in results),
        activation_ids={a for s, a in results if s in (200, 201)},
        live_rows=live,
        seats_used=used,
    )


@dataclass
class Churn:
    outcomes: Counter[str]
    samples: int
    max_live: int
    max_seats_used: int
    final_live: int
    final_seats_used: int
    seconds: float
    unexpected: list[str] = field(default_factory=list)


def churn(
    servers: Sequence[LiveServer],
    engine: Engine,
    creds: dict[str, str],
    license_id: str,
    clients: int,
    rounds: int,
) -> Churn:
    """``clients`` threads each activate and deactivate ``rounds`` times while
    another connection samples the live count as fast as it can."""
    stop = threading.Event()
    samples: list[tuple[int, int]] = []

    def sample() -> None:
        while not stop.is_set():
            samples.append(seat_counts(engine, license_id))
            time.sleep(0.005)

    def run(i: int, http: httpx.Client) -> list[str]:
        seen = []
        for n in range(rounds):
            r = http.post(
                "/api/v1/activations",
                json=activation_body(creds, f"churn-install-{i}-{n}", f"C-{i}"),
            )
            if r.status_code == 409 and r.json().get("code") == "SEAT_LIMIT_REACHED":
                seen.append("409")
                continue
            if r.status_code != 201:
                seen.append(f"activate {r.status_code}: {r.text[:200]}")
                continue
            body = r.json()
            d = http.delete(
                f"/api/v1/activations/{body['activation_id']}",
                headers={"Authorization": f"Activation {body['activation_token']}"},
            )
            seen.append("201+200" if d.status_code == 200 else f"delete {d.status_code}")
        return seen

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.monotonic()
    try:
        results = in_parallel(clients, run, lambda i: servers[i % len(servers)].url)
    finally:
        stop.set()
        sampler.join(timeout=10)
    seconds = time.monotonic() - start
    outcomes = Counter(o for per in results for o in per)
    live, used = seat_counts(engine, license_id)
    return Churn(
        outcomes=outcomes,
        samples=len(samples),
        max_live=max((s[0] for s in samples), default=0),
        max_seats_used=max((s[1] for s in samples), default=0),
        final_live=live,
        final_seats_used=used,
        seconds=seconds,
        unexpected=[o for o in outcomes if o not in ("409", "201+200")],
    )


def shared_rate_limit(servers: Sequence[LiveServer], attempts: int) -> Counter[int]:
    """``attempts`` GET /api/v1/keys, alternating between the servers (and so
    their workers), from one source IP: the statuses seen."""
    statuses: Counter[int] = Counter()
    for i in range(attempts):
        # a new connection each time: gunicorn hands it to any of its workers
        r = loopback.get(f"{servers[i % len(servers)].url}/api/v1/keys", timeout=30)
        statuses[r.status_code] += 1
    return statuses


# ---- faults -----------------------------------------------------------------


def public_keys(url: str) -> dict[str, str]:
    r = loopback.get(f"{url}/api/v1/keys", timeout=30)
    r.raise_for_status()
    return {k["kid"]: k["public_key"] for k in r.json()["keys"]}


def sdk_client(
    url: str,
    product: str,
    state_dir: Any,
    iid: str,
    retries: int = 3,
    keys: dict[str, str] | None = None,
) -> Any:
    from licclient import LicenseClient

    return LicenseClient(
        url,
        product=product,
        public_keys=keys or public_keys(url),
        state_dir=state_dir,
        installation_id=iid,
        retries=retries,
    )


@dataclass
class KillOutcome:
    sdk_valid: bool
    sdk_activation_id: str
    rows: list[tuple[str, str | None]]  # (activation id, deactivated_at) of the licence
    seats_used: int
    event_kinds: list[str]
    seconds: float


def rows_of(engine: Engine, license_id: str) -> tuple[list[tuple[str, str | None]], list[str]]:
    """The licence's activation rows and its activation.* event kinds, oldest first."""
    with engine.connect() as conn:
        acts = conn.execute(
            text(
                "SELECT a.public_id, a.deactivated_at FROM activations a "
                "JOIN licenses l ON l.id = a.license_id WHERE l.public_id = :lid ORDER BY a.id"
            ),
            {"lid": license_id},
        ).all()
        kinds = conn.execute(
            text(
                "SELECT e.kind FROM events e JOIN licenses l ON l.id = e.license_id "
                "WHERE l.public_id = :lid AND e.kind LIKE 'activation.%' ORDER BY e.id"
            ),
            {"lid": license_id},
        ).all()
    return [(r[0], None if r[1] is None else str(r[1])) for r in acts], [k[0] for k in kinds]


def activate_through_a_kill(
    server: LiveServer, engine: Engine, lic_key: str, product: str, license_id: str, state: Any
) -> KillOutcome:
    """The SDK activates against a server whose worker is SIGKILLed at the fault
    point: its retry must end with one seat and one activation id."""
    client = sdk_client(server.url, product, state, "killed-install-0001", retries=3)
    start = time.monotonic()
    status = client.activate(license_key=lic_key)
    seconds = time.monotonic() - start
    rows, kinds = rows_of(engine, license_id)
    _, used = seat_counts(engine, license_id)
    return KillOutcome(status.valid, status.activation_id, rows, used, kinds, seconds)


@dataclass
class LossyRun:
    clients: int
    converged: int
    failures: list[str]
    connections: int
    lost: int
    distinct_installations: int
    live_rows: int
    seats_used: int


def sdks_through_losses(
    proxy_url: str,
    keys: dict[str, str],
    engine: Engine,
    lic_key: str,
    product: str,
    license_id: str,
    state_root: Any,
    clients: int,
    parallel: int = 1,
) -> LossyRun:
    """``clients`` SDKs each activate and check in through a proxy that loses answers."""
    from pathlib import Path

    failures: list[str] = []

    def one(i: int) -> bool:
        iid = f"lossy-install-{i:04d}"
        try:
            c = sdk_client(proxy_url, product, Path(state_root) / iid, iid, 3, keys)
            ok = bool(c.activate(license_key=lic_key).valid and c.checkin().valid)
        except Exception as exc:  # a failure to converge is a result, not a crash
            failures.append(f"{iid}: {type(exc).__name__}: {exc}")
            return False
        return ok

    if parallel <= 1:
        results = [one(i) for i in range(clients)]
    else:
        with ThreadPoolExecutor(max_workers=parallel) as pool:
            results = list(pool.map(one, range(clients)))
    live, used = seat_counts(engine, license_id)
    return LossyRun(clients, sum(results), failures, 0, 0, clients, live, used)


REDIS_URL = os.environ.get("LICSERVER_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
