"""``licserver demo`` (what ``make run`` shows): the demo account's owner,
technical and basic users log in with the printed passwords, each seeing what
the matrix allows."""

from __future__ import annotations

import re

from licserver.domain import portal as rules
from tests.support.cli import Instance
from tests.support.portal import Browser


def test_demo_users_log_in_and_see_what_their_roles_allow(instance: Instance) -> None:  # noqa: F811
    instance.ok("init")
    out = instance.ok("demo")
    assert "(when the portal lands)" not in out
    assert re.search(r"messages are written as \.eml files to \S+outbox", out)
    found = re.findall(r"^  (owner|technical|basic|company)\s+(\S+)\s+password (\S+)", out, re.M)
    logins = {role: login for role, login, _ in found}
    passwords = {role: password for role, _, password in found}
    assert set(logins) == {"owner", "technical", "basic", "company"}
    licence = re.search(r"Licence (L-[0-9A-Z]{4}-[0-9A-Z]{4})", out)
    assert licence
    lic = licence.group(1)

    # a second run changes none of it
    assert instance.ok("demo").count("password demo-owner-password") == 1

    for app in instance.app():
        pages = {
            "licenses": ("GET", "/portal/licenses", rules.VIEW),
            "reveal": ("POST", f"/portal/licenses/{lic}/reveal", rules.SECRETS),
            "payments": ("GET", "/portal/payments", rules.PAYMENTS),
            "users": ("GET", "/portal/users", rules.USERS),
        }
        for role in ("owner", "technical", "basic", "company"):
            browser = Browser(app.test_client())
            r = browser.login(logins[role], passwords[role])
            assert r.status_code == 302, (role, r.get_data(as_text=True))
            effective = "technical" if role == "company" else role
            for name, (method, path, action) in pages.items():
                resp = browser.get(path) if method == "GET" else browser.post(path)
                expected = 200 if rules.role_allows(effective, action) else 403
                assert resp.status_code == expected, (role, name)
        # the demo has installations and orders to look at
        owner = Browser(app.test_client())
        owner.login(logins["owner"], passwords["owner"])
        page = owner.get(f"/portal/licenses/{lic}").get_data(as_text=True)
        assert "DESIGN-PC-07" in page and "LAPTOP-ANNA" in page
        assert "1500.00 EUR" in owner.get("/portal/payments").get_data(as_text=True)

    # the scheduled notices job: the demo's 30-day licence is due a reminder
    assert "expiry reminders: 1 licence(s)" in instance.ok("notices", "expiry")
    assert "expiry reminders: 0 licence(s)" in instance.ok("notices", "expiry")
    assert list((instance.instance_dir / "outbox").glob("*.eml"))
