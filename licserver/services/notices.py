"""The portal's emails: what each says and to whom. Sent after the change they
report has been committed; a message that cannot be handed over is logged
(services.mail) and never undoes the change."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from licserver.domain.portal import wants_notice
from licserver.models import User
from licserver.services import mail
from licserver.services.context import Context
from licserver.services.mail import MailSettings


@dataclass(frozen=True)
class Mailer:
    settings: MailSettings
    public_url: str  # no trailing slash

    def link(self, path: str) -> str:
        return f"{self.public_url.rstrip('/')}{path}"

    def send(self, to: str, subject: str, body: str) -> bool:
        return mail.send(self.settings, to, subject, body)


_SIGNATURE = "\n-- \nThis message was sent by the licence portal. Do not reply to it.\n"


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


def invitation(
    mailer: Mailer, *, to: str, name: str, role: str, company: str, token: str, hours: int
) -> bool:
    body = (
        f"Hello {name},\n\n"
        f"You have been invited to the licence portal of {company} as {role}.\n\n"
        f"Set your password here (the link works once, for {hours} hours):\n"
        f"{mailer.link(f'/portal/invitation/{token}')}\n\n"
        "If you did not expect this email, you can ignore it." + _SIGNATURE
    )
    return mailer.send(to, "Your licence portal invitation", body)


def password_reset(mailer: Mailer, *, to: str, name: str, token: str, minutes: int) -> bool:
    body = (
        f"Hello {name},\n\n"
        "Someone (we hope you) asked to set a new password for your licence portal login.\n\n"
        f"Set a new password here (the link works once, for {minutes} minutes):\n"
        f"{mailer.link(f'/portal/reset/{token}')}\n\n"
        "If you did not ask for this, ignore this email: your password stays as it is." + _SIGNATURE
    )
    return mailer.send(to, "Reset your licence portal password", body)


def password_changed(mailer: Mailer, *, to: str, name: str, at: datetime) -> bool:
    body = (
        f"Hello {name},\n\n"
        f"The password of your licence portal login was changed on {_when(at)}.\n\n"
        "If this was not you, reset it at once:\n"
        f"{mailer.link('/portal/forgot')}\nand tell your account's owner." + _SIGNATURE
    )
    return mailer.send(to, "Your licence portal password was changed", body)


def email_changed(
    mailer: Mailer, *, old: str, new: str, name: str, what: str, company: str, at: datetime
) -> list[bool]:
    """Both addresses hear of it: the old one so a hijack is noticed."""
    body = (
        f"Hello {name},\n\n"
        f"The {what} of {company} in the licence portal was changed on {_when(at)}\n"
        f"from {old}\nto   {new}.\n\n"
        "If this was not expected, tell your account's owner." + _SIGNATURE
    )
    subject = f"Licence portal: {what} changed"
    return [mailer.send(old, subject, body), mailer.send(new, subject, body)]


def _each(mailer: Mailer, to: Iterable[str], subject: str, body: str) -> int:
    """One message per address (each sees only their own); how many were handed over."""
    return sum(1 for address in to if mailer.send(address, subject, body))


def new_owner(
    mailer: Mailer, *, to: Iterable[str], owner_name: str, owner_email: str, company: str, by: str
) -> None:
    body = (
        f"{owner_name} <{owner_email}> is now an owner of {company} in the licence portal "
        f"(made so by {by}).\n\n"
        "Owners can change everything in the account. If this was not expected, "
        "check the account's users." + _SIGNATURE
    )
    _each(mailer, to, f"Licence portal: new owner of {company}", body)


def deactivated(
    mailer: Mailer,
    *,
    to: Iterable[str],
    license_id: str,
    product: str,
    machine_name: str,
    installation_id: str,
    reason: str,
    by: str,
    at: datetime,
) -> None:
    body = (
        f"An installation of licence {license_id} ({product}) was deactivated in the portal.\n\n"
        f"  Machine:          {machine_name}\n"
        f"  Installation ID:  {installation_id}\n"
        f"  By:               {by}\n"
        f"  When:             {_when(at)}\n"
        f"  Reason:           {reason}\n\n"
        "Its seat is free again; the machine can no longer use the licence.\n"
        f"{mailer.link('/portal/licenses/' + license_id)}\n\n"
        "You get this notice because of your notice settings in the portal "
        "(Account)." + _SIGNATURE
    )
    _each(mailer, to, f"Licence {license_id}: installation {machine_name} deactivated", body)


def expiry_reminder(
    mailer: Mailer,
    *,
    to: Iterable[str],
    license_id: str,
    product: str,
    company: str,
    expires_at: datetime,
    days: int,
) -> None:
    body = (
        f"Licence {license_id} ({product}) of {company} expires on "
        f"{expires_at.strftime('%Y-%m-%d')}, in {days} day{'s' if days != 1 else ''}.\n\n"
        f"{mailer.link('/portal/licenses/' + license_id)}\n\n"
        "You get this reminder because of your notice settings in the portal "
        "(Account)." + _SIGNATURE
    )
    _each(mailer, to, f"Licence {license_id} expires in {days} day{'s' if days != 1 else ''}", body)


def release_published(
    mailer: Mailer,
    *,
    to: Iterable[str],
    product: str,
    product_code: str,
    version: str,
    notes: str | None,
) -> int:
    body = (
        f"{product} {version} is available.\n\n"
        + (f"{notes.strip()}\n\n" if notes and notes.strip() else "")
        + "Technical users, managers and owners of your account can download it in the portal:\n"
        f"{mailer.link('/portal/downloads')}\n\n"
        "You get this notice because of your notice settings in the portal "
        "(Account)." + _SIGNATURE
    )
    return _each(mailer, to, f"{product} {version} is available", body)


def recipients(
    session: Session, customer_id: int, notice: str, license_row_id: int | None = None
) -> list[str]:
    """Addresses of the account's users who want ``notice`` (and, for a licence's
    notice, can see that licence). Invited users who never set a password are
    left out: they have not accepted yet."""
    users = session.scalars(
        select(User)
        .where(User.customer_id == customer_id, User.password_hash.is_not(None))
        .order_by(User.id)
    ).all()
    out = []
    for u in users:
        choice = {
            "expiry": u.notify_expiry,
            "deactivations": u.notify_deactivations,
            "updates": u.notify_updates,
        }[notice]
        if not wants_notice(u.role, notice, choice):
            continue
        if license_row_id is not None and u.licenses:
            if license_row_id not in {lic.id for lic in u.licenses}:
                continue
        out.append(u.email)
    return out


def owners(session: Session, customer_id: int) -> list[str]:
    return list(
        session.scalars(
            select(User.email)
            .where(User.customer_id == customer_id, User.role == "owner")
            .order_by(User.id)
        ).all()
    )


# ---- notices sent by a scheduled job (licserver notices ...) ---------------------------

EXPIRY_REMINDER = "license.expiry_reminder_sent"
REMINDER_DAYS = (30, 7, 1)


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


# Over 60 lines on purpose: the lock, the record and the mail must stay in this
# order within one transaction (see the docstring); split, that order is hidden.
def send_expiry_reminders(
    ctx: Context, now: datetime, days: tuple[int, ...] = REMINDER_DAYS
) -> int:
    """Remind the users who want it of licences expiring within ``days`` (the
    nearest threshold reached, once per threshold and expiry date: run it
    daily, or as often as you like). Returns how many licences were reminded of.

    Safe to run in several processes at once: the licences due are read under
    a lock (SQLite: the write lock; PostgreSQL: their rows, FOR UPDATE, in id
    order), and each reminder is recorded as an event in that transaction
    before any mail goes out, so a second run waits, then sees the record."""
    session = ctx.session
    mailer = ctx.mailer
    from licserver.database import begin_write
    from licserver.domain.status import effective_status
    from licserver.models import Event, License
    from licserver.services import SYSTEM, Origin, events

    horizon = now + timedelta(days=max(days))
    begin_write(session)
    lics = (
        session.scalars(
            select(License)
            .where(License.expires_at.is_not(None), License.expires_at > now)
            .where(License.expires_at <= horizon)
            .order_by(License.id)
            .with_for_update(of=License)
        )
        .unique()
        .all()
    )
    due = []
    for lic in lics:
        assert lic.expires_at is not None
        if effective_status(lic.status, lic.expires_at, now) != "active":
            continue
        left = lic.expires_at - now
        threshold = min(d for d in days if left <= timedelta(days=d))
        sent = session.scalars(
            select(Event.data).where(Event.license_id == lic.id, Event.kind == EXPIRY_REMINDER)
        ).all()
        key = {"days": threshold, "expires_at": _iso(lic.expires_at)}
        if any(all(d.get(k) == v for k, v in key.items()) for d in sent):
            continue
        to = recipients(session, lic.customer_id, "expiry", lic.id)
        events.record(
            session, EXPIRY_REMINDER, Origin(SYSTEM), license=lic, data={**key, "sent_to": len(to)}
        )
        whole_days = left.days + (1 if left.seconds or left.microseconds else 0)
        due.append((lic, to, whole_days))
    session.commit()
    for lic, to, left_days in due:
        expiry_reminder(
            mailer,
            to=to,
            license_id=lic.public_id,
            product=lic.product.name,
            company=lic.customer.name,
            expires_at=lic.expires_at or now,
            days=left_days,
        )
    return len(due)


def update_recipients(
    ctx: Context, product_id: int, *, active_at: datetime | None = None
) -> list[str]:
    """Addresses of the users who want product updates and see a licence of the
    product (with ``active_at``: a licence usable then), each once."""
    session = ctx.session
    from licserver.domain.status import effective_status
    from licserver.models import License

    lics = (
        session.scalars(
            select(License).where(License.product_id == product_id).order_by(License.id)
        )
        .unique()
        .all()
    )
    addresses: dict[str, None] = {}
    for lic in lics:
        if active_at is not None:
            if effective_status(lic.status, lic.expires_at, active_at) != "active":
                continue
        for address in recipients(session, lic.customer_id, "updates", lic.id):
            addresses[address] = None
    return list(addresses)


def send_product_update(ctx: Context, product_code: str, subject: str, body: str) -> int:
    """A product update to every user who wants them and sees a licence of the
    product. Returns the number of addresses written to."""
    mailer = ctx.mailer
    from licserver.services import products as product_service

    product = product_service.get(ctx, product_code)
    addresses = update_recipients(ctx, product.id)
    _each(mailer, addresses, subject, body + _SIGNATURE)
    return len(addresses)
