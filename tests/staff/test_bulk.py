"""Bulk actions on the filtered licence list: previewed (how many, which),
then run on that same set, each licence on its own, with a summary."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from licserver.extensions import db
from licserver.models import Event, License
from licserver.runtime import context
from licserver.services import license_changes
from tests.support.console import Console, StaffMaker
from tests.support.factory import TEST_ORIGIN, Factory

HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)">')


def _form(page: str) -> dict[str, str]:
    """The preview's run form: its hidden fields."""
    form = page.split('action="/admin/licenses/bulk"')[1].split("</form>")[0]
    return dict(HIDDEN.findall(form))


def _summary(page: str) -> tuple[int, int, int]:
    def n(name: str) -> int:
        found = re.search(rf'id="bulk-{name}">([\d,]+)<', page)
        assert found, name
        return int(found.group(1).replace(",", ""))

    return n("changed"), n("skipped"), n("failed")


def _expiries(product_id: int | None = None) -> dict[str, datetime | None]:
    q = select(License.public_id, License.expires_at)
    if product_id is not None:
        q = q.where(License.product_id == product_id)
    rows = dict(db.session.execute(q).all())
    db.session.remove()
    return rows


def test_bulk_extend_on_1000_licences(
    admin_console: Console, make_staff: StaffMaker, factory: Factory
) -> None:
    factory.product("bulk")
    factory.product("other")
    cust = factory.customer()
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(days=10)
    made = {factory.license("bulk", cust, expires_at=expires).id for _ in range(1000)}
    other = factory.license("other", cust, expires_at=expires).id
    db.session.remove()

    page = admin_console.text("/admin/licenses?product=bulk")
    assert 'id="bulk-form"' in page
    page = admin_console.text("/admin/licenses/bulk?product=bulk&action=extend_days&days=30")
    assert re.search(r'id="bulk-count">1,000 licences', page)
    shown = re.findall(r'<tr><td class="mono">([^<]+)</td>', page)
    assert len(shown) == 20 and set(shown) <= made
    assert "and 980 more." in page
    form = _form(page)
    assert form["product"] == "bulk" and form["days"] == "30"

    late = factory.license("bulk", cust, expires_at=expires).id  # after the preview
    db.session.remove()
    done = admin_console.post("/admin/licenses/bulk", form)
    assert done.status_code == 200
    assert _summary(done.get_data(as_text=True)) == (1000, 0, 0)

    after = _expiries()
    assert all(after[p] == expires + timedelta(days=30) for p in made)
    assert after[late] == expires and after[other] == expires  # not in the previewed set
    staff_events = db.session.scalar(
        select(func.count()).where(Event.kind == "license.updated", Event.actor_type == "admin")
    )
    db.session.remove()
    assert staff_events == 1000


def test_licences_that_cannot_change_are_reported_the_others_change(
    admin_console: Console, factory: Factory
) -> None:
    factory.product("p")
    cust = factory.customer()
    active, suspended, revoked, perpetual = (
        factory.license("p", cust, expires_at=datetime.now(UTC) + timedelta(days=5)).id
        for _ in range(4)
    )
    license_changes.change_status(context(), TEST_ORIGIN, suspended, "suspend")
    license_changes.change_status(context(), TEST_ORIGIN, revoked, "revoke")
    license_changes.update(context(), TEST_ORIGIN, perpetual, {"expires_at": None})
    db.session.remove()

    page = admin_console.text("/admin/licenses/bulk?product=p&action=suspend")
    assert re.search(r'id="bulk-count">4 licences', page)
    done = admin_console.post("/admin/licenses/bulk", _form(page)).get_data(as_text=True)
    assert _summary(done) == (2, 2, 0)
    assert "1: already suspended" in done and "revoked" in done
    assert revoked in done.split('id="bulk-left"')[1]

    page = admin_console.text("/admin/licenses/bulk?product=p&status=suspended&action=reinstate")
    assert re.search(r'id="bulk-count">3 licences', page)
    done = admin_console.post("/admin/licenses/bulk", _form(page)).get_data(as_text=True)
    assert _summary(done) == (3, 0, 0)

    until = (datetime.now(UTC) + timedelta(days=100)).date().isoformat()
    page = admin_console.text(f"/admin/licenses/bulk?product=p&action=extend_to&until={until}")
    done = admin_console.post("/admin/licenses/bulk", _form(page)).get_data(as_text=True)
    assert _summary(done) == (2, 2, 0) and "never expires" in done
    status = dict(db.session.execute(select(License.public_id, License.status)).all())
    db.session.remove()
    assert status[revoked] == "revoked"
    assert _expiries()[active] is not None and _expiries()[active].date().isoformat() == until  # type: ignore[union-attr]

    page = admin_console.text("/admin/licenses/bulk?product=p&action=add_seats&seats=2")
    done = admin_console.post("/admin/licenses/bulk", _form(page)).get_data(as_text=True)
    assert _summary(done) == (3, 1, 0)
    seats = dict(db.session.execute(select(License.public_id, License.seats)).all())
    db.session.remove()
    assert seats[active] == 7 and seats[revoked] == 5


def test_run_needs_the_csrf_token_and_the_role(
    admin_console: Console, support_console: Console, factory: Factory
) -> None:
    factory.product("p")
    lic = factory.license("p", seats=1).id
    db.session.remove()
    page = admin_console.text("/admin/licenses/bulk?product=p&action=add_seats&seats=1")
    form = _form(page)
    assert admin_console.post("/admin/licenses/bulk", form, csrf=False).status_code == 400
    support = "/admin/licenses/bulk?product=p&action="
    assert support_console.get(support + "add_seats&seats=1").status_code == 403
    assert support_console.get(support + "suspend").status_code == 200
    bad = admin_console.get("/admin/licenses/bulk?product=p&action=add_seats&seats=0")
    assert bad.status_code == 422
    seats = db.session.scalar(select(License.seats).where(License.public_id == lic))
    db.session.remove()
    assert seats == 1
