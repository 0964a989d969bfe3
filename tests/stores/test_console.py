"""The staff console's store integration pages (no JavaScript): list, add,
the page with its webhook URL and "Copy", settings and item mapping with a
write-only secret, the event log and "Re-apply"; every change audited."""

from __future__ import annotations

from typing import Any

from flask import Flask

from licserver.runtime import context
from licserver.services import staff as staff_service
from tests.stores import fixtures as f
from tests.stores.helpers import SECRET, outcome
from tests.support.console import Console


def _login(app: Flask, role: str = "admin") -> Console:
    staff_service.create(
        context(), email=f"{role}@vendor.test", name=role, role=role, password="staff password 1"
    )
    c = Console(app.test_client())
    assert c.login(f"{role}@vendor.test", "staff password 1").status_code == 302
    return c


def _audit(kind: str) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from licserver.models import Event

    session = context().session
    session.rollback()  # a fresh read, not the snapshot of an earlier one
    rows = session.scalars(select(Event).where(Event.kind == kind)).all()
    out = [{"actor": r.actor_id, **r.data} for r in rows]
    session.rollback()
    return out


def test_add_map_receive_and_reapply(app: Flask, product: str, send: Any) -> None:
    console = _login(app)
    page = console.text("/admin/integrations")
    assert "No integrations yet." in page and 'href="/admin/integrations"' in page
    resp = console.post(
        "/admin/integrations",
        {"provider": "generic", "name": "Own checkout", "on_refund": "revoke"},
    )
    assert resp.status_code == 302
    path = resp.location.replace("https://console.test", "")
    integ_id = path.rsplit("/", 1)[1]
    page = console.text(path)
    url = f"/api/v1/integrations/{integ_id}/events"
    assert url in page and 'id="webhook-url"' in page and "readonly" in page
    assert "not set" in page
    copy = console.text(f"{path}?copy=1")
    assert 'id="copy-hint"' in copy and "autofocus" in copy

    # the secret is write-only: set it, never shown again
    form = {"provider": "generic", "name": "Own checkout", "on_refund": "suspend"}
    assert console.post(path, {**form, "signing_secret": SECRET}).status_code == 302
    page = console.text(path)
    assert SECRET not in page and 'id="secret-state">set' in page
    integ = {"id": integ_id, "provider": "generic"}

    paid = f.generic(
        "g-c1", "order.paid", email="c@example.com", order="C-1", items=[{"item": "ruler-pro"}]
    )
    assert outcome(send(integ, paid)) == "failed"
    page = console.text(path)
    assert 'id="event-g-c1"' in page and "Unknown store item" in page and "Re-apply" in page

    mapped = {**form, "items-0-store_item": "ruler-pro", "items-0-product": "ruler"}
    bad = console.post(path, {**mapped, "items-0-product": "nope"})
    assert bad.status_code == 422 and "No product" in bad.get_data(as_text=True)
    assert console.post(path, {**mapped, "items-0-seats_per_unit": "3"}).status_code == 302
    resp = console.post(f"{path}/events/g-c1/reapply")
    assert resp.status_code == 302
    page = console.text(path)
    assert "Event g-c1: applied" in page and 'class="reapply"' not in page

    assert [a["integration"] for a in _audit("integration.created")] == [integ_id]
    updated = _audit("integration.updated")
    assert len(updated) == 2 and all(a["actor"] == "staff:admin@vendor.test" for a in updated)
    assert all(SECRET not in str(a) for a in updated)
    assert _audit("integration.event_reapplied")[0]["event"] == "g-c1"

    assert console.post(f"{path}/delete").status_code == 302
    assert "No integrations yet." in console.text("/admin/integrations")
    assert len(_audit("integration.deleted")) == 1


def test_support_staff_cannot_see_it(app: Flask) -> None:
    console = _login(app, "support")
    assert console.get("/admin/integrations").status_code == 403
    assert 'href="/admin/integrations"' not in console.text("/admin/")
