"""Webhook rules, plain Python: which events an endpoint wants, how a delivery is
signed and verified, when a failed one is tried again, which URLs are allowed.

The signature: ``Licserver-Signature: t=<unix seconds>,v1=<hex>`` where hex is
HMAC-SHA256 with the endpoint's secret over the ASCII bytes ``"<t>."`` followed
by the exact request body. The timestamp is part of what is signed, so a
receiver that rejects old timestamps rejects replays of old deliveries.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from licserver.domain.ids import ALPHABET

SIGNATURE_HEADER = "Licserver-Signature"
SIGNATURE_VERSION = "v1"
# Seconds to wait after the 1st, 2nd, ... failed attempt; after the last one
# fails the delivery is given up (status "failed"): 6 attempts over about 15 h.
RETRY_SCHEDULE: tuple[int, ...] = (60, 5 * 60, 30 * 60, 2 * 3600, 12 * 3600)
MAX_ATTEMPTS = len(RETRY_SCHEDULE) + 1
DEFAULT_TOLERANCE_SECONDS = 300
PING = "ping"

# An event kind: lowercase words joined by dots, such as ``activation.created``.
KIND_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")
# What an endpoint may subscribe to: ``*``, a kind, or a prefix ``activation.*``.
PATTERN_RE = re.compile(r"^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?)$")
WEBHOOK_ID_RE = re.compile(r"^W-[0-9A-Z]{8}$")
MAX_URL_LENGTH = 2000


def new_webhook_id() -> str:
    """``W-XXXXXXXX``: 40 bits; endpoints are few and their ids are not secrets."""
    return "W-" + "".join(secrets.choice(ALPHABET) for _ in range(8))


def new_secret() -> str:
    """The signing secret of a new endpoint: ``whsec_`` and 256 random bits."""
    return "whsec_" + secrets.token_urlsafe(32)


# ---- subscriptions ------------------------------------------------------------


def pattern_error(pattern: str) -> str | None:
    """Why ``pattern`` is not a valid subscription, or None when it is."""
    if not PATTERN_RE.match(pattern):
        return (
            f"'{pattern}' is not '*', an event kind (activation.created) "
            "or a prefix (activation.*)."
        )
    return None


def matches(patterns: Iterable[str], kind: str) -> bool:
    """Whether an endpoint subscribed to ``patterns`` gets events of ``kind``.

    ``*`` matches every kind; ``activation.*`` every kind that starts with
    ``activation.`` (``activation.created``, ``activation.x.y``), but not
    ``activation`` itself nor ``activations.created``."""
    for pattern in patterns:
        if pattern == "*" or pattern == kind:
            return True
        if pattern.endswith(".*") and kind.startswith(pattern[:-1]):
            return True
    return False


def normalise_patterns(patterns: Sequence[str]) -> list[str]:
    """The patterns in their given order, without repeats."""
    out: list[str] = []
    for p in patterns:
        if p not in out:
            out.append(p)
    return out


# ---- signing -------------------------------------------------------------------


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``"<timestamp>." + body`` with ``secret``."""
    message = str(int(timestamp)).encode("ascii") + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """The value of the ``Licserver-Signature`` header."""
    return f"t={int(timestamp)},{SIGNATURE_VERSION}={signature(secret, timestamp, body)}"


def verify(
    secret: str,
    header: str,
    body: bytes,
    now: int,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """What a receiver does: the header parses, its timestamp is within
    ``tolerance`` seconds of ``now``, and one of its ``v1`` signatures matches."""
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == SIGNATURE_VERSION:
            candidates.append(value)
    if timestamp is None or abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, c) for c in candidates)


# ---- retries ---------------------------------------------------------------------


def retry_delay(attempts_made: int, schedule: Sequence[int] = RETRY_SCHEDULE) -> int | None:
    """Seconds until the next attempt after ``attempts_made`` attempts that all
    failed, or None: give up."""
    if attempts_made < 1:
        return 0
    if attempts_made > len(schedule):
        return None
    return schedule[attempts_made - 1]


def is_success(status_code: int) -> bool:
    """Any 2xx counts as delivered; redirects are not followed and count as failures."""
    return 200 <= status_code < 300


# ---- URLs ---------------------------------------------------------------------------


def url_error(url: str, allow_private: bool) -> str | None:
    """Why ``url`` cannot be a webhook endpoint, or None when it can.

    http or https, a host, no ``user:password@`` (the signature authenticates
    us), no fragment. A literal IP address that is not public (loopback,
    private, link-local...) is refused unless ``allow_private``; host names are
    checked again against what they resolve to at every delivery."""
    if len(url) > MAX_URL_LENGTH:
        return f"At most {MAX_URL_LENGTH} characters."
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        return "No spaces or control characters."
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "Not a valid URL."
    if parts.scheme not in ("http", "https"):
        return "Must start with http:// or https://."
    if not parts.hostname:
        return "Give a host name."
    if parts.username is not None or parts.password is not None:
        return "No user name or password in the URL."
    if parts.fragment:
        return "No #fragment."
    if port == 0:
        return "Not a valid port."
    try:
        address = ipaddress.ip_address(parts.hostname)
    except ValueError:
        return None
    if not allow_private and not is_public_address(str(address)):
        return "This address is not public (loopback, private or reserved)."
    return None


def is_public_address(address: str) -> bool:
    """Whether a resolved IP address is on the public internet."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast
