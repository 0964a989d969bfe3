"""Notices a scheduled job sends (``licserver notices ...``): expiry reminders
and product updates, to the users who chose them."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import update

from licserver.extensions import db
from licserver.models import User, utcnow
from licserver.runtime import context
from licserver.services import notices
from tests.mail import SmtpServer, body_text
from tests.support.factory import Factory
from tests.support.portal import AccountMaker, Staff


def test_expiry_reminders_once_per_threshold(
    smtp: SmtpServer, make_account: AccountMaker, factory: Factory, staff: Staff, app: Flask
) -> None:
    acc = make_account(activations=0)
    product = acc.licenses[0].product
    now = utcnow()
    soon = factory.license(product, acc.number, expires_at=now + timedelta(days=5, hours=2))
    factory.license(product, acc.number, expires_at=now + timedelta(days=40))
    factory.license(product, acc.number, expires_at=now - timedelta(days=1))
    paused = factory.license(product, acc.number, expires_at=now + timedelta(days=3))
    staff.post(f"/api/v1/licenses/{paused.id}/suspend")
    db.session.rollback()  # end the test's read transaction before writing
    db.session.execute(
        update(User).where(User.email == acc.emails["billing"]).values(notify_expiry=False)
    )
    # by default owners and billing users get them; others may ask for them
    db.session.execute(
        update(User).where(User.email == acc.emails["technical"]).values(notify_expiry=True)
    )
    db.session.commit()

    assert notices.send_expiry_reminders(context(), now) == 1
    msgs = smtp.wait_for(2)
    assert sorted(m["To"] for m in msgs) == sorted(acc.emails[r] for r in ("owner", "technical"))
    assert msgs[0]["Subject"] == f"Licence {soon.id} expires in 6 days"
    assert "Acme Ltd" in body_text(msgs[0])
    # run again the same day: nothing new
    assert notices.send_expiry_reminders(context(), now) == 0
    # four and a half days later the 1-day reminder is due
    later = now + timedelta(days=4, hours=12)
    assert notices.send_expiry_reminders(context(), later) == 1
    assert len(smtp.wait_for(4)) == 4
    events = staff.get(f"/api/v1/licenses/{soon.id}/events").get_json()["items"]
    sent = [e for e in events if e["kind"] == "license.expiry_reminder_sent"]
    assert [e["data"]["days"] for e in sent] == [7, 1]
    assert sent[0]["actor"] == {"type": "system", "id": None}
    assert sent[0]["data"]["sent_to"] == 2


def test_product_updates_go_to_those_who_want_them(
    smtp: SmtpServer, make_account: AccountMaker, app: Flask
) -> None:
    acc = make_account()
    other = make_account("globex")
    db.session.rollback()  # end the test's read transaction before writing
    db.session.execute(
        update(User).where(User.email == acc.emails["basic"]).values(notify_updates=False)
    )
    db.session.commit()
    count = notices.send_product_update(
        context(), acc.licenses[0].product, "Acme CAD 3.0 is out", "Get it."
    )
    assert count == 4
    msgs = smtp.wait_for(4)
    assert other.emails["owner"] not in {m["To"] for m in msgs}
    assert acc.emails["basic"] not in {m["To"] for m in msgs}
    assert msgs[0]["Subject"] == "Acme CAD 3.0 is out"
    assert body_text(msgs[0]).startswith("Get it.")
