"""Re-applying a recorded event through the admin API: an unknown item is
recorded and issues nothing; once mapped, a re-apply issues the licence and
emails the buyer; an applied event is never applied twice."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from licserver.runtime import context
from licserver.services import tokens as token_service
from tests.mail import SmtpServer, body_text
from tests.stores import fixtures as f
from tests.stores.helpers import ITEMS, events, make_integration, outcome
from tests.support.factory import AdminClient


def _url(integ: dict[str, Any], event_id: str) -> str:
    return f"/api/v1/integrations/{integ['id']}/events/{event_id}/reapply"


def test_reapply_after_mapping_the_item(
    smtp: SmtpServer, admin: AdminClient, product: str, send: Any
) -> None:
    integ = make_integration(admin, "generic", items=[])
    paid = f.generic(
        "g-u1", "order.paid", email="new@example.com", order="U-1", items=[{"item": "ruler-pro"}]
    )
    assert outcome(send(integ, paid)) == "failed"
    assert "ruler-pro" in events(admin, integ)[0]["detail"]
    assert admin.get("/api/v1/licenses").get_json()["items"] == []

    still = admin.post(_url(integ, "g-u1"))
    assert still.status_code == 200 and still.get_json()["outcome"] == "failed"

    mapping = [{"store_item": ITEMS["generic"], "product": "ruler"}]
    assert (
        admin.patch(f"/api/v1/integrations/{integ['id']}", json={"items": mapping}).status_code
        == 200
    )
    resp = admin.post(_url(integ, "g-u1"))
    assert resp.status_code == 200, resp.get_json()
    ev = resp.get_json()
    assert ev["outcome"] == "applied" and len(ev["licenses"]) == 1
    assert events(admin, integ)[0]["outcome"] == "applied"
    msg = smtp.wait_for(1)[0]
    assert ev["licenses"][0] in body_text(msg)

    twice = admin.post(_url(integ, "g-u1"))
    assert twice.status_code == 409 and twice.get_json()["code"] == "CONFLICT"
    assert len(admin.get("/api/v1/licenses").get_json()["items"]) == 1


def test_reapply_unknown_and_scope(
    client: FlaskClient, admin: AdminClient, product: str, send: Any
) -> None:
    integ = make_integration(admin, "generic")
    missing = admin.post(_url(integ, "nope"))
    assert missing.status_code == 404 and missing.get_json()["code"] == "NOT_FOUND"
    assert admin.post("/api/v1/integrations/I-NOTHERE/events/x/reapply").status_code == 404
    _, token = token_service.create(context(), "reader", "licenses")
    resp = client.post(_url(integ, "nope"), headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 403
