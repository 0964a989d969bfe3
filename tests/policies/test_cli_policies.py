"""``licserver policies ...`` and ``licserver sweep``, through Flask's CLI runner
against the app on the test database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from licserver.extensions import db
from licserver.models import Activation
from licserver.models.policy import Policy
from tests.api.helpers import activated, events
from tests.support.factory import AdminClient, Factory


def _run(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(args=list(args))


def _policy_id(name: str) -> str:
    return db.session().scalars(select(Policy.public_id).where(Policy.name == name)).one()


def test_create_list_show_and_errors(app: Flask, factory: Factory) -> None:
    product = factory.product()
    r = _run(
        app, "policies", "create", product, "float", "--set", "model=floating",
        "--set", "lease_ttl=300", "--set", 'features=["pro","export"]',
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert 'model = "floating"' in r.output and "lease_ttl = 300" in r.output
    r = _run(app, "policies", "list", product)
    assert r.exit_code == 0 and "\tfloat\tfloating\t-\tlicences: 0" in r.output
    r = _run(app, "policies", "show", _policy_id("float"))
    assert '"export"' in r.output

    r = _run(app, "policies", "create", product, "bad", "--set", "model=rental")
    assert r.exit_code == 1 and "settings.model" in r.output
    r = _run(app, "policies", "create", product, "bad", "--set", "noequals")
    assert r.exit_code == 1 and "key=value" in r.output
    r = _run(app, "policies", "create", product, "float")
    assert r.exit_code == 1 and "already has a policy" in r.output
    r = _run(app, "policies", "list", "no-such-product")
    assert r.exit_code == 1


def test_update_dry_run_then_save_then_sweep(
    app: Flask, client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    product = factory.product()
    assert _run(app, "policies", "create", product, "std").exit_code == 0
    pid = _policy_id("std")
    lic = admin.post(
        "/api/v1/licenses",
        json={"product": product, "customer": factory.customer(), "seats": 2, "policy": "std"},
    ).get_json()
    act: dict[str, Any] = activated(client, {"license_key": lic["key"]}, iid="quiet-box-01")
    then = datetime.now(UTC) - timedelta(days=3)
    session = db.session()
    session.execute(
        update(Activation)
        .where(Activation.public_id == act["activation_id"])
        .values(activated_at=then, last_checkin_at=then)
    )
    session.commit()

    args = ["--set", "heartbeat_required=true", "--set", "inactive_after=86400",
            "--set", "free_seat_when_inactive=true"]  # fmt: skip
    r = _run(app, "policies", "update", pid, *args, "--dry-run")
    assert r.exit_code == 0, r.output
    assert r.output.startswith("Dry run: nothing saved.")
    assert "Machines affected now: 1" in r.output and "free_seat" in r.output
    assert act["activation_id"] in r.output

    r = _run(app, "policies", "update", pid, *args)
    assert r.exit_code == 0 and "Machines affected now: 1" in r.output

    r = _run(app, "sweep", "--dry-run")
    assert r.exit_code == 0, r.output
    assert "nothing changed" in r.output and "act on now: 1" in r.output
    assert act["activation_id"] in r.output and "free_seat" in r.output
    assert admin.get(f"/api/v1/licenses/{lic['id']}").get_json()["seats_used"] == 1
    assert not events(admin, lic["id"], "activation.deactivated")

    r = _run(app, "sweep")
    assert r.exit_code == 0, r.output
    assert "seats freed 1" in r.output
    freed = events(admin, lic["id"], "activation.deactivated")
    assert freed and freed[-1]["actor"]["type"] == "system"
    assert admin.get(f"/api/v1/licenses/{lic['id']}").get_json()["seats_used"] == 0
    # a second pass finds nothing
    assert "seats freed 0" in _run(app, "sweep").output
