"""Bad input tried: machine names and client info carrying HTML, template
syntax, SQL, bidi overrides, zero-width and 4-byte characters are stored and
returned exactly as sent, shown as text in the portal (a real browser runs no
script of theirs), neutralised in the CSV export, and each request is one log
line. CR/LF and other control characters are refused (422), never stored."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from flask import Flask

from tests.live import LiveServer
from tests.support.database import TestDatabase
from tests.support.portal import PASSWORD, AccountMaker

pytestmark = pytest.mark.e2e

HOSTILE = {
    "html": "<script>window.__pwned=1;alert(1)</script><img src=x onerror=alert(2)>",
    "attribute": '" autofocus onfocus="alert(3)" x="',
    "template": "{{7*7}} {% if 1 %}x{% endif %} ${7*7} #{7*7} <%= 7*7 %>",
    "sql": "'; DROP TABLE activations; -- \" OR '1'='1",
    "rtl override": "\u202eexe.pdf",
    "zero-width": "PC\u200b\u200c\u200d\u2060\ufeff-1",
    "4-byte": "𝕃𝕀ℂ 😀🏳️‍🌈 𠜎",
    "combining": "e\u0301 ≠ é",
    "backslash": "C:\\Users\\x\\n",
    "tab": "left\tright",
    "formula =": '=HYPERLINK("http://evil.test","click")',
    "formula +": "+1+1",
    "formula -": "-2+3",
    "formula @": "@SUM(A1:A2)",
}
REFUSED = {
    "CR/LF": "line1\r\nSet-Cookie: x=1",
    "LF": "a\nb",
    "NUL": "a\x00b",
    "ESC": "a\x1b[31mred",
    "DEL-less C1": "a\x85b",
}


@pytest.fixture(scope="module")
def _logged_server(test_database: TestDatabase) -> Iterator[LiveServer]:
    server = LiveServer(test_database, 2, env={"LICSERVER_LOG_FORMAT": "json"})
    yield server
    server.stop()


@pytest.fixture
def logged_server(app: Flask, _logged_server: LiveServer) -> LiveServer:
    """One server for the module, on the tables ``app`` has just emptied."""
    return _logged_server


def _activate(http: httpx.Client, lic: Any, i: int, name: str) -> httpx.Response:
    return http.post(
        "/api/v1/activations",
        json={
            "license_id": lic.id,
            "activation_password": lic.activation_password,
            "installation_id": f"hostile-install-{i:03d}",
            "machine_name": name,
            "client": {"app_version": name[:100], "os": name, "hostname": name},
        },
    )


@pytest.fixture
def hostile(
    logged_server: LiveServer, make_account: AccountMaker, admin_token: str
) -> Iterator[tuple[LiveServer, Any, dict[str, str]]]:
    acc = make_account("hostile", activations=0)
    lic = acc.licenses[0]
    with logged_server.client(admin_token) as admin:
        assert admin.patch(f"/api/v1/licenses/{lic.id}", json={"seats": 50}).status_code == 200
    ids: dict[str, str] = {}
    with logged_server.client() as http:
        for i, (what, name) in enumerate(HOSTILE.items()):
            r = _activate(http, lic, i, name)
            assert r.status_code == 201, (what, r.text)
            body = r.json()
            # exactly as sent: the same code points, and UTF-8 on the wire, unescaped
            assert body["machine_name"] == name, what
            if '"' not in name and "\\" not in name and "\t" not in name:
                assert name.encode("utf-8") in r.content, what
            ids[body["activation_id"]] = name
    yield logged_server, acc, ids


def test_hostile_names_are_stored_and_returned_byte_identical(
    hostile: tuple[LiveServer, Any, dict[str, str]], admin_token: str
) -> None:
    server, acc, ids = hostile
    lic = acc.licenses[0]
    with server.client(admin_token) as admin:
        items = admin.get(f"/api/v1/licenses/{lic.id}/activations", params={"limit": 200}).json()[
            "items"
        ]
        assert {a["id"]: a["machine_name"] for a in items} == ids
        for a in items:
            name = ids[a["id"]]
            assert a["client"] == {"app_version": name[:100], "os": name, "hostname": name}
        events = admin.get(f"/api/v1/licenses/{lic.id}/events", params={"limit": 200}).json()
        created = [e for e in events["items"] if e["kind"] == "activation.created"]
        assert sorted(e["machine_name"] for e in created) == sorted(ids.values())
        # the search across licences finds them by their exact text
        for name in (HOSTILE["sql"], HOSTILE["4-byte"], HOSTILE["rtl override"]):
            found = admin.get("/api/v1/activations", params={"machine_name": name}).json()
            assert name in [a["machine_name"] for a in found["items"]], name


def test_control_characters_are_refused_and_nothing_is_stored(
    logged_server: LiveServer, make_account: AccountMaker, admin_token: str
) -> None:
    lic = make_account("ctrl", activations=0).licenses[0]
    with logged_server.client() as http:
        for i, (what, name) in enumerate(REFUSED.items()):
            r = _activate(http, lic, 100 + i, name)
            assert r.status_code == 422, (what, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
            assert "machine_name" in r.json()["errors"], what
            # in the client info alone, too
            r = http.post(
                "/api/v1/activations",
                json={
                    "license_id": lic.id,
                    "activation_password": lic.activation_password,
                    "installation_id": f"ctrl-install-{i:03d}",
                    "machine_name": "PC",
                    "client": {"hostname": name},
                },
            )
            assert r.status_code == 422, (what, r.text)
            assert "client.hostname" in r.json()["errors"], what
    with logged_server.client(admin_token) as admin:
        lic_view = admin.get(f"/api/v1/licenses/{lic.id}").json()
        assert lic_view["seats_used"] == 0


def test_one_log_line_per_request_whatever_the_names(
    hostile: tuple[LiveServer, Any, dict[str, str]],
) -> None:
    server, _, ids = hostile
    time.sleep(0.5)  # the workers write unbuffered; let the last lines land
    lines = server.log().splitlines()
    access = []
    for line in lines:
        if line.startswith("{"):
            record = json.loads(line)  # every licserver line is one whole JSON object
            if record.get("path") == "/api/v1/activations":
                access.append(record)
    # this test's requests are the last ones to that path
    access = access[-len(ids) :]
    assert len(access) == len(ids)
    assert all(r["status"] == 201 for r in access)
    # the names never reach the log, so they cannot forge lines in it
    assert not any(HOSTILE["html"] in line or "DROP TABLE" in line for line in lines)


def test_portal_shows_hostile_names_as_text_and_exports_safe_csv(
    hostile: tuple[LiveServer, Any, dict[str, str]], chromium: Any
) -> None:
    server, acc, ids = hostile
    lic = acc.licenses[0]
    context = chromium.new_context()
    page = context.new_page()
    page.set_default_timeout(15000)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        page.goto(f"{server.url}/portal/login")
        page.fill("#login", acc.emails["owner"])
        page.fill("#password", PASSWORD)
        page.click("button.primary")
        page.wait_for_url(f"{server.url}/portal/licenses")

        for path in (f"/portal/licenses/{lic.id}", "/portal/history"):
            page.goto(f"{server.url}{path}")
            # the history's other events (licence created...) have no machine: "—"
            shown = [t for t in page.locator("td.machine").all_text_contents() if t != "—"]
            assert sorted(shown) == sorted(ids.values()), path
            assert page.evaluate("window.__pwned") is None
            assert page.locator("table img").count() == 0
            assert page.locator("script").count() == 0
        assert dialogs == []

        r = context.request.get(f"{server.url}/portal/history.csv")
        assert r.status == 200 and r.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(r.text())))
        column = rows[0].index(next(h for h in rows[0] if "machine" in h.lower()))
        names = [row[column] for row in rows[1:] if row[column]]
        assert len(names) == len(ids)
        for cell in names:
            assert cell[:1] not in ("=", "+", "-", "@"), cell
            original = cell[1:] if cell.startswith("'") and cell[1:2] in "=+-@" else cell
            assert original in ids.values(), cell
    finally:
        context.close()


def test_staff_console_shows_hostile_names_as_text(
    hostile: tuple[LiveServer, Any, dict[str, str]], chromium: Any, app: Flask
) -> None:
    from licserver.extensions import db
    from licserver.runtime import context as services_context
    from licserver.services import staff as staff_service

    server, acc, ids = hostile
    lic = acc.licenses[0]
    with app.app_context():
        staff_service.create(
            services_context(),
            email="hostile-support@vendor.test",
            name="Support",
            role="support",
            password=PASSWORD,
        )
        db.session.remove()
    context = chromium.new_context()
    page = context.new_page()
    page.set_default_timeout(15000)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        page.goto(f"{server.url}/admin/login")
        page.fill("#email", "hostile-support@vendor.test")
        page.fill("#password", PASSWORD)
        page.click("button.primary")
        page.wait_for_url(f"{server.url}/admin/**")
        page.goto(f"{server.url}/admin/licenses/{lic.id}")
        shown = page.locator("#active-installations td.machine").all_text_contents()
        assert sorted(shown) == sorted(ids.values())
        page.goto(f"{server.url}/admin/")
        page.fill("#q", "hostile-install-001")
        page.click("form.search button")
        assert page.locator("td.machine").all_text_contents() == [ids_by_install(ids, 1)]
        assert page.evaluate("window.__pwned") is None
        assert page.locator("table img").count() == 0
        assert page.locator("script").count() == 0
        assert dialogs == []
    finally:
        context.close()


def ids_by_install(ids: dict[str, str], i: int) -> str:
    """The machine name sent with installation ``hostile-install-<i>``."""
    return list(HOSTILE.values())[i]
