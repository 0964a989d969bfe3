"""``licserver import`` and ``licserver jobs run``, through the click commands
the ``licserver`` script runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from licserver.extensions import db
from tests.support.factory import Factory


def _run(app: Flask, *args: str) -> Any:
    result = app.test_cli_runner().invoke(args=list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    db.session.remove()
    return result


def test_dry_run_prints_each_bad_row_by_line_and_writes_nothing(
    app: Flask, factory: Factory, tmp_path: Path
) -> None:
    factory.product("cad-pro")
    customers = tmp_path / "customers.csv"
    customers.write_text("external_id,name,email\nC1,Acme,it@acme.example\n")
    assert _run(app, "import", str(customers)).exit_code == 0
    licences = tmp_path / "old-licences.csv"
    licences.write_text(
        "external_id,customer_external_id,product,seats,expires_at\n"
        "L1,C1,cad-pro,2,2030-01-01\n"
        "L2,C1,cad-x,2,\n"
        "L3,C1,cad-pro,2,never\n"
    )
    r = _run(app, "import", str(licences), "--dry-run")
    assert r.exit_code == 1
    assert "line 3: product: unknown product 'cad-x'" in r.output
    assert "line 4: expires_at: not a date: 'never'" in r.output
    assert "Dry run: 3 rows, 1 fine, 2 with problems. Nothing was written." in r.output

    r = _run(app, "import", str(licences))
    assert r.exit_code == 0, r.output
    assert "1 created, 0 updated, 0 unchanged, 2 failed." in r.output
    r = _run(app, "import", str(licences), "--kind", "licences")
    assert "0 created, 0 updated, 1 unchanged, 2 failed." in r.output


def test_template_and_jobs_run(app: Flask, tmp_path: Path) -> None:
    r = _run(app, "import", "--template", "--kind", "users")
    assert r.output.splitlines()[0] == "external_id,customer_external_id,email,name,role"
    assert "no jobs due" in _run(app, "jobs", "run").output
