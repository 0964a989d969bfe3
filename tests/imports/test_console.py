"""The console's import: upload → dry-run report → start → progress while the
worker (``licserver jobs run``) imports; templates to download. Admins only."""

from __future__ import annotations

import io
import re

from flask import Flask
from sqlalchemy import select

from licserver.extensions import db
from licserver.models import License
from licserver.runtime import context
from tests.support.console import Console, StaffMaker
from tests.support.factory import Factory

LICENCES = (
    "external_id,customer_external_id,product,seats,expires_at\n"
    "L1,C1,cad-pro,3,2030-01-01\n"
    "L2,C1,cad-pro,3,someday\n"
)


def _upload(console: Console, kind: str, name: str, text: str) -> str:
    resp = console.post(
        "/admin/imports",
        {"kind": kind, "file": (io.BytesIO(text.encode()), name)},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return resp.location.split("?", 1)[0]  # the job page, less ?follow=1


def _worker(app: Flask) -> str:
    db.session.remove()  # the test's reads end: the worker sees the console's writes
    out = app.test_cli_runner().invoke(args=["jobs", "run"]).output
    db.session.remove()
    return out


def test_upload_dry_run_start_and_progress(
    app: Flask, factory: Factory, admin_console: Console
) -> None:
    factory.product("cad-pro")
    page = admin_console.text("/admin/imports")
    assert "template (licences-template.csv)" in page
    tpl = admin_console.get("/admin/imports/template/licences.csv")
    assert tpl.mimetype == "text/csv" and tpl.get_data(as_text=True).startswith("external_id,")

    job = _upload(
        admin_console,
        "customers",
        "customers.csv",
        "external_id,name,email\nC1,Acme,it@acme.example\n",
    )
    admin_console.post(job + "/start")
    assert "import job" in _worker(app)

    job = _upload(admin_console, "licences", "licences.csv", LICENCES)
    report = admin_console.text(job)
    assert "1 of 2 rows are fine; 1 have problems" in report
    assert re.search(r"<td>3</td><td>expires_at: not a date: &#39;someday&#39;", report)
    assert "http-equiv" not in report  # a report waits for staff: no refresh
    assert context().session.scalars(select(License)).all() == []

    resp = admin_console.post(job + "/start")
    assert resp.status_code == 302
    assert resp.location.endswith("?follow=1")  # who started it follows it
    queued = admin_console.text(job + "?follow=1")
    assert 'http-equiv="refresh"' in queued and "0 of 2 rows done" in queued
    assert "http-equiv" not in admin_console.text(job)  # unasked, no timed refresh
    assert "import job" in _worker(app)
    done = admin_console.text(job)
    assert "2 of 2 rows done" in done and "http-equiv" not in done
    assert "1 created · 0 updated · 0 unchanged · 1 failed" in done
    assert len(context().session.scalars(select(License)).all()) == 1


def test_bad_files_and_support_staff_are_refused(
    app: Flask, admin_console: Console, new_console: object, make_staff: StaffMaker
) -> None:
    resp = admin_console.post(
        "/admin/imports",
        {"kind": "users", "file": (io.BytesIO(b"email,name\nx@y.example,X\n"), "u.csv")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 422
    assert "Missing column(s) for users: external_id" in resp.get_data(as_text=True)
    support = Console(app.test_client())
    support.login(make_staff("support").email)
    assert support.get("/admin/imports").status_code == 403
