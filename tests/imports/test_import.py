"""Importing from another system through the services the CLI and the console
call: the dry run's report by line, idempotence by external id, updates, seats."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select

from licserver.models import Activation, Customer, License, User
from licserver.runtime import context
from licserver.services.imports import jobs
from tests.support.factory import TEST_ORIGIN, Factory

CUSTOMERS = """external_id,name,email
C1,Acme Ltd,it@acme.example
C2,Globex,ops@globex.example
"""
USERS = """external_id,customer_external_id,email,name,role
U1,C1,ann@acme.example,Ann,owner
U2,C2,bob@globex.example,Bob,manager
"""


def _import(kind: str, text: str, name: str = "f.csv") -> jobs.ImportJob:
    ctx = context()
    job = jobs.create(ctx, kind, name, text.encode(), "tests")
    jobs.check(ctx, job.id, TEST_ORIGIN)
    jobs.start(ctx, job.id)
    return jobs.run(ctx, job.id, TEST_ORIGIN)


def _report(kind: str, text: str) -> dict[int, list[str]]:
    report = jobs.dry_run(context(), kind, "f.csv", text.encode(), TEST_ORIGIN)
    return dict(report.problems)


def _counts(job: jobs.ImportJob) -> tuple[int, int, int, int]:
    return job.created, job.updated, job.unchanged, job.failed


def _count(model: type) -> int:
    return int(context().session.scalar(select(func.count()).select_from(model)) or 0)


def test_dry_run_reports_every_bad_row_by_line_and_writes_nothing(
    app: Flask, factory: Factory
) -> None:
    factory.product("cad-pro")
    _import("customers", CUSTOMERS)
    _import("users", USERS)
    users = (
        "external_id,customer_external_id,email,name,role\n"
        "U3,C1,carl@acme.example,Carl,technical\n"
        "U4,C1,carl@acme.example,Carl 2,technical\n"  # line 3: duplicate in the file
        "U5,C2,ann@acme.example,Ann again,basic\n"  # line 4: taken by U1
        "U6,C2,dan@globex.example,Dan,emperor\n"  # line 5: unknown role
        "U7,C9,eve@globex.example,Eve,basic\n"  # line 6: unknown customer
    )
    problems = _report("users", users)
    assert sorted(problems) == [3, 4, 5, 6]
    assert "duplicate email, also on line 2" in problems[3][0]
    assert "duplicate email, already a user of customer" in problems[4][0]
    assert "unknown role 'emperor'" in problems[5][0]
    assert "no imported customer 'C9'" in problems[6][0]
    licences = (
        "external_id,customer_external_id,product,seats,expires_at,legacy_keys\n"
        "L1,C1,cad-pro,2,2030-01-01,OLD-AAAA-1111\n"
        "L2,C1,no-such,2,,\n"  # line 3
        "L3,C1,cad-pro,2,31/12/2030,\n"  # line 4
        "L4,C1,cad-pro,0,,\n"  # line 5
        "L5,C1,cad-pro,1,,short\n"  # line 6: malformed legacy key
        "L6,C1,cad-pro,1,,OLD-AAAA-1111\n"  # line 7: the key of line 2
        "L1,C2,cad-pro,1,,\n"  # line 8: external id again
    )
    problems = _report("licences", licences)
    assert sorted(problems) == [3, 4, 5, 6, 7, 8]
    assert "unknown product 'no-such'" in problems[3][0]
    assert "not a date" in problems[4][0]
    assert "seats" in problems[5][0]
    assert "malformed legacy key" in problems[6][0]
    assert "also on line 2" in problems[7][0]
    assert "duplicate of line 2" in problems[8][0]
    assert _count(License) == 0 and _count(User) == 2


def test_import_twice_changes_nothing_and_a_changed_row_updates(
    app: Flask, factory: Factory
) -> None:
    factory.product("cad-pro")
    assert _counts(_import("customers", CUSTOMERS)) == (2, 0, 0, 0)
    assert _counts(_import("customers", CUSTOMERS)) == (0, 0, 2, 0)
    assert _count(Customer) == 2
    changed = CUSTOMERS.replace("Globex,", "Globex Corp,")
    assert _counts(_import("customers", changed)) == (0, 1, 1, 0)
    names = set(context().session.scalars(select(Customer.name)))
    assert names == {"Acme Ltd", "Globex Corp"}
    licences = (
        "external_id,customer_external_id,product,seats,expires_at\nL1,C1,cad-pro,3,2030-01-01\n"
    )
    assert _counts(_import("licences", licences)) == (1, 0, 0, 0)
    assert _counts(_import("licences", licences)) == (0, 0, 1, 0)
    job = _import("licences", licences.replace(",3,", ",7,"))
    assert _counts(job) == (0, 1, 0, 0)
    lic = context().session.scalars(select(License)).one()
    assert (lic.seats, lic.expires_at.year) == (7, 2030)


def test_activations_import_respects_seats(app: Flask, factory: Factory) -> None:
    factory.product("cad-pro")
    _import("customers", CUSTOMERS)
    _import(
        "licences",
        "external_id,customer_external_id,product,seats\nL1,C1,cad-pro,2\n",
    )
    acts = (
        "external_id,licence_external_id,installation_id,machine_name,activated_at\n"
        "A1,L1,install-0001,PC-1,2025-03-01T09:30:00Z\n"
        "A2,L1,install-0002,PC-2,2025-03-02\n"
        "A3,L1,install-0003,PC-3,\n"  # line 4: a third seat of two
        "A4,L1,bad id,PC-4,\n"  # line 5
    )
    problems = _report("activations", acts)
    assert sorted(problems) == [4, 5]
    assert "has 2 seats, fewer than the 3 active installations" in problems[4][0]
    job = _import("activations", acts)
    assert _counts(job) == (2, 0, 0, 2)
    assert [p[0] for p in job.problems] == [4, 5]
    lic = context().session.scalars(select(License)).one()
    assert lic.seats_used == 2 and _count(Activation) == 2
    assert _counts(_import("activations", acts)) == (0, 0, 2, 2)
    lower = "external_id,customer_external_id,product,seats\nL1,C1,cad-pro,1\n"
    problems = _report("licences", lower)
    assert "seats: 1 < 2 active installations" in problems[2][0]
