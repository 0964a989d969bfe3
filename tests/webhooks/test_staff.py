"""The staff console's webhook pages (admins only): add (secret shown once),
the list, disable, the delivery log and "retry now", a test ping, removal.
CSRF stays on: every POST carries the token the page handed out."""

from __future__ import annotations

import html
import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from licserver.domain import webhooks as rules
from licserver.runtime import context
from licserver.services import staff as staff_service
from tests.api.helpers import activated, by_password
from tests.support.factory import Factory
from tests.webhooks.helpers import Worker
from tests.webhooks.receiver import Receiver

BASE = "https://licserver.test"
TOKEN_RE = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"'
)


class Console:
    """A browser on the console, logged in as a staff user of ``role``."""

    def __init__(self, client: FlaskClient, role: str) -> None:
        self.client = client
        row = staff_service.create(
            context(),
            email=f"{role}@vendor.test",
            name=role.title(),
            role=role,
            password="a long staff password",
        )
        sid = staff_service.identity(row).session_id
        # The console's own session cookie: a request under /admin writes it.
        with client.session_transaction("/admin/", base_url=BASE) as s:
            s["staff"] = sid
        self.token = ""

    def get(self, path: str) -> TestResponse:
        r = self.client.get(path, base_url=BASE)
        m = TOKEN_RE.search(r.get_data(as_text=True))
        if m:
            self.token = m.group(1) or m.group(2)
        return r

    def post(
        self, path: str, data: dict[str, Any] | None = None, referer: str = "/admin/webhooks"
    ) -> TestResponse:
        return self.client.post(
            path,
            base_url=BASE,
            data={"csrf_token": self.token, **(data or {})},
            headers={"Referer": BASE + referer},
        )


def _text(r: TestResponse) -> str:
    return html.unescape(r.get_data(as_text=True))


def test_admin_adds_sees_disables_and_retries(
    client: FlaskClient, factory: Factory, receiver: Receiver, worker: Worker
) -> None:
    console = Console(client, "admin")
    page = console.get("/admin/webhooks")
    assert page.status_code == 200
    assert 'id="no-webhooks"' in _text(page)

    # bad input: the form again, with the reason
    r = console.post("/admin/webhooks", {"url": "ftp://x.test/", "events": "*"})
    assert r.status_code == 422
    assert "Must start with http:// or https://." in _text(r)

    events = "activation.*, license.revoked"
    r = console.post("/admin/webhooks", {"url": receiver.url + "/console", "events": events})
    assert r.status_code == 200, _text(r)
    assert r.headers["Cache-Control"] == "no-store"
    secret = re.search(r'id="webhook-secret">([^<]+)<', _text(r)).group(1)  # type: ignore[union-attr]
    assert secret.startswith("whsec_")
    webhook_id = re.search(r"Webhook (W-[0-9A-Z]{8}) added", _text(r)).group(1)  # type: ignore[union-attr]

    here = f"/admin/webhooks/{webhook_id}"
    listing = _text(console.get("/admin/webhooks"))
    assert webhook_id in listing and receiver.url + "/console" in listing
    assert secret not in listing  # shown once only
    assert "activation.*, license.revoked" in listing

    # a delivery that fails, then "retry now"
    lic = factory.license()
    activated(client, by_password(lic))
    receiver.statuses.append(500)
    worker.deliver()
    detail = _text(console.get(f"/admin/webhooks/{webhook_id}"))
    assert secret not in detail
    assert "HTTP 500" in detail and "activation.created" in detail
    delivery_id = re.search(r'id="delivery-(\d+)"', detail).group(1)  # type: ignore[union-attr]
    r = console.post(
        f"/admin/webhooks/{webhook_id}/deliveries/{delivery_id}/retry",
        referer=here,
    )
    assert r.status_code == 302
    detail = _text(console.get(r.headers["Location"]))
    assert f"Delivery {delivery_id} delivered (HTTP 200" in detail
    sent = receiver.requests[-1]
    assert rules.verify(secret, sent.headers[rules.SIGNATURE_HEADER], sent.body, now=int(sent.at))

    # test ping
    r = console.post(f"/admin/webhooks/{webhook_id}/test", referer=here)
    assert r.status_code == 302
    assert "Test ping delivered" in _text(console.get(r.headers["Location"]))
    assert receiver.requests[-1].json["type"] == "ping"

    # disable: nothing more is sent
    r = console.post(f"/admin/webhooks/{webhook_id}/disable", referer=here)
    assert r.status_code == 302
    assert 'id="state">disabled' in _text(console.get(f"/admin/webhooks/{webhook_id}"))
    before = len(receiver.requests)
    activated(client, by_password(lic), "install-while-disabled")
    worker.deliver()
    assert len(receiver.requests) == before

    # without the CSRF token: refused, nothing changes
    console.token = "forged"
    r = console.post(f"/admin/webhooks/{webhook_id}/delete", referer=here)
    assert r.status_code == 400
    console.get(f"/admin/webhooks/{webhook_id}")
    r = console.post(f"/admin/webhooks/{webhook_id}/delete", referer=here)
    assert r.status_code == 302
    listing = _text(console.get("/admin/webhooks"))
    assert f"Webhook {webhook_id} removed" in listing
    assert f'id="webhook-{webhook_id}"' not in listing and 'id="no-webhooks"' in listing


def test_support_staff_cannot_manage_webhooks(app: Flask, client: FlaskClient) -> None:
    console = Console(client, "support")
    assert console.get("/admin/webhooks").status_code == 403
    assert "Webhooks" not in _text(console.get("/admin/"))
    # not logged in at all: to the log-in page
    anonymous = app.test_client()
    r = anonymous.get("/admin/webhooks", base_url=BASE)
    assert r.status_code == 302 and "/admin/login" in r.headers["Location"]
