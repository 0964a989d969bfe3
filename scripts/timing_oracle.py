"""Is there a timing oracle in the client API's credential checks?

Runs the real app (Flask test client, no network) on a fresh database and
times, in many interleaved rounds, requests that must be indistinguishable:
an unknown licence id, a wrong activation password, a superseded one, a forged
and a superseded licence key; an unknown customer number and a wrong company
password; an unknown, a revoked and a wrong-secret admin token. Prints the
median and quartiles of each, and each median's difference from its group's
reference. Figures go to docs/reliability.md ("Timing of credential checks").

    .venv/bin/python scripts/timing_oracle.py                  # SQLite, 300 rounds
    .venv/bin/python scripts/timing_oracle.py --rounds 1000 \\
        --database postgresql://postgres@127.0.0.1:5432/timing   # an EMPTY database

Not part of the test suite: timings on a shared machine are noisy; the suite
checks the structure instead (tests/security/test_no_oracle.py).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from licserver import create_app, migrate  # noqa: E402
from licserver.extensions import db  # noqa: E402
from licserver.runtime import deps, runtime  # noqa: E402
from licserver.services import (  # noqa: E402
    Actor,
    Origin,
    license_changes,  # noqa: E402
)
from licserver.services import customers as customer_service  # noqa: E402
from licserver.services import licenses as license_service  # noqa: E402
from licserver.services import products as product_service  # noqa: E402
from licserver.services import tokens as token_service  # noqa: E402
from licserver.services.keys import ensure_signing_key  # noqa: E402

ORIGIN = Origin(Actor("admin", "timing"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--database", default="", help="empty database URL (default: SQLite)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="timing-"))
    url = args.database or f"sqlite:///{work / 'timing.db'}"
    app = create_app(
        {
            "DATABASE_URL": url,
            "KEYS_DIR": str(work / "keys"),
            "SECRET_KEY": "timing",
            # the budget counts the failures below; a spent one would answer 429
            "FAILED_ATTEMPTS_LIMIT": 10**9,
            "CLIENT_RATE_LIMIT": "1000000 per minute",
        }
    )
    with app.app_context():
        migrate.upgrade(db.engine)
        runtime().box(create=True)
        ensure_signing_key(db.session(), work / "keys", "")
        cases = _cases(app)
    client = app.test_client()

    groups: dict[str, dict[str, Callable[[], Any]]] = {
        "licence credentials (POST /api/v1/activations)": {
            k: v for k, v in cases.items() if k.startswith("licence:")
        },
        "company credentials": {k: v for k, v in cases.items() if k.startswith("company:")},
        "admin tokens (GET /api/v1/products)": {
            k: v for k, v in cases.items() if k.startswith("token:")
        },
    }
    print(f"database: {url.split(':', 1)[0]}, rounds: {args.rounds}")
    for title, calls in groups.items():
        samples: dict[str, list[float]] = {name: [] for name in calls}
        names = list(calls)
        for name in names:  # warm-up
            calls[name](client)
        for _ in range(args.rounds):
            random.shuffle(names)  # interleaved, in a new order each round
            for name in names:
                t0 = time.perf_counter()
                status = calls[name](client)
                samples[name].append(time.perf_counter() - t0)
                assert status in (401,), (name, status)
        _report(title, samples)


def _report(title: str, samples: dict[str, list[float]]) -> None:
    print(f"\n{title}")
    ref_name = next(iter(samples))
    ref = statistics.median(samples[ref_name])
    print(f"  {'case':34} {'median':>9} {'p25':>9} {'p75':>9} {'vs ' + ref_name[:14]:>20}")
    for name, values in samples.items():
        q = statistics.quantiles(values, n=4)
        med = statistics.median(values)
        print(
            f"  {name:34} {med * 1e6:8.0f}µs {q[0] * 1e6:8.0f}µs {q[2] * 1e6:8.0f}µs "
            f"{(med - ref) * 1e6:+18.0f}µs"
        )


def _cases(app: Any) -> dict[str, Callable[[Any], int]]:
    session = db.session()
    product_service.create(session, code="cad", name="CAD")
    cust, _ = customer_service.create(
        session,
        name="Acme",
        email="owner@acme.test",
        company_password="company-password-1",
        invitation_ttl_hours=72,
    )
    lic, sec = license_service.create(deps(), ORIGIN, product="cad", customer=cust.number, seats=5)
    old_password, old_key = sec.activation_password, sec.key
    license_changes.regenerate_password(deps(), ORIGIN, lic.public_id)
    license_changes.reissue_key(deps(), ORIGIN, lic.public_id)
    _, token = token_service.create(session, "timing", "full")
    _, revoked = token_service.create(session, "revoked", "full")
    token_service.revoke(session, revoked.split("_")[1])
    forged = old_key[:-10] + ("A" if old_key[-10] != "A" else "B") + old_key[-9:]
    lid = lic.public_id

    def activation(body: dict[str, Any]) -> Callable[[Any], int]:
        full = {**body, "installation_id": "timing-0001", "machine_name": "PC"}
        return lambda c: int(c.post("/api/v1/activations", json=full).status_code)

    def admin(text: str) -> Callable[[Any], int]:
        headers = {"Authorization": f"Bearer {text}"}
        return lambda c: int(c.get("/api/v1/products", headers=headers).status_code)

    public_id = token.split("_")[1]
    return {
        "licence: wrong password": activation(
            {"license_id": lid, "activation_password": "AAAAA-BBBBB-CCCCC-DDDDD"}
        ),
        "licence: unknown licence id": activation(
            {"license_id": "L-ZZZZ-ZZZZ", "activation_password": old_password}
        ),
        "licence: superseded password": activation(
            {"license_id": lid, "activation_password": old_password}
        ),
        "licence: superseded key": activation({"license_key": old_key}),
        "licence: forged key": activation({"license_key": forged}),
        "company: wrong password": activation(
            {"customer_number": cust.number, "company_password": "wrong-one", "product": "cad"}
        ),
        "company: unknown customer": activation(
            {"customer_number": "C-ZZZZZZ", "company_password": "wrong-one", "product": "cad"}
        ),
        "token: wrong secret": admin(f"lsa_{public_id}_" + "A" * 43),
        "token: unknown id": admin("lsa_" + "z" * 10 + "_" + "A" * 43),
        "token: revoked": admin(revoked),
    }


if __name__ == "__main__":
    main()
