"""Rows and requests tests start from: ``Factory`` (the ``factory`` fixture)
makes products, customers and licences through the real services;
``AdminClient`` (the ``admin`` fixture) is the test client with a bearer token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from licserver.runtime import context
from licserver.services import Actor, Origin
from licserver.services import customers as customer_service
from licserver.services import licenses as license_service
from licserver.services import products as product_service


class AdminClient:
    """The test client with a bearer token on every request."""

    def __init__(self, client: FlaskClient, token: str) -> None:
        self.client, self.token = client, token

    def _headers(self, kw: dict[str, Any]) -> dict[str, Any]:
        headers = dict(kw.pop("headers", {}) or {})
        headers.setdefault("Authorization", f"Bearer {self.token}")
        return headers

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(path, headers=self._headers(kw), **kw)

    def post(self, path: str, **kw: Any) -> Any:
        return self.client.post(path, headers=self._headers(kw), **kw)

    def patch(self, path: str, **kw: Any) -> Any:
        return self.client.patch(path, headers=self._headers(kw), **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.client.delete(path, headers=self._headers(kw), **kw)


TEST_ORIGIN = Origin(Actor("admin", "tests"))


@dataclass
class IssuedLicense:
    id: str
    key: str
    activation_password: str
    customer_number: str
    product: str


class Factory:
    """Rows through the real services, for tests that need them as a given."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._n = 0

    def product(self, code: str | None = None, **kw: Any) -> str:
        self._n += 1
        code = code or f"prod-{self._n}"
        product_service.create(context(), code=code, name=kw.pop("name", code.title()), **kw)
        return code

    def customer(
        self, email: str | None = None, company_password: str | None = None, name: str = "Acme Ltd"
    ) -> str:
        self._n += 1
        cust, _ = customer_service.create(
            context(),
            name=name,
            email=email or f"owner{self._n}@acme.test",
            company_password=company_password,
            invitation_ttl_hours=72,
        )
        return cust.number

    def license(
        self, product: str | None = None, customer: str | None = None, seats: int = 5, **kw: Any
    ) -> IssuedLicense:
        product = product or self.product()
        customer = customer or self.customer()
        lic, sec = license_service.create(
            context(), TEST_ORIGIN, product=product, customer=customer, seats=seats, **kw
        )
        return IssuedLicense(lic.public_id, sec.key, sec.activation_password, customer, product)
