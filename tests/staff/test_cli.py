"""``licserver staff create|list|disable`` and the demo's staff admin, through
the same click commands the ``licserver`` script runs."""

from __future__ import annotations

from typing import Any

from flask import Flask

from licserver.extensions import db
from tests.support.cli import Instance
from tests.support.console import Console


def _run(app: Flask, *args: str, input: str | None = None) -> Any:
    result = app.test_cli_runner().invoke(args=list(args), input=input)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    db.session.remove()
    return result


def test_create_asks_for_the_password_twice_then_the_account_logs_in(
    app: Flask, console: Console
) -> None:
    r = _run(
        app,
        "staff",
        "create",
        "--email",
        "Ann@Vendor.test",
        "--name",
        "Ann",
        "--role",
        "admin",
        input="ann's long password\nann's long password\n",
    )
    assert r.exit_code == 0, r.output
    assert "Staff account ann@vendor.test (admin) created" in r.output
    assert "/admin/login" in r.output
    assert console.login("ann@vendor.test", "ann's long password").status_code == 302

    r = _run(app, "staff", "list")
    assert r.exit_code == 0
    line = [ln for ln in r.output.splitlines() if ln.startswith("ann@vendor.test")][0]
    assert line.split("\t")[:5] == ["ann@vendor.test", "Ann", "admin", "off", "active"]

    args = ("staff", "create", "--name", "Bo", "--role", "admin", "--password", "x" * 12)
    _run(app, *args, "--email", "bo@vendor.test")  # Ann is not the last admin
    r = _run(app, "staff", "disable", "ANN@vendor.test")
    assert r.exit_code == 0 and "is disabled" in r.output
    assert console.get("/admin/").status_code == 302  # the open session ended
    assert "\tdisabled\t" in _run(app, "staff", "list").output


def test_bad_input_is_a_clear_error_and_a_non_zero_exit(app: Flask) -> None:
    args = ("staff", "create", "--email", "bob@vendor.test", "--name", "Bob", "--role")
    r = _run(app, *args, "root", "--password", "long enough password")
    assert r.exit_code != 0 and "root" in r.output
    r = _run(app, *args, "support", "--password", "short")
    assert r.exit_code == 1 and "password" in r.output
    r = _run(app, *args, "support", input="first password 1\nsecond password 2\n" * 3)
    assert r.exit_code != 0
    r = _run(app, *args, "support", "--password", "long enough password")
    assert r.exit_code == 0
    r = _run(app, *args, "admin", "--password", "long enough password")
    assert r.exit_code == 1 and "exists already" in r.output
    r = _run(app, "staff", "disable", "nobody@vendor.test")
    assert r.exit_code == 1 and "No staff account" in r.output
    assert "bob@vendor.test\tBob\tsupport" in _run(app, "staff", "list").output


def test_demo_prints_how_to_log_in_to_the_console(instance: Instance) -> None:  # noqa: F811
    instance.ok("init")
    out = instance.ok("demo")
    assert "Customer portal:" in out  # what it printed before stays
    assert "/admin/login" in out.split("Staff console:")[1].splitlines()[0]
    line = [ln for ln in out.splitlines() if "admin@demo.example" in ln][0]
    password = line.split("password ")[1].split()[0]
    for app in instance.app():
        console = Console(app.test_client())
        assert console.login("admin@demo.example", password).status_code == 302
        assert "Demo Admin" in console.text("/admin/")
