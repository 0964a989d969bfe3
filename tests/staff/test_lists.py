"""The console's lists: filters, sorting, cursor pages, counts, and the CSV
export of exactly what is listed (formula cells neutralised)."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from flask.testing import FlaskClient

from licserver.extensions import db
from licserver.runtime import context
from licserver.services import license_changes
from licserver.services import orders as order_service
from licserver.services import policies as policy_service
from tests.support.console import Console
from tests.support.factory import TEST_ORIGIN, Factory
from tests.support.portal import activate


def _ids(html: str, table: str) -> list[str]:
    """The first cell's link text of each row of the list's table."""
    if f'id="list-{table}"' not in html:
        return []
    body = html.split(f'id="list-{table}"')[1].split("</table>")[0].split("<tbody>")[1]
    return re.findall(r"<tr[^>]*>\s*<td[^>]*><a [^>]*>([^<]+)</a>", body)


def _count(html: str) -> str:
    found = re.search(r'id="count">([\d,]+ \w+)', html)
    assert found
    return found.group(1)


def _next(html: str) -> str | None:
    found = re.search(r'id="next-page" rel="next"|href="([^"]+)" id="next-page"', html)
    return found.group(1).replace("&amp;", "&") if found and found.group(1) else None


def _csv(console: Console, path: str) -> list[list[str]]:
    resp = console.get(path)
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(resp.get_data(as_text=True))))


def _licences(factory: Factory) -> dict[str, str]:
    """Four licences: two products, two customers, one suspended, one expiring
    in 10 days, one expired, one under a policy."""
    factory.product("alpha", name="Alpha")
    factory.product("beta", name="Beta")
    acme = factory.customer(name="Acme Ltd")
    zeta = factory.customer(name="Zeta GmbH")
    policy_service.create(context(), TEST_ORIGIN, product="beta", name="floating", settings={})
    now = datetime.now(UTC)
    a = factory.license("alpha", acme, seats=1).id
    b = factory.license("alpha", zeta, seats=3, expires_at=now + timedelta(days=10)).id
    c = factory.license("beta", acme, seats=2, policy="floating").id
    d = factory.license("beta", zeta, seats=4, expires_at=now - timedelta(days=1)).id
    license_changes.change_status(context(), TEST_ORIGIN, a, "suspend")
    db.session.remove()
    return {"suspended": a, "expiring": b, "policy": c, "expired": d, "acme": acme, "zeta": zeta}


def test_licence_list_filters(admin_console: Console, factory: Factory) -> None:
    lic = _licences(factory)
    page = admin_console.text("/admin/licenses")
    assert _count(page) == "4 licences"
    every = {lic["suspended"], lic["expiring"], lic["policy"], lic["expired"]}
    assert set(_ids(page, "licences")) == every

    def ids(query: str) -> set[str]:
        return set(_ids(admin_console.text(f"/admin/licenses?{query}"), "licences"))

    assert ids("status=suspended") == {lic["suspended"]}
    assert ids("status=expired") == {lic["expired"]}
    assert ids("status=active") == {lic["expiring"], lic["policy"]}
    assert ids("product=beta") == {lic["policy"], lic["expired"]}
    assert ids(f"customer={lic['acme'].lower()}") == {lic["suspended"], lic["policy"]}
    assert ids("expiring=30") == {lic["expiring"]}
    assert ids("expiring=5") == set()
    policy = policy_service.list_for_product(context(), "beta")[0].public_id
    assert ids(f"policy={policy}") == {lic["policy"]}
    assert ids("q=zeta") == {lic["expiring"], lic["expired"]}
    assert ids(f"q={lic['policy']}") == {lic["policy"]}
    assert ids("product=alpha&q=acme") == {lic["suspended"]}
    assert "1 licence" in _count(admin_console.text("/admin/licenses?status=expired"))
    # a filter the list does not know, or a bad number: a readable refusal
    resp = admin_console.get("/admin/licenses?status=lost")
    assert resp.status_code == 422 and "One of: active" in resp.get_data(as_text=True)
    resp = admin_console.get("/admin/licenses?expiring=soon")
    assert resp.status_code == 422 and "whole number" in resp.get_data(as_text=True)
    resp = admin_console.get("/admin/licenses?sort=password")
    assert resp.status_code == 422 and "Sort by one of" in resp.get_data(as_text=True)


def test_licence_list_sorts_and_pages(admin_console: Console, factory: Factory) -> None:
    lic = _licences(factory)
    by_seats = [lic["suspended"], lic["policy"], lic["expiring"], lic["expired"]]
    assert _ids(admin_console.text("/admin/licenses?sort=seats"), "licences") == by_seats
    assert _ids(admin_console.text("/admin/licenses?sort=-seats"), "licences") == by_seats[::-1]
    # soonest expiry first; no expiry last
    by_expiry = _ids(admin_console.text("/admin/licenses?sort=expires"), "licences")
    assert by_expiry[:2] == [lic["expired"], lic["expiring"]]
    # pages of two, following the next link, give every row once, in order
    seen: list[str] = []
    path: str | None = "/admin/licenses?sort=seats&limit=2"
    pages = 0
    while path:
        html = admin_console.text(path if path.startswith("/") else "/admin/licenses" + path)
        assert _count(html) == "4 licences"  # the count is of all pages
        seen += _ids(html, "licences")
        path = _next(html)
        pages += 1
    assert seen == by_seats and pages == 2
    # a cursor of another order is refused, not misread
    html = admin_console.text("/admin/licenses?sort=seats&limit=2")
    cursor = re.search(r"cursor=([^&\"]+)", html.split('id="next-page"')[0].rsplit("href=", 1)[1])
    assert cursor
    resp = admin_console.get(f"/admin/licenses?sort=-seats&cursor={cursor.group(1)}")
    assert resp.status_code == 422


def test_licence_csv_is_what_is_listed(admin_console: Console, factory: Factory) -> None:
    factory.product("alpha", name="Alpha")
    evil = factory.customer(name='=HYPERLINK("http://x")')
    plain = factory.customer(name="Plain Co")
    ids = [factory.license("alpha", evil, seats=n).id for n in (1, 2, 3)]
    factory.license("alpha", plain, seats=9)
    db.session.remove()
    query = f"customer={evil}&sort=-seats&limit=2"
    listed = _ids(admin_console.text(f"/admin/licenses?{query}"), "licences")
    assert listed == [ids[2], ids[1]]  # the first page
    rows = _csv(admin_console, f"/admin/licenses.csv?{query}")
    header, body = rows[0], rows[1:]
    assert header[:3] == ["license_id", "product", "customer_number"]
    # every row the filters match, in the list's order, not just the first page
    assert [r[0] for r in body] == [ids[2], ids[1], ids[0]]
    assert all(r[3] == '\'=HYPERLINK("http://x")' for r in body)
    assert [r[header.index("seats")] for r in body] == ["3", "2", "1"]
    assert {r[header.index("status")] for r in body} == {"active"}


def test_customer_and_product_lists(admin_console: Console, factory: Factory) -> None:
    for name in ("Bravo", "alpha", "Charlie"):
        factory.customer(name=name, email=f"{name.lower()}@x.test")
    factory.product("p-two", name="Two")
    factory.product("p-one", name="One")
    db.session.remove()
    html = admin_console.text("/admin/customers")
    assert _count(html) == "3 customers"
    names = re.findall(r"</a></td>\s*<td>([^<]+)</td>", html)
    assert names == ["alpha", "Bravo", "Charlie"]  # by name, any case
    html = admin_console.text("/admin/customers?sort=-name&q=a")
    assert re.findall(r"</a></td>\s*<td>([^<]+)</td>", html) == ["Charlie", "Bravo", "alpha"]
    html = admin_console.text("/admin/customers?q=bravo%40x")
    assert _count(html) == "1 customer"
    rows = _csv(admin_console, "/admin/customers.csv?sort=email")
    assert [r[2] for r in rows[1:]] == ["alpha@x.test", "bravo@x.test", "charlie@x.test"]

    html = admin_console.text("/admin/products")
    assert _ids(html, "products") == ["p-one", "p-two"]
    assert 'href="/admin/licenses?product=p-one"' in html
    assert _ids(admin_console.text("/admin/products?q=two"), "products") == ["p-two"]
    rows = _csv(admin_console, "/admin/products.csv?sort=-code")
    assert [r[0] for r in rows[1:]] == ["p-two", "p-one"]


def test_installation_list(admin_console: Console, factory: Factory, client: FlaskClient) -> None:
    lic = factory.license(seats=5)
    other = factory.license(seats=5)
    for n in (1, 2, 3):
        activate(client, lic, f"PC-{n}", f"install-{n:04d}")
    activate(client, other, "-cmd|calc", "install-xxxx")
    db.session.remove()
    html = admin_console.text("/admin/installations?sort=machine")
    assert _count(html) == "4 installations"
    assert _ids(html, "installations") == ["-cmd|calc", "PC-1", "PC-2", "PC-3"]
    assert f'href="/admin/licenses/{lic.id}#act-' in html
    html = admin_console.text(f"/admin/installations?q={lic.id}&sort=-machine&limit=2")
    assert _ids(html, "installations") == ["PC-3", "PC-2"] and _next(html)
    found = admin_console.text("/admin/installations?q=install-0002")
    assert _ids(found, "installations") == ["PC-2"]
    assert _count(admin_console.text("/admin/installations?status=deactivated")) == (
        "0 installations"
    )
    rows = _csv(admin_console, "/admin/installations.csv?sort=machine")
    assert rows[1][:2] == ["install-xxxx", "'-cmd|calc"]
    assert [r[1] for r in rows[2:]] == ["PC-1", "PC-2", "PC-3"]


def test_order_list(admin_console: Console, factory: Factory) -> None:
    cust = factory.customer(name="Buyer")
    for n, (day, amount) in enumerate([(3, "10.00"), (1, "250.50"), (2, "99.99")]):
        order_service.create(
            context(),
            customer=cust,
            number=f"INV-{n}",
            date=datetime(2024, 5, day, tzinfo=UTC).date(),
            amount=Decimal(amount),
            currency="eur",
            po_number="@PO" if n == 0 else None,
            items=[order_service.ItemIn("Licence", Decimal(amount))],
        )
    db.session.remove()
    html = admin_console.text("/admin/orders")
    assert _count(html) == "3 orders"
    assert re.findall(r'<td class="mono">(INV-\d)</td>', html) == ["INV-0", "INV-2", "INV-1"]
    html = admin_console.text("/admin/orders?sort=-amount")
    assert re.findall(r'<td class="mono">(INV-\d)</td>', html) == ["INV-1", "INV-2", "INV-0"]
    rows = _csv(admin_console, "/admin/orders.csv?sort=amount")
    assert [(r[0], r[4], r[6]) for r in rows[1:]] == [
        ("INV-0", "10.00", "'@PO"),
        ("INV-2", "99.99", ""),
        ("INV-1", "250.50", ""),
    ]


def test_lists_are_in_the_menu_and_for_support(support_console: Console) -> None:
    html = support_console.text("/admin/")
    for path in ("customers", "licenses", "installations", "products", "orders"):
        assert f'href="/admin/{path}"' in html
        assert support_console.get(f"/admin/{path}").status_code == 200


def test_counts_stop_at_the_cap(
    admin_console: Console, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past listing.COUNT_CAP rows a list says "More than N" (a full count of a
    million licences is seconds on every page); at the cap, the exact number."""
    from licserver.services import listing

    _licences(factory)  # four licences
    monkeypatch.setattr(listing, "COUNT_CAP", 3)
    html = admin_console.text("/admin/licenses")
    assert re.search(r'id="count">More than 3 licences', html)
    assert len(_ids(html, "licences")) == 4  # the page itself is not cut
    monkeypatch.setattr(listing, "COUNT_CAP", 4)
    assert _count(admin_console.text("/admin/licenses")) == "4 licences"


@pytest.mark.parametrize("path", ["/admin/licenses.csv", "/admin/installations.csv"])
def test_csv_with_a_wrong_filter_is_refused_before_it_starts(
    admin_console: Console, path: str
) -> None:
    """wapiti put its payloads in ``status``: the filter was checked only
    while the rows streamed, after a 200 was sent (a server error and a
    cut-off download). It is refused at once, as the list page refuses it."""
    resp = admin_console.get(f"{path}?status=http%3A%2F%2Fwww.google.fr%0D%0Awapiti")
    assert resp.status_code == 422
    assert resp.mimetype == "text/html"
    assert "One of: " in resp.get_data(as_text=True)
