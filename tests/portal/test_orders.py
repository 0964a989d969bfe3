"""Orders the billing system posts (``POST /api/v1/orders``) and the portal's
payment history with its printable invoices."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from licserver.runtime import context
from licserver.services import tokens as token_service
from tests.support.portal import Account, AccountMaker, Browser, Staff, text_of


def _order(acc: Account, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "customer": acc.number,
        "number": "INV-2026-0042",
        "date": "2026-11-20",
        "amount": "1499.90",
        "currency": "eur",
        "po_number": "PO-77",
        "items": [
            {"description": "CAD Pro, 3 seats", "amount": 1200, "license_id": acc.licenses[0].id},
            {"description": "Support, 1 year", "amount": "299.90"},
        ],
    }
    body.update(over)
    return body


def test_create_and_read_an_order(make_account: AccountMaker, staff: Staff) -> None:
    acc = make_account()
    r = staff.post("/api/v1/orders", json=_order(acc))
    assert r.status_code == 201, r.get_json()
    out = r.get_json()
    assert out == {
        "customer": acc.number,
        "number": "INV-2026-0042",
        "date": "2026-11-20",
        "amount": "1499.90",
        "currency": "EUR",
        "po_number": "PO-77",
        "items": [
            {
                "description": "CAD Pro, 3 seats",
                "amount": "1200.00",
                "license_id": acc.licenses[0].id,
            },
            {"description": "Support, 1 year", "amount": "299.90", "license_id": None},
        ],
        "created_at": out["created_at"],
    }
    assert staff.get("/api/v1/orders/INV-2026-0042").get_json() == out
    listed = staff.get(f"/api/v1/orders?customer={acc.number}").get_json()
    assert listed == {"items": [out], "next_cursor": None}


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"amount": "1499.91"}, 422, "VALIDATION_FAILED"),  # items do not add up
        ({"amount": "1499.901"}, 422, "VALIDATION_FAILED"),  # sub-cent
        ({"amount": "NaN"}, 422, "VALIDATION_FAILED"),
        ({"amount": "1e12"}, 422, "VALIDATION_FAILED"),
        ({"currency": "EURO"}, 422, "VALIDATION_FAILED"),
        ({"date": "2026-13-01"}, 422, "VALIDATION_FAILED"),
        ({"items": []}, 422, "VALIDATION_FAILED"),
        ({"number": "INV/1"}, 422, "VALIDATION_FAILED"),
        ({"extra": 1}, 422, "VALIDATION_FAILED"),
        ({"customer": "C-ZZZZZZ"}, 404, "NOT_FOUND"),
    ],
)
def test_order_validation(
    make_account: AccountMaker, staff: Staff, change: dict[str, Any], status: int, code: str
) -> None:
    acc = make_account()
    r = staff.post("/api/v1/orders", json=_order(acc, **change))
    assert r.status_code == status, r.get_json()
    assert r.get_json()["code"] == code
    assert staff.get("/api/v1/orders").get_json()["items"] == []


def test_order_lines_name_the_customers_own_licences(
    make_account: AccountMaker, staff: Staff
) -> None:
    acc, other = make_account("acme"), make_account("globex")
    items = [{"description": "x", "amount": "1499.90", "license_id": other.licenses[0].id}]
    r = staff.post("/api/v1/orders", json=_order(acc, items=items))
    assert r.status_code == 404
    assert r.get_json()["code"] == "NOT_FOUND"


def test_an_order_number_is_recorded_once(make_account: AccountMaker, staff: Staff) -> None:
    acc = make_account()
    assert staff.post("/api/v1/orders", json=_order(acc)).status_code == 201
    r = staff.post("/api/v1/orders", json=_order(acc))
    assert r.status_code == 409
    assert r.get_json()["code"] == "CONFLICT"
    assert len(staff.get("/api/v1/orders").get_json()["items"]) == 1


def test_orders_need_an_admin_token_with_the_licenses_scope(
    make_account: AccountMaker, client: FlaskClient
) -> None:
    acc = make_account()
    r = client.post("/api/v1/orders", json=_order(acc))
    assert r.status_code == 401 and r.get_json()["code"] == "UNAUTHORIZED"
    _, read_only = token_service.create(context(), "reader", "read")
    r = client.post(
        "/api/v1/orders", json=_order(acc), headers={"Authorization": f"Bearer {read_only}"}
    )
    assert r.status_code == 403 and r.get_json()["code"] == "FORBIDDEN"
    r = client.get("/api/v1/orders", headers={"Authorization": f"Bearer {read_only}"})
    assert r.status_code == 200


def test_orders_are_in_the_openapi_document(client: FlaskClient) -> None:
    doc = client.get("/api/v1/openapi.json").get_json()
    post = doc["paths"]["/api/v1/orders"]["post"]
    assert post["security"] == [{"bearerAuth": []}]
    assert {"201", "404", "409", "422"} <= set(post["responses"])
    schema = doc["components"]["schemas"]["OrderIn"]
    assert {"customer", "number", "date", "amount", "currency", "po_number", "items"} <= set(
        schema["properties"]
    )
    assert set(schema["required"]) == {"customer", "number", "date", "amount", "currency", "items"}
    assert "get" in doc["paths"]["/api/v1/orders/{number}"]


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    app_config.update(
        SELLER_NAME="Vendor Software GmbH",
        SELLER_ADDRESS="Hauptstrasse 5\n10115 Berlin",
        SELLER_TAX_ID="DE999888777",
    )
    return app_config


def test_payment_history_and_printable_invoice(
    make_account: AccountMaker, staff: Staff, browser: Browser
) -> None:
    acc = make_account()
    staff.post("/api/v1/orders", json=_order(acc))
    staff.post(
        "/api/v1/orders",
        json=_order(
            acc,
            number="INV-2026-0050",
            date="2026-11-21",
            amount="10",
            po_number=None,
            items=[{"description": "<b>Extra</b> seat", "amount": "10"}],
        ),
    )
    browser.login(acc.emails["owner"])
    browser.post(
        "/portal/account/company",
        {
            "company-name": "Acme Ltd",
            "company-email": acc.emails["owner"],
            "company-address": "1 Main Street\nSpringfield",
            "company-vat_id": "US123",
        },
    )
    browser.logout()

    browser.login(acc.emails["billing"])
    page = text_of(browser.get("/portal/payments"))
    # newest first, exact amounts
    assert page.index("INV-2026-0050") < page.index("INV-2026-0042")
    assert "1499.90 EUR" in page and "10.00 EUR" in page
    assert "&lt;b&gt;Extra&lt;/b&gt; seat" in page
    link = page.split("INV-2026-0042", 1)[1].split('href="', 1)[1].split('"', 1)[0]
    invoice = text_of(browser.get(link))
    for text in (
        'Invoice <span class="mono">INV-2026-0042</span>',
        "2026-11-20",
        "PO-77",
        "1 Main Street\nSpringfield",
        "US123",
        "CAD Pro, 3 seats",
        acc.licenses[0].id,
        "1200.00",
        "299.90",
        "1499.90 EUR",
        "Vendor Software GmbH",
        "Hauptstrasse 5\n10115 Berlin",
        "DE999888777",
    ):
        assert text in invoice, text
    assert invoice.index("Vendor Software GmbH") < invoice.index("Bill to")
    assert "@media print" in text_of(browser.get("/portal/static/portal.css"))
