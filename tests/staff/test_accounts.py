"""Account management in the console and the CLI: enable, a new role, one's
own password, a temporary password set by an admin; always one enabled admin;
every change in the history under the staff user (or the CLI) that made it."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import select

from licserver.extensions import db
from licserver.models import Event
from licserver.runtime import context
from tests.support.console import PASSWORD, Console, StaffMaker


def _events(kind: str) -> list[Event]:
    db.session.remove()
    return list(db.session.scalars(select(Event).where(Event.kind == kind)).all())


def _run(app: Flask, *args: str, input: str | None = None) -> Any:
    result = app.test_cli_runner().invoke(args=list(args), input=input)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    db.session.remove()
    return result


def test_admin_disables_enables_and_changes_a_role(
    admin_console: Console, new_console: Callable[[], Console], make_staff: StaffMaker
) -> None:
    sup = make_staff("support")
    assert admin_console.post(f"/admin/staff/{sup.public_id}/disable").status_code == 302
    assert new_console().login(sup.email).status_code == 401

    page = admin_console.text("/admin/staff")
    assert "disabled" in page.split(f'id="staff-{sup.public_id}"')[1].split("</tr>")[0]
    resp = admin_console.post(f"/admin/staff/{sup.public_id}/enable")
    assert resp.status_code == 302
    assert f"{sup.email} (support) can log in again." in admin_console.text("/admin/staff")
    other = new_console()
    assert other.login(sup.email).status_code == 302
    assert other.get("/admin/staff").status_code == 403  # support: not this page

    resp = admin_console.post(f"/admin/staff/{sup.public_id}/role", {"role": "admin"})
    assert resp.status_code == 302
    assert "is now admin (was support)" in admin_console.text("/admin/staff")
    assert other.get("/admin/staff").status_code == 200  # at once, same session

    assert (
        admin_console.post(f"/admin/staff/{sup.public_id}/role", {"role": "root"}).status_code
        == 422
    )
    (enabled,) = _events("staff.enabled")
    (changed,) = _events("staff.role_changed")
    (disabled,) = _events("staff.disabled")
    for ev in (enabled, changed, disabled):
        assert ev.actor_type == "admin" and ev.actor_id == "staff:admin1@vendor.test"
        assert ev.data["email"] == sup.email
    assert changed.data["before"] == "support" and changed.data["role"] == "admin"


def test_the_last_enabled_admin_is_never_demoted_or_disabled(
    admin_console: Console, new_console: Callable[[], Console], make_staff: StaffMaker
) -> None:
    me = "admin1@vendor.test"
    second = make_staff("admin")
    page = admin_console.text("/admin/staff")
    my_id = re.search(r'id="staff-([^"]+)"[^>]*>\s*<td>admin1@vendor\.test', page)
    assert my_id
    mine = my_id.group(1)

    assert admin_console.post(f"/admin/staff/{second.public_id}/disable").status_code == 302
    resp = admin_console.post(f"/admin/staff/{mine}/role", {"role": "support"})
    assert resp.status_code == 409
    assert f"{me} is the last enabled admin" in resp.get_data(as_text=True)
    assert "admin" in admin_console.text("/admin/staff")  # still in
    # the CLI keeps the same rule
    app = admin_console.client.application
    r = _run(app, "staff", "disable", me)
    assert r.exit_code == 1 and "last enabled admin" in r.output
    r = _run(app, "staff", "set-role", me, "support")
    assert r.exit_code == 1 and "last enabled admin" in r.output

    # with the second admin enabled again, demoting oneself is allowed
    assert admin_console.post(f"/admin/staff/{second.public_id}/enable").status_code == 302
    resp = admin_console.post(f"/admin/staff/{mine}/role", {"role": "support"})
    assert resp.status_code == 302 and resp.location.endswith("/admin/")
    assert admin_console.get("/admin/staff").status_code == 403
    c = new_console()
    assert c.login(second.email).status_code == 302
    resp = c.post(f"/admin/staff/{second.public_id}/role", {"role": "support"})
    assert resp.status_code == 409 and "last enabled admin" in resp.get_data(as_text=True)
    assert [e.data["role"] for e in _events("staff.role_changed")] == ["support"]


def test_own_password_change_ends_the_other_sessions(
    new_console: Callable[[], Console], make_staff: StaffMaker
) -> None:
    acc = make_staff("support")
    here, there = new_console(), new_console()
    assert here.login(acc.email).status_code == 302
    assert there.login(acc.email).status_code == 302
    assert "Change password" in here.text("/admin/account/password")

    new = "a brand new password"
    resp = here.post(
        "/admin/account/password", {"current": "wrong one!", "password": new, "confirm": new}
    )
    assert resp.status_code == 401 and "The current password is wrong." in resp.get_data(
        as_text=True
    )
    resp = here.post(
        "/admin/account/password", {"current": PASSWORD, "password": new, "confirm": new + "x"}
    )
    assert resp.status_code == 422 and "The two differ." in resp.get_data(as_text=True)
    resp = here.post(
        "/admin/account/password", {"current": PASSWORD, "password": "short", "confirm": "short"}
    )
    assert resp.status_code == 422 and "At least 10 characters." in resp.get_data(as_text=True)
    assert there.get("/admin/").status_code == 200  # nothing changed yet

    resp = here.post(
        "/admin/account/password", {"current": PASSWORD, "password": new, "confirm": new}
    )
    assert resp.status_code == 302
    assert "your other sessions have ended" in here.text("/admin/account/password")
    assert there.get("/admin/").status_code == 302  # to the log-in page
    assert new_console().login(acc.email).status_code == 401
    assert new_console().login(acc.email, new).status_code == 302
    (ev,) = _events("staff.password_changed")
    assert ev.actor_id == f"staff:{acc.email}" and ev.data["email"] == acc.email
    assert new not in str(ev.data)


def test_admin_sets_a_temporary_password_shown_once(
    admin_console: Console,
    support_console: Console,
    new_console: Callable[[], Console],
    make_staff: StaffMaker,
) -> None:
    acc = make_staff("support", email="sam@vendor.test")
    sam = new_console()
    assert sam.login(acc.email).status_code == 302
    # support may not
    assert support_console.post(f"/admin/staff/{acc.public_id}/password").status_code == 403

    resp = admin_console.post(f"/admin/staff/{acc.public_id}/password")
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    found = re.search(r'id="temporary-password">([^<]+)<', resp.get_data(as_text=True))
    assert found
    temporary = found.group(1)
    assert len(temporary) >= 10
    assert temporary not in admin_console.text("/admin/staff")  # shown once only

    assert sam.get("/admin/").status_code == 302  # Sam's session ended
    assert new_console().login(acc.email).status_code == 401
    assert sam.login(acc.email, temporary).status_code == 302
    # then Sam picks their own
    mine = "sam's own password"
    resp = sam.post(
        "/admin/account/password", {"current": temporary, "password": mine, "confirm": mine}
    )
    assert resp.status_code == 302
    (ev,) = _events("staff.password_reset")
    assert ev.actor_id == "staff:admin1@vendor.test" and ev.data["email"] == acc.email
    assert temporary not in str(ev.data)


def test_a_temporary_password_is_changed_before_anything_else(
    admin_console: Console, new_console: Callable[[], Console], make_staff: StaffMaker
) -> None:
    acc = make_staff("support", email="tess@vendor.test")
    resp = admin_console.post(f"/admin/staff/{acc.public_id}/password")
    found = re.search(r'id="temporary-password">([^<]+)<', resp.get_data(as_text=True))
    assert found
    temporary = found.group(1)
    tess = new_console()
    assert tess.login(acc.email, temporary).status_code == 302
    # every page, and every form, sends Tess to the password page first
    for path in ("/admin/", "/admin/licenses", "/admin/customers"):
        resp = tess.get(path)
        assert resp.status_code == 303 and resp.location.endswith("/admin/account/password")
    assert tess.post("/admin/staff", {"email": "x@vendor.test"}).status_code == 303
    page = tess.text("/admin/account/password")
    assert "Choose a password of your own" in page
    mine = "tess chose this one"
    resp = tess.post(
        "/admin/account/password", {"current": temporary, "password": mine, "confirm": mine}
    )
    assert resp.status_code == 302
    assert tess.get("/admin/").status_code == 200
    # a new account an admin made starts the same way
    resp = admin_console.post(
        "/admin/staff",
        {
            "email": "newbie@vendor.test",
            "name": "New Bie",
            "role": "support",
            "password": "admin-chosen-1",
            "confirm": "admin-chosen-1",
        },
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    newbie = new_console()
    assert newbie.login("newbie@vendor.test", "admin-chosen-1").status_code == 302
    assert newbie.get("/admin/").location.endswith("/admin/account/password")


def test_cli_enable_set_role_and_set_password(
    app: Flask, console: Console, make_staff: StaffMaker
) -> None:
    make_staff("admin")
    acc = make_staff("support", email="cli@vendor.test")
    assert _run(app, "staff", "disable", "CLI@vendor.test").exit_code == 0
    r = _run(app, "staff", "enable", "cli@vendor.test")
    assert r.exit_code == 0 and "cli@vendor.test (support) is enabled" in r.output

    r = _run(app, "staff", "set-role", "cli@vendor.test", "admin")
    assert r.exit_code == 0 and "role support -> admin" in r.output
    r = _run(app, "staff", "set-role", "cli@vendor.test", "admin")
    assert r.exit_code == 0 and "is admin already" in r.output
    r = _run(app, "staff", "set-role", "cli@vendor.test", "root")
    assert r.exit_code != 0 and "root" in r.output

    new = "set by the operator"
    r = _run(app, "staff", "set-password", "cli@vendor.test", input=f"{new}\n{new}\n")
    assert r.exit_code == 0 and "New password set for cli@vendor.test" in r.output
    assert console.login(acc.email, new).status_code == 302
    r = _run(app, "staff", "set-password", "cli@vendor.test", "--password", "short")
    assert r.exit_code == 1 and "password" in r.output
    for cmd in ("enable", "set-password"):
        r = _run(
            app,
            "staff",
            cmd,
            "nobody@vendor.test",
            *(["--password", new] if cmd != "enable" else []),
        )
        assert r.exit_code == 1 and "No staff account" in r.output

    kinds = ("staff.disabled", "staff.enabled", "staff.role_changed", "staff.password_reset")
    for kind in kinds:
        (ev,) = _events(kind)
        assert (ev.actor_type, ev.actor_id) == ("admin", "cli")


def test_two_admins_demoting_each_other_at_once_leave_one_admin(
    app: Flask, make_staff: StaffMaker
) -> None:
    """The second change waits for the first (SQLite's write lock, PostgreSQL's
    row locks) and then counts what it left: one of them is refused."""
    from sqlalchemy.orm import Session

    from licserver.database import begin_write
    from licserver.domain.errors import Conflict
    from licserver.models.staff import StaffUser
    from licserver.services import Actor, Origin
    from licserver.services import staff as staff_service

    one, two = make_staff("admin"), make_staff("admin")
    origin = Origin(Actor("admin", "cli"))
    outcome: list[str] = []

    def demote_two() -> None:
        with app.app_context():
            try:
                staff_service.set_role(context(), two.email, "support", origin)
                outcome.append("demoted")
            except Conflict as exc:
                outcome.append(exc.detail)
            finally:
                db.session.remove()

    with app.app_context():
        first = Session(db.engine)
        begin_write(first)
        staff_service._locked(first, one.email)  # what set_role does first
        thread = threading.Thread(target=demote_two)
        thread.start()
        thread.join(0.5)
        assert thread.is_alive()  # waiting for the first change
        row = first.scalars(select(StaffUser).where(StaffUser.email == one.email)).one()
        row.role = "support"
        first.commit()
        first.close()
        thread.join(10)
    assert len(outcome) == 1 and "is the last enabled admin" in outcome[0]
    db.session.remove()
    roles = {r.email: r.role for r in db.session.scalars(select(StaffUser))}
    assert roles == {one.email: "support", two.email: "admin"}


def test_a_new_account_is_recorded_under_whoever_made_it(
    app: Flask, admin_console: Console
) -> None:
    admin_console.get("/admin/staff")
    form = {
        "email": "made.here@vendor.test",
        "name": "Made Here",
        "role": "support",
        "password": PASSWORD,
        "confirm": PASSWORD,
    }
    assert admin_console.post("/admin/staff", form).status_code == 302
    args = ("staff", "create", "--email", "made.there@vendor.test", "--name", "Made There")
    assert _run(app, *args, "--role", "admin", "--password", PASSWORD).exit_code == 0
    made = {e.data["email"]: e for e in _events("staff.created")}
    here, there = made["made.here@vendor.test"], made["made.there@vendor.test"]
    assert (here.actor_type, here.actor_id, here.data["role"]) == (
        "admin",
        "staff:admin1@vendor.test",
        "support",
    )
    assert (there.actor_type, there.actor_id, there.data["role"]) == ("admin", "cli", "admin")
