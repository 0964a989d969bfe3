"""Unknown, superseded ("revoked") and wrong credentials answer identically —
status, headers and body, byte for byte apart from the request id — and do the
same work: the same SQL statements in the same order, the same password-hash
work. The timing itself is measured by scripts/timing_oracle.py (figures in
docs/reliability.md): a timing test would be flaky on a loaded machine."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event
from werkzeug.test import TestResponse

from licserver import crypto
from licserver.extensions import db
from licserver.runtime import context
from licserver.services import tokens as token_service
from tests.api.helpers import activated, by_company, by_key
from tests.support.factory import AdminClient, Factory

# What differs between any two answers: the request's id and the clock.
VOLATILE_HEADERS = {"x-request-id", "date"}


def answer(r: TestResponse) -> tuple[int, list[tuple[str, str]], bytes]:
    """An answer as a client sees it, minus the request id and the date."""
    headers = sorted((k, v) for k, v in r.headers.items() if k.lower() not in VOLATILE_HEADERS)
    body = re.sub(rb'"request_id":\s*"[^"]*"', b'"request_id": "-"', r.get_data())
    return r.status_code, headers, body


def assert_identical(answers: dict[str, TestResponse]) -> None:
    (first_name, first), *rest = answers.items()
    for name, r in rest:
        assert answer(r) == answer(first), f"{name} answers unlike {first_name}"


@contextmanager
def work_done() -> Iterator[list[str]]:
    """The work a request does: each SQL statement's shape (kind and table) in
    order, each commit, and each argon2 hash or verification."""
    done: list[str] = []
    engine = db.engine

    def on_execute(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        words = statement.split()
        verb = words[0].upper()
        table = ""
        for marker in ("FROM", "INTO", "UPDATE"):
            if marker in [w.upper() for w in words]:
                idx = [w.upper() for w in words].index(marker)
                table = words[idx + 1] if marker != "UPDATE" else words[1]
                break
        if re.search(r"\bINSERT\s+INTO\s+events\b", statement, re.IGNORECASE):
            verb, table = "INSERT", "events"  # also inside a WITH ... statement
        done.append(f"{verb} {table}")

    def on_commit(conn: Any) -> None:
        done.append("COMMIT")

    real = crypto._hasher

    class Spy:
        def hash(self, *a: Any, **kw: Any) -> Any:
            done.append("ARGON2")
            return real.hash(*a, **kw)

        def verify(self, *a: Any, **kw: Any) -> Any:
            done.append("ARGON2")
            return real.verify(*a, **kw)

    event.listen(engine, "before_cursor_execute", on_execute)
    event.listen(engine, "commit", on_commit)
    crypto._hasher = Spy()  # type: ignore[assignment]
    try:
        yield done
    finally:
        crypto._hasher = real
        event.remove(engine, "before_cursor_execute", on_execute)
        event.remove(engine, "commit", on_commit)


# The work that costs time at a scale a remote client could measure: argon2 (tens
# of milliseconds), transactions and their commits (a disk flush each), and the
# history rows written. Reads inside a transaction (a licence's history head, a
# fraction of a millisecond on a local database) are left to the timing script.
COSTLY = re.compile(r"^(ARGON2|BEGIN|COMMIT|INSERT events)")


def same_work(calls: dict[str, Callable[[], TestResponse]]) -> None:
    """Each call twice (the first warms caches: keys, the admin-token cache...),
    the second's costly work compared."""
    seen = {}
    for name, call in calls.items():
        call()
        with work_done() as done:
            call()
        seen[name] = [step for step in done if COSTLY.match(step)]
    (first_name, first), *rest = seen.items()
    for name, done in rest:
        assert done == first, f"{name} does other work than {first_name}:\n{done}\n{first}"


def _activation(client: FlaskClient, creds: dict[str, Any]) -> TestResponse:
    body = {**creds, "installation_id": "install-0001", "machine_name": "PC-1"}
    return client.post("/api/v1/activations", json=body)


def _validation(client: FlaskClient, creds: dict[str, Any]) -> TestResponse:
    return client.post("/api/v1/validate", json={**creds, "installation_id": "install-0001"})


@pytest.fixture
def cases(client: FlaskClient, admin: AdminClient, factory: Factory) -> dict[str, dict[str, Any]]:
    """Every way of holding wrong licence credentials."""
    lic = factory.license()
    old_password, old_key = lic.activation_password, lic.key
    admin.post(f"/api/v1/licenses/{lic.id}/activation-password")
    admin.post(f"/api/v1/licenses/{lic.id}/key")
    other = factory.license()
    # one signature character changed (well inside it: every bit of it counts)
    flipped = "A" if other.key[-10] != "A" else "B"
    forged = other.key[:-10] + flipped + other.key[-9:]
    return {
        "unknown licence id": {"license_id": "L-ZZZZ-ZZZZ", "activation_password": old_password},
        "malformed licence id": {"license_id": "nonsense", "activation_password": old_password},
        "wrong password": {"license_id": lic.id, "activation_password": "AAAAA-BBBBB-CCCCC-DDDDD"},
        "superseded password": {"license_id": lic.id, "activation_password": old_password},
        "superseded key": {"license_key": old_key},
        "forged key": {"license_key": forged},
        "not a key": {"license_key": "LK1.bm90aGluZw.c2ln"},
    }


def test_wrong_licence_credentials_answer_identically(
    client: FlaskClient, cases: dict[str, dict[str, Any]]
) -> None:
    assert_identical({n: _activation(client, c) for n, c in cases.items()})
    assert_identical({n: _validation(client, c) for n, c in cases.items()})
    r = _activation(client, cases["wrong password"])
    assert r.status_code == 401 and r.get_json()["code"] == "INVALID_CREDENTIALS"


def test_an_unknown_licence_costs_the_work_of_a_wrong_password(
    client: FlaskClient, cases: dict[str, dict[str, Any]]
) -> None:
    names = ("wrong password", "superseded password", "unknown licence id", "malformed licence id")
    same_work({n: partial(_activation, client, cases[n]) for n in names})
    same_work({n: partial(_validation, client, cases[n]) for n in names})


def test_wrong_company_credentials_answer_identically_after_the_same_work(
    client: FlaskClient, factory: Factory
) -> None:
    product = factory.product()
    with_password = factory.license(product, factory.customer(company_password="company-pw-1"))
    without = factory.license(product, factory.customer())
    cases = {
        "wrong company password": by_company(with_password, "not-the-password"),
        "company password not set": by_company(without, "company-pw-1"),
        "unknown customer": {
            **by_company(with_password, "company-pw-1"),
            "customer_number": "C-ZZZZZZ",
        },
    }
    assert_identical({n: _activation(client, c) for n, c in cases.items()})
    assert_identical({n: _validation(client, c) for n, c in cases.items()})
    same_work({n: partial(_activation, client, c) for n, c in cases.items()})


def test_wrong_activation_tokens_answer_identically(client: FlaskClient, factory: Factory) -> None:
    lic = factory.license()
    first = activated(client, by_key(lic))
    again = activated(client, by_key(lic))  # re-activation: the first token is superseded
    aid = again["activation_id"]
    calls = {
        "unknown activation": ("A-ZZZZZZZZZZZZZZZZ", again["activation_token"]),
        "wrong token": (aid, "x" * 43),
        "superseded token": (aid, first["activation_token"]),
    }
    assert_identical(
        {
            n: client.post(f"/api/v1/activations/{a}/checkin", json={"activation_token": t})
            for n, (a, t) in calls.items()
        }
    )
    assert_identical(
        {
            n: client.delete(
                f"/api/v1/activations/{a}", headers={"Authorization": f"Activation {t}"}
            )
            for n, (a, t) in calls.items()
        }
    )


def test_wrong_admin_tokens_answer_identically_after_the_same_work(
    client: FlaskClient, admin_token: str
) -> None:
    _, revoked = token_service.create(context(), "revoked", "full")
    token_service.revoke(context(), revoked.split("_")[1])
    public_id = admin_token.split("_")[1]
    cases = {
        "unknown token": "lsa_" + "z" * 10 + "_" + "A" * 43,
        "wrong secret": f"lsa_{public_id}_" + "A" * 43,
        "revoked token": revoked,
    }

    def get(t: str) -> TestResponse:
        return client.get("/api/v1/products", headers={"Authorization": f"Bearer {t}"})

    assert_identical({n: get(t) for n, t in cases.items()})
    assert get(cases["revoked token"]).status_code == 401
    same_work({n: partial(get, t) for n, t in cases.items()})
