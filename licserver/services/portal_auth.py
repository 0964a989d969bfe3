"""Portal log-in: users (email + own password) and the company login
(customer number + company password); invitations, password resets, and a
user's own email and password.

Every "no" here is the same for an unknown address and a wrong password, so
the answers say nothing about which addresses exist.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from licserver.crypto import hash_password, random_token, token_hash, verify_password
from licserver.database import begin_write
from licserver.domain.errors import Conflict, InvalidCredentials, NotFound
from licserver.domain.ids import CUSTOMER_NUMBER_RE
from licserver.domain.portal import COMPANY_LOGIN_ROLES, Principal
from licserver.models import Customer, User, utcnow
from licserver.services.context import Context


@dataclass(frozen=True)
class Identity:
    """Who is logged in, with what the pages show about them."""

    principal: Principal
    session_id: str  # what the session cookie keeps (changes with the password)
    name: str
    email: str | None  # None for the company login
    customer_number: str
    customer_name: str

    @property
    def actor_id(self) -> str:
        """How the history names them: the email (or ``user:<id>`` should it
        not fit), ``company:<number>`` for the company login."""
        if self.email is None:
            return f"company:{self.customer_number}"
        if len(self.email) <= 64:
            return self.email
        return f"user:{self.principal.user_id}"


def _stamp(secret: str | None, generation: int = 0) -> str:
    # A new password (or company password) ends every session made with the old
    # one; a log-out moves the generation on and so ends the sessions made before.
    return f"{generation}.{hashlib.sha256((secret or '-').encode()).hexdigest()[:16]}"


def user_identity(user: User, customer: Customer) -> Identity:
    limits = frozenset(lic.id for lic in user.licenses) if user.licenses else None
    return Identity(
        principal=Principal(customer.id, user.role, user.id, limits),
        session_id=f"u:{user.id}:{_stamp(user.password_hash, user.session_generation)}",
        name=user.name,
        email=user.email,
        customer_number=customer.number,
        customer_name=customer.name,
    )


def company_identity(customer: Customer) -> Identity:
    role = customer.company_login_role
    if role not in COMPANY_LOGIN_ROLES:
        role = "basic"
    return Identity(
        principal=Principal(customer.id, role, None, None),
        session_id=(
            f"c:{customer.id}:"
            f"{_stamp(customer.company_password_hash, customer.company_session_generation)}"
        ),
        name=f"{customer.name} (company login)",
        email=None,
        customer_number=customer.number,
        customer_name=customer.name,
    )


def _wrong() -> InvalidCredentials:
    return InvalidCredentials("The login or the password is wrong.")


def login(ctx: Context, login: str, password: str) -> Identity:
    """An email and the user's password, or a customer number and the company
    password (when the owners have the company login on). InvalidCredentials
    for every way of being wrong, after the same work."""
    session = ctx.session
    login = login.strip()
    if CUSTOMER_NUMBER_RE.match(login.upper()):
        cust = session.scalars(select(Customer).where(Customer.number == login.upper())).first()
        stored = cust.company_password_hash if cust and cust.company_login_enabled else None
        if not verify_password(stored, password) or cust is None:
            raise _wrong()
        return company_identity(cust)
    user = session.scalars(select(User).where(User.email == login.lower())).first()
    if not verify_password(user.password_hash if user else None, password) or user is None:
        raise _wrong()
    begin_write(session)
    user = session.get(User, user.id, populate_existing=True)
    if user is None:  # removed in between
        raise _wrong()
    user.last_login_at = utcnow()
    session.commit()
    cust = session.get(Customer, user.customer_id)
    assert cust is not None
    return user_identity(user, cust)


def load(ctx: Context, session_id: str) -> Identity | None:
    """The identity a session cookie names, or None when it no longer stands
    (user removed, password changed, company login turned off)."""
    session = ctx.session
    kind, _, rest = session_id.partition(":")
    row_id, _, stamp = rest.partition(":")
    if not row_id.isdigit():
        return None
    ident: Identity | None = None
    if kind == "u":
        user = session.get(User, int(row_id))
        if user is not None and user.password_hash is not None:
            cust = session.get(Customer, user.customer_id)
            assert cust is not None
            ident = user_identity(user, cust)
    elif kind == "c":
        cust = session.get(Customer, int(row_id))
        if cust is not None and cust.company_login_enabled and cust.company_password_hash:
            ident = company_identity(cust)
    if ident is None or ident.session_id != session_id:
        return None
    return ident


def logout(ctx: Context, session_id: str) -> None:
    """End, server-side, the sessions of the login ``session_id`` names: its cookie
    (and any copy of it) no longer loads. Per login, not per browser: the user's
    other sessions end too; for the company login, every session made with it."""
    session = ctx.session
    kind, _, rest = session_id.partition(":")
    row_id = rest.partition(":")[0]
    if not row_id.isdigit():
        return
    begin_write(session)
    if kind == "u":
        user = session.get(User, int(row_id), populate_existing=True)
        if user is not None:
            user.session_generation += 1
    elif kind == "c":
        cust = session.get(Customer, int(row_id), populate_existing=True)
        if cust is not None:
            cust.company_session_generation += 1
    session.commit()


# ---- invitations and resets ----------------------------------------------------


def _by_token(session: Session, token: str, column: str) -> User | None:
    if not token or len(token) > 200:
        return None
    col = User.invite_token_hash if column == "invite" else User.reset_token_hash
    user = session.scalars(select(User).where(col == token_hash(token))).first()
    if user is None:
        return None
    expires = user.invite_expires_at if column == "invite" else user.reset_expires_at
    if expires is None or expires <= utcnow():
        return None
    return user


def _gone() -> NotFound:
    return NotFound("This link is not valid: it was used already, has expired, or was replaced.")


def check_invitation(ctx: Context, token: str) -> User:
    session = ctx.session
    user = _by_token(session, token, "invite")
    if user is None:
        raise _gone()
    return user


def check_reset(ctx: Context, token: str) -> User:
    session = ctx.session
    user = _by_token(session, token, "reset")
    if user is None:
        raise _gone()
    return user


def accept_invitation(ctx: Context, token: str, password: str) -> Identity:
    """Set the invited user's first password; the link works once."""
    session = ctx.session
    begin_write(session)
    user = check_invitation(ctx, token)
    user.password_hash = hash_password(password)
    user.invite_token_hash = None
    user.invite_expires_at = None
    user.last_login_at = utcnow()
    session.commit()
    cust = session.get(Customer, user.customer_id)
    assert cust is not None
    return user_identity(user, cust)


@dataclass(frozen=True)
class ResetRequest:
    email: str
    name: str
    token: str


def request_reset(ctx: Context, email: str, ttl_minutes: int) -> ResetRequest | None:
    """A single-use reset token for the user with ``email`` (an earlier one
    stops working), or None when there is no such user; the caller answers
    the same either way. Invited users who never set a password may use it too."""
    session = ctx.session
    begin_write(session)
    user = session.scalars(select(User).where(User.email == email.strip().lower())).first()
    if user is None:
        session.commit()
        return None
    token = random_token(32)
    user.reset_token_hash = token_hash(token)
    user.reset_expires_at = utcnow() + timedelta(minutes=ttl_minutes)
    session.commit()
    return ResetRequest(user.email, user.name, token)


def reset_password(ctx: Context, token: str, password: str) -> tuple[Identity, datetime]:
    """Set a new password with a reset token; the token (and any invitation)
    stops working, and so does every session made with the old password."""
    session = ctx.session
    begin_write(session)
    user = check_reset(ctx, token)
    now = utcnow()
    user.password_hash = hash_password(password)
    user.session_generation += 1
    user.reset_token_hash = None
    user.reset_expires_at = None
    user.invite_token_hash = None
    user.invite_expires_at = None
    user.last_login_at = now
    session.commit()
    cust = session.get(Customer, user.customer_id)
    assert cust is not None
    return user_identity(user, cust), now


# ---- a user's own login -----------------------------------------------------------


def _me(session: Session, principal: Principal) -> User:
    if principal.user_id is None:
        raise NotFound("The company login has no profile of its own.")
    user = session.get(User, principal.user_id, populate_existing=True)
    if user is None:
        raise NotFound("No such user.")
    return user


def change_password(
    ctx: Context, principal: Principal, current: str, new: str
) -> tuple[Identity, datetime]:
    session = ctx.session
    user = _me(session, principal)
    if not verify_password(user.password_hash, current):
        raise InvalidCredentials("The current password is wrong.")
    begin_write(session)
    user = _me(session, principal)
    now = utcnow()
    user.password_hash = hash_password(new)
    user.session_generation += 1
    user.reset_token_hash = None
    user.reset_expires_at = None
    session.commit()
    cust = session.get(Customer, user.customer_id)
    assert cust is not None
    return user_identity(user, cust), now


def change_email(
    ctx: Context, principal: Principal, current_password: str, new_email: str
) -> tuple[str, str, datetime]:
    """(old, new, when). The password is asked again: the email is the login."""
    session = ctx.session
    user = _me(session, principal)
    if not verify_password(user.password_hash, current_password):
        raise InvalidCredentials("The current password is wrong.")
    new_email = new_email.strip().lower()
    begin_write(session)
    user = _me(session, principal)
    old = user.email
    if new_email == old:
        session.commit()
        return old, new_email, utcnow()
    if session.scalars(select(User.id).where(User.email == new_email)).first() is not None:
        session.rollback()
        raise Conflict("That email address is already used by another login.")
    user.email = new_email
    # A reset link sent to the old address must not work for the new one.
    user.reset_token_hash = None
    user.reset_expires_at = None
    now = utcnow()
    session.commit()
    return old, new_email, now


def update_profile(
    ctx: Context, principal: Principal, *, name: str, notices: dict[str, bool]
) -> None:
    session = ctx.session
    begin_write(session)
    user = _me(session, principal)
    user.name = name
    user.notify_expiry = notices["expiry"]
    user.notify_deactivations = notices["deactivations"]
    user.notify_updates = notices["updates"]
    session.commit()


def me(ctx: Context, principal: Principal) -> User:
    session = ctx.session
    return _me(session, principal)
