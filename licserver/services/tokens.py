"""Admin API tokens: ``lsa_<id>_<secret>``. The id finds the row; the secret is
kept only as an argon2id hash. Verified tokens are remembered per process for a
minute so an admin request does not pay for argon2 every time. Creating and
revoking one is recorded (``admin_token.created``, ``admin_token.revoked``) in
the change's own transaction, from the console and the CLI alike."""

from __future__ import annotations

import hashlib
import re
import threading
import time
from dataclasses import dataclass

from sqlalchemy import select

from licserver.crypto import hash_password, random_token, verify_password
from licserver.database import begin_write
from licserver.domain.errors import NotFound, Unauthorized, ValidationFailed
from licserver.domain.ids import new_token_id
from licserver.domain.permissions import SCOPES
from licserver.models import AdminToken, utcnow
from licserver.services import SYSTEM_ORIGIN, Origin, events
from licserver.services.context import Context

TOKEN_RE = re.compile(r"^lsa_([a-z0-9]{10})_([A-Za-z0-9_-]{43})$")
CACHE_SECONDS = 60.0

_cache: dict[str, tuple[int, float]] = {}
_cache_lock = threading.Lock()


@dataclass(frozen=True)
class TokenIdentity:
    public_id: str
    name: str
    scope: str


def create(
    ctx: Context, name: str, scope: str = "full", origin: Origin = SYSTEM_ORIGIN
) -> tuple[AdminToken, str]:
    """Returns the row and the token text, which is shown once and never stored."""
    session = ctx.session
    begin_write(session)  # SQLite: take the write lock before reading
    name = name.strip()
    if not name or len(name) > 100:
        raise ValidationFailed({"name": ["Give a name of 1 to 100 characters."]})
    if scope not in SCOPES:
        raise ValidationFailed({"scope": [f"One of: {', '.join(SCOPES)}."]})
    public_id = new_token_id()
    secret = random_token(32)
    row = AdminToken(public_id=public_id, name=name, scope=scope, secret_hash=hash_password(secret))
    session.add(row)
    events.record(
        session,
        "admin_token.created",
        origin,
        data={"token": public_id, "name": name, "scope": scope},
    )
    session.commit()
    return row, f"lsa_{public_id}_{secret}"


def authenticate(ctx: Context, token: str) -> TokenIdentity:
    session = ctx.session
    m = TOKEN_RE.match(token)
    if not m:
        raise Unauthorized("The admin token is missing or invalid.")
    public_id, secret = m.groups()
    row = session.scalars(select(AdminToken).where(AdminToken.public_id == public_id)).first()
    if row is None or row.revoked_at is not None:
        # The same argon2 work as a wrong secret: timing tells no one which token
        # ids exist or were revoked.
        verify_password(None, secret)
        raise Unauthorized("The admin token is missing or invalid.")
    digest = hashlib.sha256(token.encode()).hexdigest()
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(digest)
    if hit is None or hit[0] != row.id or hit[1] < now:
        if not verify_password(row.secret_hash, secret):
            raise Unauthorized("The admin token is missing or invalid.")
        with _cache_lock:
            if len(_cache) > 1000:
                _cache.clear()
            _cache[digest] = (row.id, now + CACHE_SECONDS)
        # SQLite cannot upgrade this read transaction once another worker has
        # committed: write under the write lock (the row is reloaded).
        begin_write(session)
        row.last_used_at = utcnow()
        session.commit()
    return TokenIdentity(row.public_id, row.name, row.scope)


def revoke(ctx: Context, public_id: str, origin: Origin = SYSTEM_ORIGIN) -> AdminToken:
    """Revoke the token (at once: the cache is checked against the row). Again:
    nothing changes, nothing is recorded."""
    session = ctx.session
    begin_write(session)  # SQLite: take the write lock before reading
    row = session.scalars(select(AdminToken).where(AdminToken.public_id == public_id)).first()
    if row is None:
        raise NotFound(f"No token with id '{public_id}'.")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        events.record(
            session, "admin_token.revoked", origin, data={"token": row.public_id, "name": row.name}
        )
        session.commit()
    else:
        session.rollback()
    return row


def list_tokens(ctx: Context) -> list[AdminToken]:
    session = ctx.session
    return list(session.scalars(select(AdminToken).order_by(AdminToken.id)).all())
