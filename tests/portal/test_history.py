"""Activation history: filters, pages, CSV export."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import timedelta

from flask.testing import FlaskClient

from licserver.models import utcnow
from tests.support.portal import Account, AccountMaker, Browser, activate, text_of


def _rows(page: str) -> list[str]:
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in page else ""
    return [html.unescape(r) for r in body.split("<tr>")[1:]]


def _kinds(page: str) -> list[str]:
    return re.findall(r'<span class="kind kind-\w+">([\w.]+)</span>', page)


def _account(make_account: AccountMaker, client: FlaskClient) -> Account:
    acc = make_account(activations=2)  # ACME-PC-01, ACME-PC-02 on the first licence
    activate(client, acc.licenses[1], "Büro-Laptop", "acme-install-bureau")
    return acc


def test_every_event_of_the_account_newest_first(
    make_account: AccountMaker, client: FlaskClient, browser: Browser
) -> None:
    acc = _account(make_account, client)
    browser.login(acc.emails["basic"])
    page = text_of(browser.get("/portal/history"))
    assert _kinds(page) == [
        "activation.created",
        "activation.created",
        "activation.created",
        "license.created",
        "license.created",
    ]
    first = _rows(page)[0]
    assert "Büro-Laptop" in first and "acme-install-bureau" in first and acc.licenses[1].id in first
    assert "client" in first


def test_filters(make_account: AccountMaker, client: FlaskClient, browser: Browser) -> None:
    acc = _account(make_account, client)
    browser.login(acc.emails["owner"])
    lic0, lic1 = acc.licenses[0].id, acc.licenses[1].id

    def rows(query: str) -> list[str]:
        r = browser.get(f"/portal/history?{query}")
        assert r.status_code == 200, text_of(r)
        return _rows(text_of(r))

    assert len(rows(f"license={lic1}")) == 2  # created, activated
    assert all(lic1 in r for r in rows(f"license={lic1}"))
    # machine name: any part, any case (also beyond ASCII)
    assert len(rows("machine_name=pc-0")) == 2
    assert len(rows("machine_name=BÜRO")) == 1
    assert len(rows("machine_name=%25")) == 0  # a literal %, not a wildcard
    assert len(rows("installation_id=acme-install-0001")) == 1
    assert len(rows("installation_id=acme-install")) == 0  # exact
    assert len(rows("kind=license.created")) == 2
    assert len(rows(f"kind=activation.created&license={lic0}&machine_name=02")) == 1
    today = utcnow().date()
    assert len(rows(f"since={today}&until={today}")) == 5
    assert rows(f"since={today + timedelta(days=1)}") == []
    assert rows(f"until={today - timedelta(days=1)}") == []
    # the form shows the filters it applied
    page = text_of(browser.get("/portal/history?machine_name=pc-0"))
    assert 'value="pc-0"' in page
    assert browser.get("/portal/history?since=yesterday").status_code == 422
    assert browser.get("/portal/history?kind=made.up").status_code == 422


def test_pages_of_fifty(make_account: AccountMaker, client: FlaskClient, browser: Browser) -> None:
    acc = make_account(activations=0)
    lic = acc.licenses[1]
    act = activate(client, lic, "BUSY-PC", "busy-install-0001")
    for _ in range(55):
        r = client.post(
            f"/api/v1/activations/{act['activation_id']}/checkin",
            json={"activation_token": act["activation_token"]},
        )
        assert r.status_code == 200
    browser.login(acc.emails["basic"])
    page = text_of(browser.get(f"/portal/history?license={lic.id}"))
    assert len(_rows(page)) == 50
    older = re.search(r'<a href="([^"]+)">Older »</a>', page)
    assert older, "no link to older events"
    second = text_of(browser.get(html.unescape(older.group(1))))
    assert len(_rows(second)) == 7  # 55 check-ins, the activation, the licence
    assert _kinds(second)[-1] == "license.created"
    assert "Older »" not in second and "« Newest" in second
    assert f"license={lic.id}" in html.unescape(older.group(1))  # filters are kept


def test_csv_export(make_account: AccountMaker, client: FlaskClient, browser: Browser) -> None:
    acc = _account(make_account, client)
    activate(client, acc.licenses[1], '=HYPERLINK("http://evil.test")', "acme-install-evil")
    browser.login(acc.emails["billing"])
    r = browser.get("/portal/history.csv?kind=activation.created")
    assert r.status_code == 200
    assert r.mimetype == "text/csv"
    assert r.headers["Content-Disposition"] == 'attachment; filename="activation-history.csv"'
    rows = list(csv.reader(io.StringIO(text_of(r))))
    assert rows[0] == [
        "at",
        "event",
        "license_id",
        "installation_id",
        "machine_name",
        "actor",
        "ip",
        "reason",
    ]
    assert len(rows) == 1 + 4
    assert {row[1] for row in rows[1:]} == {"activation.created"}
    assert rows[1][4] == '\'=HYPERLINK("http://evil.test")'  # never a formula
    assert rows[2][4] == "Büro-Laptop"
    assert rows[2][2] == acc.licenses[1].id
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", rows[1][0])
