"""The staff console's rules: roles, what each may do, and TOTP (RFC 6238).

Plain Python: no Flask, no session. Every console route names one action of
``MATRIX``; templates ask ``allowed`` before showing a button.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
from urllib.parse import quote, urlencode

from licserver.domain.errors import Forbidden

# The shortest password a staff account may have.
PASSWORD_MIN = 10

SUPPORT = "support"
ADMIN = "admin"
ROLES: tuple[str, ...] = (SUPPORT, ADMIN)
_RANK = {SUPPORT: 1, ADMIN: 2}

# Actions. Support helps customers day to day; admin also changes what was sold
# (seats, expiry, new licences), ends licences for good, and manages access.
VIEW = "view"  # search, customer and licence pages, history
DEACTIVATE = "deactivate"  # deactivate an installation
SUSPEND = "suspend"  # suspend and reinstate
REGENERATE_PASSWORD = "regenerate_password"
REISSUE_KEY = "reissue_key"
ISSUE = "issue"  # a new licence for a customer
CHANGE_TERMS = "change_terms"  # seats, expiry (renew/extend)
REVOKE = "revoke"
TOKENS = "tokens"  # admin API tokens: create, list, revoke
STAFF = "staff"  # staff accounts

MATRIX: dict[str, frozenset[str]] = {
    SUPPORT: frozenset({VIEW, DEACTIVATE, SUSPEND, REGENERATE_PASSWORD, REISSUE_KEY}),
    ADMIN: frozenset(
        {
            VIEW,
            DEACTIVATE,
            SUSPEND,
            REGENERATE_PASSWORD,
            REISSUE_KEY,
            ISSUE,
            CHANGE_TERMS,
            REVOKE,
            TOKENS,
            STAFF,
        }
    ),
}


def allowed(role: str, action: str) -> bool:
    return action in MATRIX.get(role, frozenset())


def check(role: str, action: str) -> None:
    if not allowed(role, action):
        raise Forbidden(f"Your role ({role}) may not do this; ask an admin.")


def at_least(role: str, minimum: str) -> bool:
    """For menus: ``role`` is ``minimum`` or above (unknown roles: nothing)."""
    return _RANK.get(role, 0) >= _RANK.get(minimum, 99)


def actor_id(email: str, public_id: str) -> str:
    """How events name a staff user: ``staff:<email>``; ``staff:<public id>``
    when the email would not fit the 64 characters of ``events.actor_id``."""
    text = f"staff:{email}"
    return text if len(text) <= 64 else f"staff:{public_id}"


def last_admin_refusal(
    email: str, enabled_admins: int, *, target_is_enabled_admin: bool
) -> str | None:
    """Why a change that takes ``email`` out of the enabled admins (a new role,
    disabling) is refused, or None: there must always be one enabled admin
    left to manage access."""
    if target_is_enabled_admin and enabled_admins <= 1:
        return (
            f"{email} is the last enabled admin: make another staff member admin "
            "(or enable one) first, so someone can still manage access."
        )
    return None


# Temporary passwords: no 0/O, 1/l/I, so they can be read out over the phone.
_TEMP_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def temporary_password() -> str:
    """A random password an admin hands over once: four groups of four
    (about 79 bits), e.g. ``k7mq-2xhp-...``."""
    groups = ("".join(secrets.choice(_TEMP_ALPHABET) for _ in range(4)) for _ in range(4))
    return "-".join(groups)


# ---- TOTP (RFC 6238: HMAC-SHA1, 30-second steps, 6 digits) --------------------

STEP = 30
DIGITS = 6


def new_totp_secret() -> str:
    """160 random bits in base32, without padding (what authenticator apps take)."""
    return base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")


def _hotp(secret: str, counter: int) -> str:
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    code = (struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF) % 10**DIGITS
    return f"{code:0{DIGITS}d}"


def totp(secret: str, at: float) -> str:
    """The code for Unix time ``at``."""
    return _hotp(secret, int(at) // STEP)


def totp_match(secret: str, code: str, at: float, *, after: int | None = None) -> int | None:
    """The time step ``code`` is valid for (now, or one step either side for a
    slow hand or clock), or None. Steps at or before ``after`` (the last one
    used) are refused, so a code seen over a shoulder cannot be replayed."""
    code = code.strip().replace(" ", "")
    if len(code) != DIGITS or not code.isdigit():
        return None
    now = int(at) // STEP
    for step in (now, now - 1, now + 1):
        if after is not None and step <= after:
            continue
        if hmac.compare_digest(_hotp(secret, step), code):
            return step
    return None


def otpauth_uri(secret: str, account: str, issuer: str) -> str:
    """What authenticator apps read from a QR code or a pasted link."""
    label = quote(f"{issuer}:{account}")
    query = urlencode(
        {"secret": secret, "issuer": issuer, "algorithm": "SHA1", "digits": DIGITS, "period": STEP}
    )
    return f"otpauth://totp/{label}?{query}"
