"""Staff accounts of the console: create, list, disable; log-in with an
optional TOTP second factor; sessions that end server-side.

A console session keeps ``StaffIdentity.session_id`` (``staff:<id>:<stamp>``);
the stamp changes with the password, the second factor and every log-out, so
an older cookie no longer loads (``load``). Every "no" at log-in is the same for
an unknown address, a wrong password and a disabled account.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from licserver.crypto import hash_password, verify_password
from licserver.database import begin_write
from licserver.domain import staff as rules
from licserver.domain.email import is_email
from licserver.domain.errors import Conflict, InvalidCredentials, NotFound, ValidationFailed
from licserver.domain.ids import new_token_id
from licserver.models import utcnow
from licserver.models.staff import StaffUser
from licserver.services import SYSTEM_ORIGIN, Origin, events
from licserver.services.context import Context

PASSWORD_MIN = rules.PASSWORD_MIN
TOTP_PURPOSE = "staff_totp"
PREFIX = "staff:"


@dataclass(frozen=True)
class StaffIdentity:
    """Who is logged in to the console."""

    id: int
    public_id: str
    email: str
    name: str
    role: str
    session_id: str
    totp_enabled: bool
    # Set by another admin: to be changed before the console shows anything else.
    must_change_password: bool = False

    @property
    def actor_id(self) -> str:
        return rules.actor_id(self.email, self.public_id)


def _stamp(row: StaffUser) -> str:
    material = f"{row.password_hash or '-'}|{'totp' if row.totp_secret_enc else '-'}"
    return f"{row.session_generation}.{hashlib.sha256(material.encode()).hexdigest()[:16]}"


def identity(row: StaffUser) -> StaffIdentity:
    return StaffIdentity(
        id=row.id,
        public_id=row.public_id,
        email=row.email,
        name=row.name,
        role=row.role,
        session_id=f"{PREFIX}{row.id}:{_stamp(row)}",
        totp_enabled=row.totp_secret_enc is not None,
        must_change_password=row.password_temporary,
    )


def _check_password(password: str) -> None:
    if len(password) < PASSWORD_MIN or len(password) > 256:
        raise ValidationFailed({"password": [f"Give {PASSWORD_MIN} to 256 characters."]})


def create(
    ctx: Context,
    *,
    email: str,
    name: str,
    role: str,
    password: str,
    origin: Origin = SYSTEM_ORIGIN,
    temporary: bool = False,
) -> StaffUser:
    """A staff account, recorded as ``staff.created`` in the same transaction.
    With ``temporary`` (another admin chose the password) the user changes it
    at the first log-in."""
    session = ctx.session
    email, name = email.strip().lower(), name.strip()
    problems: dict[str, list[str]] = {}
    if not is_email(email):
        problems["email"] = ["Not a valid email address."]
    if not name or len(name) > 200:
        problems["name"] = ["Give a name of 1 to 200 characters."]
    if role not in rules.ROLES:
        problems["role"] = [f"One of: {', '.join(rules.ROLES)}."]
    if problems:
        raise ValidationFailed(problems)
    _check_password(password)
    hashed = hash_password(password)
    begin_write(session)
    if session.scalars(select(StaffUser.id).where(StaffUser.email == email)).first():
        session.rollback()
        raise Conflict(f"A staff account with email {email} exists already.")
    row = StaffUser(
        public_id=new_token_id(),
        email=email,
        name=name,
        role=role,
        password_hash=hashed,
        password_temporary=temporary,
    )
    session.add(row)
    data = {"staff": row.public_id, "email": email, "role": role}
    events.record(session, "staff.created", origin, data=data)
    session.commit()
    return row


def list_staff(ctx: Context) -> list[StaffUser]:
    session = ctx.session
    return list(session.scalars(select(StaffUser).order_by(StaffUser.email)).all())


def count_active(ctx: Context) -> int:
    session = ctx.session
    q = select(func.count()).select_from(StaffUser).where(StaffUser.disabled_at.is_(None))
    return int(session.scalar(q) or 0)


def _find(session: Session, who: str) -> StaffUser | None:
    who = who.strip()
    q = select(StaffUser).where(
        (StaffUser.email == who.lower()) | (StaffUser.public_id == who.lower())
    )
    return session.scalars(q.execution_options(populate_existing=True)).first()


def _locked(session: Session, who: str) -> tuple[StaffUser, int]:
    """In a write transaction: the account named by email or public id, and
    how many enabled admins there are, both locked (PostgreSQL: FOR UPDATE,
    the admins first and by id, so two changes never deadlock and the second
    counts what the first left)."""
    admins = select(StaffUser.id).where(
        StaffUser.role == rules.ADMIN, StaffUser.disabled_at.is_(None)
    )
    enabled_admins = len(session.scalars(admins.order_by(StaffUser.id).with_for_update()).all())
    who = who.strip().lower()
    q = select(StaffUser).where((StaffUser.email == who) | (StaffUser.public_id == who))
    row = session.scalars(q.with_for_update().execution_options(populate_existing=True)).first()
    if row is None:
        session.rollback()
        raise NotFound(f"No staff account '{who}'.")
    return row, enabled_admins


def _event(session: Session, kind: str, origin: Origin, row: StaffUser, **data: str) -> None:
    events.record(session, kind, origin, data={"staff": row.public_id, "email": row.email, **data})


def _keep_an_admin(session: Session, row: StaffUser, enabled_admins: int) -> None:
    refusal = rules.last_admin_refusal(
        row.email,
        enabled_admins,
        target_is_enabled_admin=row.role == rules.ADMIN and row.disabled_at is None,
    )
    if refusal is not None:
        session.rollback()
        raise Conflict(refusal)


def disable(ctx: Context, who: str, origin: Origin) -> StaffUser:
    """Disable the account named by email or public id: it can no longer log in
    and its open sessions end at their next request. Repeating it is a no-op;
    the last enabled admin cannot be disabled (Conflict)."""
    session = ctx.session
    begin_write(session)
    row, admins = _locked(session, who)
    if row.disabled_at is None:
        _keep_an_admin(session, row, admins)
        row.disabled_at = utcnow()
        row.session_generation += 1
        _event(session, "staff.disabled", origin, row)
    session.commit()
    return row


def enable(ctx: Context, who: str, origin: Origin) -> StaffUser:
    """Let a disabled account log in again (with its password and second
    factor as they were; the sessions it had stay ended). A no-op when enabled."""
    session = ctx.session
    begin_write(session)
    row, _ = _locked(session, who)
    if row.disabled_at is not None:
        row.disabled_at = None
        _event(session, "staff.enabled", origin, row, role=row.role)
    session.commit()
    return row


def set_role(ctx: Context, who: str, role: str, origin: Origin) -> tuple[StaffUser, str]:
    """Give the account ``role``; the new role counts from its next request.
    Returns the account and its role before. The last enabled admin keeps
    the admin role (Conflict)."""
    session = ctx.session
    if role not in rules.ROLES:
        raise ValidationFailed({"role": [f"One of: {', '.join(rules.ROLES)}."]})
    begin_write(session)
    row, admins = _locked(session, who)
    before = row.role
    if role != before:
        _keep_an_admin(session, row, admins)
        row.role = role
        _event(session, "staff.role_changed", origin, row, before=before, role=role)
    session.commit()
    return row, before


def set_password(
    ctx: Context, who: str, password: str, origin: Origin, *, temporary: bool = True
) -> StaffUser:
    """An admin (or the CLI) sets another's password: every session of that
    account ends; ``temporary`` (the default), it is to be changed at the next
    log-in. The event never holds the password."""
    session = ctx.session
    _check_password(password)
    hashed = hash_password(password)
    begin_write(session)
    row, _ = _locked(session, who)
    row.password_hash = hashed
    row.password_temporary = temporary
    row.session_generation += 1
    _event(session, "staff.password_reset", origin, row)
    session.commit()
    return row


def change_own_password(
    ctx: Context, staff_id: int, current: str, new: str, origin: Origin
) -> StaffIdentity:
    """A staff member's own new password, the current one given: the other
    sessions of the account end; the returned identity is the caller's new
    session. InvalidCredentials when ``current`` is wrong."""
    session = ctx.session
    row = session.get(StaffUser, staff_id, populate_existing=True)
    if row is None or row.disabled_at is not None:
        session.rollback()
        raise NotFound("No such staff account.")
    seen = row.password_hash
    if not verify_password(seen, current):
        session.rollback()
        raise InvalidCredentials("The current password is wrong.")
    _check_password(new)
    if new == current:
        session.rollback()
        raise ValidationFailed({"password": ["The new password is the current one."]})
    hashed = hash_password(new)
    begin_write(session)
    row, _ = _locked(session, row.public_id)
    if row.password_hash != seen or row.disabled_at is not None:
        session.rollback()
        raise Conflict("The account changed meanwhile; log in again.")
    row.password_hash = hashed
    row.password_temporary = False
    row.session_generation += 1
    _event(session, "staff.password_changed", origin, row)
    session.commit()
    return identity(row)


# ---- log-in -------------------------------------------------------------------------


def _wrong() -> InvalidCredentials:
    return InvalidCredentials("The email or the password is wrong.")


def check_password(ctx: Context, email: str, password: str) -> StaffIdentity:
    """The first factor. The caller asks for a TOTP code when
    ``totp_enabled``, and records the log-in (``logged_in``) when done."""
    session = ctx.session
    row = _find(session, email) if "@" in email else None
    stored = row.password_hash if row is not None and row.disabled_at is None else None
    if not verify_password(stored, password) or row is None:
        raise _wrong()
    return identity(row)


def check_code(ctx: Context, session_id: str, code: str) -> StaffIdentity:
    """The second factor for the half-made session ``session_id``; a code
    works once. InvalidCredentials when wrong (or the account changed since)."""
    session = ctx.session
    box = ctx.box
    begin_write(session)
    row = _row_for(session, session_id)
    if row is None or row.totp_secret_enc is None:
        session.rollback()
        raise InvalidCredentials("The log-in has expired; start again.")
    secret = box.open(row.totp_secret_enc, TOTP_PURPOSE)
    step = rules.totp_match(secret, code, time.time(), after=row.totp_last_step)
    if step is None:
        session.rollback()
        raise InvalidCredentials("The code is wrong or was used already.")
    row.totp_last_step = step
    session.commit()
    return identity(row)


def logged_in(ctx: Context, staff_id: int) -> None:
    session = ctx.session
    begin_write(session)
    row = session.get(StaffUser, staff_id, populate_existing=True)
    if row is not None:
        row.last_login_at = utcnow()
    session.commit()


def _row_for(session: Session, session_id: str) -> StaffUser | None:
    if not session_id.startswith(PREFIX):
        return None
    row_id, _, _ = session_id[len(PREFIX) :].partition(":")
    if not row_id.isdigit():
        return None
    row = session.get(StaffUser, int(row_id), populate_existing=True)
    if row is None or row.disabled_at is not None or identity(row).session_id != session_id:
        return None
    return row


def load(ctx: Context, session_id: str) -> StaffIdentity | None:
    """The staff user a session names, or None when the session no longer
    stands (logged out, disabled, new password or second factor)."""
    session = ctx.session
    row = _row_for(session, session_id)
    return identity(row) if row is not None else None


def logout(ctx: Context, session_id: str) -> None:
    """End every session of this staff user server-side: a copy of the cookie
    no longer loads."""
    session = ctx.session
    begin_write(session)
    row = _row_for(session, session_id)
    if row is not None:
        row.session_generation += 1
    session.commit()


# ---- second factor ------------------------------------------------------------------


def confirm_totp(ctx: Context, staff_id: int, secret: str, code: str) -> StaffIdentity:
    """Turn TOTP on with ``secret`` once ``code`` shows the app has it. The
    other sessions of the account end; the returned identity is the new one."""
    session = ctx.session
    box = ctx.box
    step = rules.totp_match(secret, code, time.time())
    if step is None:
        raise InvalidCredentials("That code does not match; check the app's clock and try again.")
    begin_write(session)
    row = session.get(StaffUser, staff_id, populate_existing=True)
    if row is None or row.disabled_at is not None:
        session.rollback()
        raise NotFound("No such staff account.")
    row.totp_secret_enc = box.seal(secret, TOTP_PURPOSE)
    row.totp_last_step = step
    row.session_generation += 1
    session.commit()
    return identity(row)


def remove_totp(ctx: Context, staff_id: int, code: str) -> StaffIdentity:
    """Turn the second factor off; a current code is asked for."""
    session = ctx.session
    box = ctx.box
    begin_write(session)
    row = session.get(StaffUser, staff_id, populate_existing=True)
    if row is None or row.totp_secret_enc is None:
        session.rollback()
        raise NotFound("No second factor to remove.")
    secret = box.open(row.totp_secret_enc, TOTP_PURPOSE)
    if rules.totp_match(secret, code, time.time(), after=row.totp_last_step) is None:
        session.rollback()
        raise InvalidCredentials("The code is wrong or was used already.")
    row.totp_secret_enc = None
    row.totp_last_step = None
    row.session_generation += 1
    session.commit()
    return identity(row)
