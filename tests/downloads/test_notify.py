"""`licserver notify` (cron): expiry reminders at 30, 7 and 1 days, each once,
to owners and billing users (and whoever chose them), through a real SMTP
server; running it again, or twice at once, sends nothing new."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import update

from licserver.extensions import db
from licserver.models import User, utcnow
from licserver.runtime import context
from licserver.services import notices
from tests.mail import SmtpServer, body_text
from tests.support.factory import Factory
from tests.support.portal import AccountMaker


def _notify(app: Flask, now: datetime) -> str:
    result = app.test_cli_runner().invoke(
        args=["notify", "--now", now.strftime("%Y-%m-%dT%H:%M:%SZ")]
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_expiry_reminders_at_30_7_1_days_once_each(
    smtp: SmtpServer, make_account: AccountMaker, factory: Factory, app: Flask
) -> None:
    acc = make_account(activations=0)
    product = acc.licenses[0].product
    start = utcnow().replace(microsecond=0)
    lic = factory.license(product, acc.number, expires_at=start + timedelta(days=45))
    # not reminded: perpetual (the account's own two), and one already expired
    factory.license(product, acc.number, expires_at=start + timedelta(days=1))
    other = make_account("globex", activations=0)  # another account: never written to
    factory.license(other.licenses[0].product, other.number, expires_at=start + timedelta(days=90))
    db.session.rollback()
    # owners and billing users get them by default; a manager who asked for them too
    db.session.execute(
        update(User).where(User.email == acc.emails["manager"]).values(notify_expiry=True)
    )
    db.session.commit()
    wanted = sorted(acc.emails[r] for r in ("owner", "billing", "manager"))

    def reminders_for(days: int) -> list[str]:
        subject = f"Licence {lic.id} expires in {days} day{'s' if days != 1 else ''}"
        return sorted(m["To"] for m in smtp.messages if m["Subject"] == subject)

    # 40 days before: nothing due for this licence (the 1-day one has expired by then)
    at = start + timedelta(days=5)
    assert "expiry reminders: 0" in _notify(app, at)

    at = start + timedelta(days=15, minutes=1)  # 30 days left (a bit less)
    assert "expiry reminders: 1" in _notify(app, at)
    assert reminders_for(30) == wanted
    assert "expiry reminders: 0" in _notify(app, at + timedelta(hours=1))  # cron, an hour on
    assert len(smtp.messages) == 3
    msg = smtp.messages[0]
    assert "Acme Ltd" in body_text(msg)
    assert f"http://licserver.test/portal/licenses/{lic.id}" in body_text(msg)

    at = start + timedelta(days=38, hours=1)  # just under 7 days left
    assert "expiry reminders: 1" in _notify(app, at)
    assert "expiry reminders: 0" in _notify(app, at)
    assert reminders_for(7) == wanted

    at = start + timedelta(days=44, hours=1)  # just under a day left
    assert "expiry reminders: 1" in _notify(app, at)
    assert "expiry reminders: 0" in _notify(app, at + timedelta(hours=12))
    assert reminders_for(1) == wanted
    assert len(smtp.messages) == 9  # 3 thresholds x 3 people, nothing else
    assert not {m["To"] for m in smtp.messages} & set(other.emails.values())
    # technical and basic users did not ask for them
    assert acc.emails["technical"] not in {m["To"] for m in smtp.messages}


def test_two_runs_at_once_send_each_reminder_once(
    smtp: SmtpServer, make_account: AccountMaker, factory: Factory, app: Flask
) -> None:
    acc = make_account(activations=0)
    product = acc.licenses[0].product
    now = utcnow()
    ids = {
        factory.license(product, acc.number, expires_at=now + timedelta(days=d, hours=1)).id
        for d in (2, 5, 20, 25)
    }
    db.session.remove()
    start = threading.Barrier(2)
    counts: list[int] = []
    failures: list[BaseException] = []

    def run() -> None:
        try:
            with app.app_context():
                start.wait()
                counts.append(notices.send_expiry_reminders(context(), now))
                db.session.remove()
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not failures, failures
    assert sum(counts) == 4, counts  # each licence reminded of by one run only
    msgs = smtp.wait_for(8)
    assert len(msgs) == 8  # 4 licences x (owner, billing), once each
    subjects = [m["Subject"] for m in msgs]
    assert len(set(zip(subjects, [m["To"] for m in msgs], strict=True))) == 8
    assert {s.split()[1] for s in subjects} == ids


def test_notices_expiry_is_an_alias(
    smtp: SmtpServer, make_account: AccountMaker, factory: Factory, app: Flask
) -> None:
    acc = make_account(activations=0)
    factory.license(acc.licenses[0].product, acc.number, expires_at=utcnow() + timedelta(days=3))
    result = app.test_cli_runner().invoke(args=["notices", "expiry"])
    assert result.exit_code == 0, result.output
    assert len(smtp.wait_for(2)) == 2
    assert "expiry reminders: 0" in _notify(app, utcnow())
    assert len(smtp.messages) == 2


def test_notify_refuses_a_bad_time(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["notify", "--now", "tomorrow"])
    assert result.exit_code != 0
    assert "RFC 3339" in result.output
