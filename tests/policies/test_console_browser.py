"""A policy change in headless Chromium against a real gunicorn: preview the
machines it affects, then save it."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from licserver.extensions import db
from licserver.models import Activation, License, utcnow
from licserver.runtime import context
from licserver.services import Actor, Origin
from licserver.services import policies as policy_service
from tests.live import LiveServer
from tests.support.browser import CHROMIUM, new_page
from tests.support.console import PASSWORD, StaffMaker
from tests.support.portal import AccountMaker

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM) and os.environ.get("CI") != "true",
        reason="chromium is not installed (apt-get install chromium); CI runs these",
    ),
]


def test_preview_then_save_a_policy_change(
    live_server: Callable[..., LiveServer],
    make_account: AccountMaker,
    make_staff: StaffMaker,
    chromium: Any,  # noqa: F811
) -> None:
    server = live_server(workers=2)
    acc = make_account("acme", activations=2)
    lic = acc.licenses[0]
    pol = policy_service.create(
        context(), Origin(Actor("admin", "tests")), product=lic.product, name="office", settings={}
    )
    pol_id, pol_public_id = pol.id, pol.public_id
    db.session.execute(update(License).where(License.public_id == lic.id).values(policy_id=pol_id))
    then = utcnow() - timedelta(days=10)
    db.session.execute(
        update(Activation)
        .where(Activation.public_id == acc.activations[1]["activation_id"])
        .values(activated_at=then, last_checkin_at=then)
    )
    db.session.commit()
    admin = make_staff("admin")
    page = new_page(chromium, javascript=False)
    try:
        page.goto(f"{server.url}/admin/login")
        page.fill("#email", admin.email)
        page.fill("#password", PASSWORD)
        page.click("button.primary")
        page.wait_for_url(f"{server.url}/admin/")
        page.goto(f"{server.url}/admin/policies?product={lic.product}")
        page.click("#policy-office a")
        page.fill("textarea#settings", "heartbeat_required = true\ninactive_after = 86400")
        page.click("#preview-policy")
        page.locator("#dry-run").wait_for()
        affected = page.inner_text("#affected")
        assert "ACME-PC-02" in affected and "marked inactive" in affected
        assert "ACME-PC-01" not in affected
        page.click("#save-policy")
        page.wait_for_url(f"{server.url}/admin/policies/p/{pol_public_id}")
        assert "1 machine(s) affected now" in page.inner_text(".flash")
        assert "heartbeat_required" in page.inner_text("#policy-settings")
    finally:
        page.context.close()
