"""Admin API: products, customers and their portal users, invitation email."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.api.helpers import assert_problem
from tests.mail import SmtpServer, body_text, with_smtp
from tests.support.factory import AdminClient, Factory

PUBLIC_URL = "http://licserver.test"
CUSTOMER_NUMBER_RE = re.compile(r"^C-[0-9A-Z]+$")


def _create_product(admin: AdminClient, **body: Any) -> Any:
    return admin.post("/api/v1/products", json={"code": "cad-pro", "name": "CAD Pro", **body})


def _create_customer(admin: AdminClient, **body: Any) -> Any:
    body = {"name": "Acme Ltd", "email": "it@acme.test", **body}
    return admin.post("/api/v1/customers", json=body)


def _all_pages(admin: AdminClient, path: str, limit: int) -> tuple[list[dict[str, Any]], int]:
    """Every item of a list, following next_cursor; and how many pages it took."""
    items: list[dict[str, Any]] = []
    cursor, pages = None, 0
    while True:
        query: dict[str, Any] = {"limit": limit}
        if cursor:
            query["cursor"] = cursor
        r = admin.get(path, query_string=query)
        assert r.status_code == 200, r.get_json()
        body = r.get_json()
        assert len(body["items"]) <= limit
        items.extend(body["items"])
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return items, pages


# ---- products ----------------------------------------------------------------


def test_create_product_with_defaults(admin: AdminClient) -> None:
    r = _create_product(admin)
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["code"] == "cad-pro"
    assert body["name"] == "CAD Pro"
    assert body["default_seats"] == 1
    assert body["default_duration_days"] is None
    assert body["offline_grace_days"] == 14


def test_create_product_with_every_field(admin: AdminClient) -> None:
    r = _create_product(admin, default_seats=10, default_duration_days=365, offline_grace_days=3)
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert (body["default_seats"], body["default_duration_days"], body["offline_grace_days"]) == (
        10,
        365,
        3,
    )
    shown = admin.get("/api/v1/products/cad-pro").get_json()
    assert shown["default_seats"] == 10
    assert shown["default_duration_days"] == 365
    assert shown["offline_grace_days"] == 3


def test_duplicate_product_code_is_conflict(admin: AdminClient) -> None:
    assert _create_product(admin).status_code == 201
    assert_problem(_create_product(admin, name="Other"), 409, "CONFLICT")
    items = admin.get("/api/v1/products").get_json()["items"]
    assert [p["name"] for p in items] == ["CAD Pro"]


BAD_PRODUCTS: list[tuple[dict[str, Any], str]] = [
    ({"code": "bad code", "name": "X"}, "code"),
    ({"code": "-starts-with-dash", "name": "X"}, "code"),
    ({"code": "x" * 65, "name": "X"}, "code"),
    ({"code": "", "name": "X"}, "code"),
    ({"code": 12, "name": "X"}, "code"),
    ({"name": "X"}, "code"),
    ({"code": "ok"}, "name"),
    ({"code": "ok", "name": "X", "default_seats": 0}, "default_seats"),
    ({"code": "ok", "name": "X", "default_seats": "3"}, "default_seats"),
    ({"code": "ok", "name": "X", "default_seats": 2.5}, "default_seats"),
    ({"code": "ok", "name": "X", "offline_grace_days": 0}, "offline_grace_days"),
    ({"code": "ok", "name": "X", "default_duration_days": -1}, "default_duration_days"),
    ({"code": "ok", "name": "X", "colour": "red"}, "colour"),
]


def test_create_product_validation(admin: AdminClient) -> None:
    # One app for every case: the per-test database set-up is the slow part.
    for body, field in BAD_PRODUCTS:
        r = admin.post("/api/v1/products", json=body)
        assert r.status_code == 422, (body, r.get_json())
        problem = assert_problem(r, 422, "VALIDATION_FAILED")
        assert field in problem["errors"], (body, problem)
    for data in (b"{not json", b"[1, 2]", b"", b'"text"', b"\xff\xfe"):
        r = admin.post("/api/v1/products", data=data, content_type="application/json")
        assert r.status_code == 400, (data, r.get_json())
        assert_problem(r, 400, "MALFORMED_REQUEST")
    assert admin.get("/api/v1/products").get_json()["items"] == []


def test_get_product_and_unknown_product(admin: AdminClient) -> None:
    _create_product(admin)
    r = admin.get("/api/v1/products/cad-pro")
    assert r.status_code == 200
    assert r.get_json()["name"] == "CAD Pro"
    assert_problem(admin.get("/api/v1/products/nope"), 404, "NOT_FOUND")


def test_list_products_paginates(admin: AdminClient) -> None:
    codes = [f"p-{i:02d}" for i in range(7)]
    for code in codes:
        assert admin.post("/api/v1/products", json={"code": code, "name": code}).status_code == 201
    first = admin.get("/api/v1/products", query_string={"limit": 3}).get_json()
    assert [p["code"] for p in first["items"]] == codes[:3]
    assert isinstance(first["next_cursor"], str)
    items, pages = _all_pages(admin, "/api/v1/products", 3)
    assert [p["code"] for p in items] == codes
    assert pages == 3
    # The default limit holds all seven, so there is no next page.
    whole = admin.get("/api/v1/products").get_json()
    assert len(whole["items"]) == 7
    assert whole["next_cursor"] is None


def test_empty_product_list(admin: AdminClient) -> None:
    r = admin.get("/api/v1/products")
    assert r.status_code == 200
    assert r.get_json() == {"items": [], "next_cursor": None}


def test_list_products_bad_query(admin: AdminClient) -> None:
    for query, field in (
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"cursor": "garbage!!"}, "cursor"),
        ({"cursor": "eDEyMw"}, "cursor"),  # base64url of 'x123': not a cursor we gave
    ):
        r = admin.get("/api/v1/products", query_string=query)
        assert r.status_code == 422, (query, r.get_json())
        problem = assert_problem(r, 422, "VALIDATION_FAILED")
        assert field in problem["errors"], (query, problem)


def test_limit_200_is_allowed(admin: AdminClient) -> None:
    r = admin.get("/api/v1/products", query_string={"limit": 200})
    assert r.status_code == 200


# ---- customers ---------------------------------------------------------------


def test_create_customer_without_smtp_writes_outbox(admin: AdminClient, app: Flask) -> None:
    r = _create_customer(admin)
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert CUSTOMER_NUMBER_RE.match(body["number"]), body
    assert body["name"] == "Acme Ltd"
    assert body["email"] == "it@acme.test"
    assert body["company_password_set"] is False

    outbox = Path(app.instance_path) / "outbox"
    files = sorted(outbox.glob("*"))
    assert len(files) == 1
    msg = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert msg["To"] == "it@acme.test"
    text = body_text(msg)
    assert f"{PUBLIC_URL}/portal/invitation/" in text


def test_customer_email_becomes_first_owner(admin: AdminClient) -> None:
    number = _create_customer(admin, name="Acme Ltd", email="Boss@Acme.test").get_json()["number"]
    r = admin.get(f"/api/v1/customers/{number}/users")
    assert r.status_code == 200
    users = r.get_json()["items"]
    assert len(users) == 1
    assert users[0]["email"] == "boss@acme.test"
    assert users[0]["role"] == "owner"
    assert users[0]["invited"] is True


def test_duplicate_customer_email_is_conflict(admin: AdminClient) -> None:
    assert _create_customer(admin).status_code == 201
    assert_problem(_create_customer(admin, name="Other Co"), 409, "CONFLICT")
    # Case does not make an email different.
    assert_problem(_create_customer(admin, email="IT@ACME.TEST"), 409, "CONFLICT")
    assert len(admin.get("/api/v1/customers").get_json()["items"]) == 1


def test_create_customer_validation(admin: AdminClient) -> None:
    for body, field in (
        ({"name": "Acme"}, "email"),
        ({"email": "a@b.test"}, "name"),
        ({"name": "Acme", "email": "not-an-email"}, "email"),
        ({"name": "", "email": "a@b.test"}, "name"),
        ({"name": "Acme", "email": "a@b.test", "company_password": "short"}, "company_password"),
        ({"name": "Acme", "email": "a@b.test", "number": "C-000001"}, "number"),
    ):
        r = admin.post("/api/v1/customers", json=body)
        assert r.status_code == 422, (body, r.get_json())
        problem = assert_problem(r, 422, "VALIDATION_FAILED")
        assert field in problem["errors"], (body, problem)
    assert admin.get("/api/v1/customers").get_json()["items"] == []


def test_list_get_and_find_customers(admin: AdminClient) -> None:
    numbers = []
    for i in range(5):
        r = _create_customer(admin, name=f"Customer {i}", email=f"c{i}@example.test")
        numbers.append(r.get_json()["number"])
    items, pages = _all_pages(admin, "/api/v1/customers", 2)
    assert [c["number"] for c in items] == numbers
    assert pages == 3

    r = admin.get(f"/api/v1/customers/{numbers[2]}")
    assert r.status_code == 200
    assert r.get_json()["name"] == "Customer 2"
    assert r.get_json()["email"] == "c2@example.test"

    found = admin.get("/api/v1/customers", query_string={"email": "c3@example.test"}).get_json()
    assert [c["number"] for c in found["items"]] == [numbers[3]]

    assert_problem(admin.get("/api/v1/customers/C-NOPE00"), 404, "NOT_FOUND")
    assert_problem(
        admin.get("/api/v1/customers", query_string={"limit": 0}), 422, "VALIDATION_FAILED"
    )


def test_patch_customer_name_and_email(admin: AdminClient) -> None:
    number = _create_customer(admin).get_json()["number"]
    r = admin.patch(
        f"/api/v1/customers/{number}", json={"name": "Acme GmbH", "email": "Office@Acme.test"}
    )
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["name"] == "Acme GmbH"
    assert r.get_json()["email"] == "office@acme.test"
    shown = admin.get(f"/api/v1/customers/{number}").get_json()
    assert (shown["name"], shown["email"]) == ("Acme GmbH", "office@acme.test")


def test_patch_customer_errors(admin: AdminClient) -> None:
    number = _create_customer(admin).get_json()["number"]
    assert_problem(admin.patch("/api/v1/customers/C-NOPE00", json={"name": "X"}), 404, "NOT_FOUND")
    problem = assert_problem(
        admin.patch(f"/api/v1/customers/{number}", json={"email": "nope"}),
        422,
        "VALIDATION_FAILED",
    )
    assert "email" in problem["errors"]
    problem = assert_problem(
        admin.patch(f"/api/v1/customers/{number}", json={"number": "C-123456"}),
        422,
        "VALIDATION_FAILED",
    )
    assert "number" in problem["errors"]
    assert_problem(
        admin.patch(f"/api/v1/customers/{number}", data="nope", content_type="application/json"),
        400,
        "MALFORMED_REQUEST",
    )


def _activate_by_company(client: FlaskClient, number: str, password: str, product: str) -> Any:
    return client.post(
        "/api/v1/activations",
        json={
            "customer_number": number,
            "company_password": password,
            "product": product,
            "installation_id": "install-company-01",
            "machine_name": "PC-1",
        },
    )


def test_company_password_set_then_turned_off(
    admin: AdminClient, client: FlaskClient, factory: Factory
) -> None:
    number = _create_customer(admin).get_json()["number"]
    lic = factory.license(customer=number, seats=2)

    # No company password yet: the company credentials do not work.
    assert_problem(
        _activate_by_company(client, number, "correct horse battery", lic.product),
        401,
        "INVALID_CREDENTIALS",
    )

    r = admin.patch(
        f"/api/v1/customers/{number}", json={"company_password": "correct horse battery"}
    )
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["company_password_set"] is True
    assert "company_password" not in r.get_json()

    assert_problem(
        _activate_by_company(client, number, "wrong password!", lic.product),
        401,
        "INVALID_CREDENTIALS",
    )
    r = _activate_by_company(client, number, "correct horse battery", lic.product)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["license_id"] == lic.id

    r = admin.patch(f"/api/v1/customers/{number}", json={"company_password": None})
    assert r.status_code == 200
    assert r.get_json()["company_password_set"] is False
    assert_problem(
        _activate_by_company(client, number, "correct horse battery", lic.product),
        401,
        "INVALID_CREDENTIALS",
    )


def test_company_password_given_at_creation(
    admin: AdminClient, client: FlaskClient, factory: Factory
) -> None:
    r = _create_customer(admin, company_password="s3cret-company")
    assert r.status_code == 201
    assert r.get_json()["company_password_set"] is True
    number = r.get_json()["number"]
    lic = factory.license(customer=number)
    r = _activate_by_company(client, number, "s3cret-company", lic.product)
    assert r.status_code == 201, r.get_json()


# ---- portal users --------------------------------------------------------------


def test_add_user_with_licences(admin: AdminClient, factory: Factory) -> None:
    number = _create_customer(admin).get_json()["number"]
    lic1 = factory.license(customer=number)
    lic2 = factory.license(customer=number)
    r = admin.post(
        f"/api/v1/customers/{number}/users",
        json={
            "email": "Tech@Acme.test",
            "name": "Tess",
            "role": "technical",
            "licenses": [lic1.id],
        },
    )
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["email"] == "tech@acme.test"
    assert body["name"] == "Tess"
    assert body["role"] == "technical"
    assert body["licenses"] == [lic1.id]
    assert body["invited"] is True

    r = admin.post(
        f"/api/v1/customers/{number}/users",
        json={"email": "bob@acme.test", "name": "Bob", "role": "basic"},
    )
    assert r.status_code == 201
    assert r.get_json()["licenses"] == []

    users = admin.get(f"/api/v1/customers/{number}/users").get_json()["items"]
    assert [(u["email"], u["role"], u["licenses"]) for u in users] == [
        ("it@acme.test", "owner", []),
        ("tech@acme.test", "technical", [lic1.id]),
        ("bob@acme.test", "basic", []),
    ]
    assert lic2.id not in users[1]["licenses"]


def test_add_user_errors(admin: AdminClient, factory: Factory) -> None:
    number = _create_customer(admin).get_json()["number"]
    other = factory.customer(email="boss@other.test")
    foreign = factory.license(customer=other)
    path = f"/api/v1/customers/{number}/users"

    r = admin.post(
        path, json={"email": "x@acme.test", "name": "X", "role": "basic", "licenses": [foreign.id]}
    )
    assert_problem(r, 404, "NOT_FOUND")
    r = admin.post(
        path,
        json={"email": "x@acme.test", "name": "X", "role": "basic", "licenses": ["L-0000-0000"]},
    )
    assert_problem(r, 404, "NOT_FOUND")

    problem = assert_problem(
        admin.post(path, json={"email": "x@acme.test", "name": "X", "role": "admin"}),
        422,
        "VALIDATION_FAILED",
    )
    assert "role" in problem["errors"]
    problem = assert_problem(
        admin.post(path, json={"email": "x@acme.test", "name": "X"}), 422, "VALIDATION_FAILED"
    )
    assert "role" in problem["errors"]

    # The owner's email, and another customer's user's email, are taken.
    assert_problem(
        admin.post(path, json={"email": "it@acme.test", "name": "X", "role": "basic"}),
        409,
        "CONFLICT",
    )
    assert_problem(
        admin.post(path, json={"email": "BOSS@other.test", "name": "X", "role": "basic"}),
        409,
        "CONFLICT",
    )
    assert_problem(
        admin.post(
            "/api/v1/customers/C-NOPE00/users",
            json={"email": "y@acme.test", "name": "Y", "role": "basic"},
        ),
        404,
        "NOT_FOUND",
    )
    assert_problem(admin.get("/api/v1/customers/C-NOPE00/users"), 404, "NOT_FOUND")
    # None of the refused users exists.
    users = admin.get(path).get_json()["items"]
    assert [u["email"] for u in users] == ["it@acme.test"]


def test_users_list_paginates(admin: AdminClient) -> None:
    number = _create_customer(admin).get_json()["number"]
    for i in range(4):
        r = admin.post(
            f"/api/v1/customers/{number}/users",
            json={"email": f"u{i}@acme.test", "name": f"U{i}", "role": "basic"},
        )
        assert r.status_code == 201
    items, pages = _all_pages(admin, f"/api/v1/customers/{number}/users", 2)
    assert [u["email"] for u in items] == ["it@acme.test"] + [f"u{i}@acme.test" for i in range(4)]
    assert pages == 3


# ---- invitations over real SMTP -----------------------------------------------


class TestInvitationEmail:
    @pytest.fixture
    def app_config(self, app_config: dict[str, Any], smtp_server: SmtpServer) -> dict[str, Any]:
        return with_smtp(app_config, smtp_server)

    def test_new_customer_owner_is_invited(
        self, admin: AdminClient, smtp_server: SmtpServer, app: Flask
    ) -> None:
        r = _create_customer(admin, name="Acme Ltd", email="it@acme.test")
        assert r.status_code == 201
        assert r.get_json()["invitation_sent"] is True
        (msg,) = smtp_server.wait_for(1)
        assert msg["To"] == "it@acme.test"
        assert smtp_server.envelopes[0][1] == ["it@acme.test"]
        assert "invitation" in msg["Subject"].lower()
        text = body_text(msg)
        links = re.findall(r"\S+/portal/invitation/\S+", text)
        assert len(links) == 1
        assert links[0].startswith(f"{PUBLIC_URL}/portal/invitation/")
        assert len(links[0]) > len(f"{PUBLIC_URL}/portal/invitation/") + 20
        assert "Acme Ltd" in text
        # Sent, so nothing was written to the outbox.
        assert not (Path(app.instance_path) / "outbox").exists()

    def test_added_user_is_invited_with_own_link(
        self, admin: AdminClient, smtp_server: SmtpServer
    ) -> None:
        number = _create_customer(admin).get_json()["number"]
        r = admin.post(
            f"/api/v1/customers/{number}/users",
            json={"email": "tess@acme.test", "name": "Tess", "role": "technical"},
        )
        assert r.status_code == 201
        assert r.get_json()["invitation_sent"] is True
        owner_msg, user_msg = smtp_server.wait_for(2)
        assert user_msg["To"] == "tess@acme.test"
        assert "invitation" in user_msg["Subject"].lower()
        prefix = f"{PUBLIC_URL}/portal/invitation/"
        user_links = re.findall(re.escape(prefix) + r"\S+", body_text(user_msg))
        owner_links = re.findall(re.escape(prefix) + r"\S+", body_text(owner_msg))
        assert len(user_links) == len(owner_links) == 1
        assert user_links != owner_links

    def test_changed_contact_email_tells_both_addresses(
        self, admin: AdminClient, smtp_server: SmtpServer
    ) -> None:
        number = _create_customer(admin).get_json()["number"]
        smtp_server.wait_for(1)  # the owner's invitation
        r = admin.patch(f"/api/v1/customers/{number}", json={"email": "Office@Acme.test"})
        assert r.status_code == 200, r.get_json()
        old_msg, new_msg = smtp_server.wait_for(3)[1:]
        assert {old_msg["To"], new_msg["To"]} == {"it@acme.test", "office@acme.test"}
        for msg in (old_msg, new_msg):
            assert "main contact email changed" in msg["Subject"]
            text = body_text(msg)
            assert "from it@acme.test" in text and "office@acme.test" in text
        # the same address again, or only a new name: no message
        admin.patch(f"/api/v1/customers/{number}", json={"email": "office@acme.test"})
        admin.patch(f"/api/v1/customers/{number}", json={"name": "Acme GmbH"})
        assert len(smtp_server.wait_for(4, timeout=0.5)) == 3

    def test_refused_requests_send_nothing(
        self, admin: AdminClient, smtp_server: SmtpServer
    ) -> None:
        number = _create_customer(admin).get_json()["number"]
        assert _create_customer(admin).status_code == 409
        r = admin.post(
            f"/api/v1/customers/{number}/users",
            json={"email": "it@acme.test", "name": "Again", "role": "basic"},
        )
        assert r.status_code == 409
        r = admin.post(
            f"/api/v1/customers/{number}/users",
            json={"email": "new@acme.test", "name": "New", "role": "wizard"},
        )
        assert r.status_code == 422
        assert len(smtp_server.wait_for(1)) == 1


class TestUnreachableSmtp:
    @pytest.fixture
    def app_config(self, app_config: dict[str, Any]) -> Iterator[dict[str, Any]]:
        # A bound socket that does not listen: connections to it are refused.
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            app_config["SMTP_HOST"] = "127.0.0.1"
            app_config["SMTP_PORT"] = sock.getsockname()[1]
            app_config["SMTP_TIMEOUT"] = 2
            yield app_config

    def test_customer_is_created_and_says_mail_was_not_sent(
        self, admin: AdminClient, app: Flask
    ) -> None:
        r = _create_customer(admin)
        assert r.status_code == 201, r.get_json()
        assert r.get_json()["invitation_sent"] is False
        number = r.get_json()["number"]
        assert admin.get(f"/api/v1/customers/{number}").status_code == 200
        assert not (Path(app.instance_path) / "outbox").exists()
