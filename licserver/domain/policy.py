"""Licence policies: the rules a licence follows, as plain values and functions.

A product has named policies; a licence refers to one (or none: the defaults,
which are today's node-locked behaviour) and may override any setting. The
effective settings are ``resolve(policy_settings, overrides)``. Everything here
is a pure function of settings, times and plain values, so the services, the
sweeper, the dry run and the tests all decide the same way. docs/licence-models.md
describes each setting for vendors.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from licserver.domain.budget import Budget, parse_budget

NODE_LOCKED, FLOATING = "node_locked", "floating"
MODELS = (NODE_LOCKED, FLOATING)
FIXED, FROM_ISSUE, FROM_FIRST_ACTIVATION = "fixed", "from_issue", "from_first_activation"
EXPIRY_BASES = (FIXED, FROM_ISSUE, FROM_FIRST_ACTIVATION)
REVOKE_ACCESS, MAINTAIN_ACCESS = "revoke_access", "maintain_access"
EXPIRED_ACCESS = (REVOKE_ACCESS, MAINTAIN_ACCESS)
FROM_EXPIRY, FROM_NOW = "from_expiry", "from_now"
RENEWAL_BASES = (FROM_EXPIRY, FROM_NOW)
ENFORCE, REPORT_ONLY = "enforce", "report_only"
ENFORCEMENTS = (ENFORCE, REPORT_ONLY)

FEATURE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
POLICY_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
FINGERPRINT_NAME_RE = re.compile(r"^[a-z0-9_]{1,32}$")
MAX_FINGERPRINTS = 8
MAX_FINGERPRINT_LEN = 128
MAX_SITE_URL = 2048
MAX_SECONDS = 366 * 86400


class PolicyError(ValueError):
    """A setting that cannot be: ``errors`` maps field names to messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class Settings:
    """Every setting a policy fixes; the defaults are the node-locked licence of
    a server without policies (so a licence without a policy behaves as before)."""

    model: str = NODE_LOCKED
    # floating: a lease not renewed (check-in) within this many seconds is released.
    lease_ttl: int = 900
    # Heartbeat: when required, a machine should check in every heartbeat_interval
    # seconds. node_locked: after inactive_after seconds without one it is marked
    # inactive, and with free_seat_when_inactive its seat is freed (it is
    # deactivated, actor system). floating: the lease TTL is the heartbeat.
    heartbeat_required: bool = False
    heartbeat_interval: int = 3600
    inactive_after: int = 3 * 86400
    free_seat_when_inactive: bool = False
    # Expiry: fixed (the licence's own expires_at, or fixed_expiry when set),
    # from_issue (duration_days after issue) or from_first_activation.
    expiry_basis: str = FIXED
    duration_days: int | None = None
    fixed_expiry: datetime | None = None
    expired_access: str = REVOKE_ACCESS
    renewal_basis: str = FROM_EXPIRY
    # Trials: one trial per machine per product (by installation ID).
    trial: bool = False
    features: tuple[str, ...] = ()
    # Device transfer: client and portal deactivations allowed per window, e.g.
    # "3 per 30 days"; None: the server's DEACTIVATION_BUDGET; "off": unlimited.
    transfer_budget: str | None = None
    # Fingerprint continuity: how many secondary identifiers must match an active
    # installation for a new installation ID to take its place (0: never).
    fingerprint_matches: int = 2
    enforcement: str = ENFORCE

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["features"] = list(self.features)
        data["fixed_expiry"] = _iso(self.fixed_expiry)
        return data

    @property
    def floating(self) -> bool:
        return self.model == FLOATING

    @property
    def report_only(self) -> bool:
        return self.enforcement == REPORT_ONLY

    def budget(self, server_default: Budget | None) -> Budget | None:
        """The device-transfer budget: the policy's, else the server's."""
        if self.transfer_budget is None:
            return server_default
        return parse_budget(self.transfer_budget)

    @property
    def plain(self) -> bool:
        """Does a new activation under these settings need nothing beyond the seat
        rule of a node-locked licence? (The PostgreSQL one-statement path.)"""
        return (
            self.model == NODE_LOCKED
            and self.enforcement == ENFORCE
            and not self.trial
            and self.expiry_basis != FROM_FIRST_ACTIVATION
            and not self.heartbeat_required
        )


DEFAULTS = Settings()
SETTING_NAMES = tuple(f.name for f in fields(Settings))


def _iso(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


def _parse_time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    text = str(value)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError("a time needs a timezone")
    return parsed


def _choice(errors: dict[str, list[str]], name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        errors.setdefault(name, []).append(f"One of: {', '.join(allowed)}.")


def _seconds(errors: dict[str, list[str]], name: str, value: Any, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= MAX_SECONDS:
        errors.setdefault(name, []).append(f"Whole seconds from {low} to {MAX_SECONDS}.")


# Over 60 lines on purpose: one check per setting, in the order docs/licence-models.md
# lists them, then the combinations; split up, a reader would lose the list.
def check(values: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Validate settings given as JSON-like values (a policy's, or a licence's
    overrides when ``partial``); return them normalised (features sorted, times
    parsed). Unknown names and impossible combinations raise PolicyError."""
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    for name, value in values.items():
        if name not in SETTING_NAMES:
            errors.setdefault(name, []).append("Unknown setting.")
            continue
        out[name] = value
    if "model" in out:
        _choice(errors, "model", out["model"], MODELS)
    for name, low in (("lease_ttl", 10), ("heartbeat_interval", 10), ("inactive_after", 10)):
        if name in out:
            _seconds(errors, name, out[name], low)
    for name in ("heartbeat_required", "free_seat_when_inactive", "trial"):
        if name in out and not isinstance(out[name], bool):
            errors.setdefault(name, []).append("true or false.")
    if "expiry_basis" in out:
        _choice(errors, "expiry_basis", out["expiry_basis"], EXPIRY_BASES)
    if "expired_access" in out:
        _choice(errors, "expired_access", out["expired_access"], EXPIRED_ACCESS)
    if "renewal_basis" in out:
        _choice(errors, "renewal_basis", out["renewal_basis"], RENEWAL_BASES)
    if "enforcement" in out:
        _choice(errors, "enforcement", out["enforcement"], ENFORCEMENTS)
    if out.get("duration_days") is not None:
        d = out["duration_days"]
        if isinstance(d, bool) or not isinstance(d, int) or not 1 <= d <= 36500:
            errors.setdefault("duration_days", []).append("Whole days from 1 to 36500, or null.")
    if "fixed_expiry" in out:
        try:
            out["fixed_expiry"] = _parse_time(out["fixed_expiry"])
        except (TypeError, ValueError):
            errors.setdefault("fixed_expiry", []).append("An RFC 3339 time with a timezone.")
    if "features" in out:
        feats = out["features"]
        if not isinstance(feats, list | tuple) or not all(
            isinstance(f, str) and FEATURE_RE.match(f) for f in feats
        ):
            errors.setdefault("features", []).append(
                "A list of names (1-64 of A-Z a-z 0-9 . _ : -)."
            )
        elif len(feats) > 100:
            errors.setdefault("features", []).append("At most 100 features.")
        else:
            out["features"] = tuple(sorted(set(feats)))
    if out.get("transfer_budget") is not None:
        try:
            tb = out["transfer_budget"]
            if not isinstance(tb, str):
                raise ValueError
            parse_budget(tb)
            out["transfer_budget"] = tb.strip().lower() or "off"
        except ValueError:
            errors.setdefault("transfer_budget", []).append(
                "Like '3 per 30 days', or 'off' for no limit, or null for the server's default."
            )
    if "fingerprint_matches" in out:
        fm = out["fingerprint_matches"]
        if isinstance(fm, bool) or not isinstance(fm, int) or not 0 <= fm <= MAX_FINGERPRINTS:
            errors.setdefault("fingerprint_matches", []).append(
                f"A whole number from 0 (off) to {MAX_FINGERPRINTS}."
            )
    if not partial and not errors:
        merged = replace(DEFAULTS, **out)
        errors.update(_combination_errors(merged))
    if errors:
        raise PolicyError(errors)
    return out


def _combination_errors(s: Settings) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if s.expiry_basis in (FROM_ISSUE, FROM_FIRST_ACTIVATION) and s.duration_days is None:
        errors["duration_days"] = [f"Needed when expiry_basis is {s.expiry_basis}."]
    if s.trial and s.duration_days is None and s.fixed_expiry is None:
        errors["duration_days"] = ["A trial needs a length (duration_days)."]
    if s.trial and s.expiry_basis == FIXED and s.fixed_expiry is None:
        errors["expiry_basis"] = ["A trial's expiry is from_issue or from_first_activation."]
    return errors


def resolve(policy: Mapping[str, Any] | None, overrides: Mapping[str, Any] | None) -> Settings:
    """The effective settings: the defaults, then the policy's, then the licence's
    overrides (both stored as ``check``-ed JSON)."""
    merged: dict[str, Any] = {}
    for source in (policy, overrides):
        if source:
            merged.update({k: v for k, v in source.items() if k in SETTING_NAMES})
    if not merged:
        return DEFAULTS
    if "features" in merged:
        merged["features"] = tuple(merged["features"])
    if "fixed_expiry" in merged:
        merged["fixed_expiry"] = _parse_time(merged["fixed_expiry"])
    return replace(DEFAULTS, **merged)


def settings_json(values: Mapping[str, Any]) -> dict[str, Any]:
    """``check``-ed values as they are stored (JSON)."""
    out = dict(values)
    if "features" in out:
        out["features"] = list(out["features"])
    if "fixed_expiry" in out:
        out["fixed_expiry"] = _iso(out["fixed_expiry"])
    return out


# ---- features --------------------------------------------------------------


def features(settings: Settings, licence_features: Iterable[str] | None) -> list[str]:
    """The certificate's ``features``: the policy's and the licence's, sorted."""
    return sorted(set(settings.features) | set(licence_features or ()))


def missing_features(granted: Iterable[str], required: Iterable[str]) -> list[str]:
    have = set(granted)
    return sorted({f for f in required if f not in have})


# ---- expiry ----------------------------------------------------------------


def expiry_at_issue(s: Settings, now: datetime, given: datetime | None) -> datetime | None:
    """A new licence's expires_at when the request gave none."""
    if s.fixed_expiry is not None:
        return s.fixed_expiry
    if s.expiry_basis == FROM_ISSUE and s.duration_days:
        return now + timedelta(days=s.duration_days)
    return given


def expiry_at_first_activation(
    s: Settings, now: datetime, current: datetime | None, first_activated_at: datetime | None
) -> datetime | None:
    """The expiry to set at this activation: only the first one of a
    from_first_activation licence changes it."""
    if s.expiry_basis != FROM_FIRST_ACTIVATION or first_activated_at is not None:
        return current
    assert s.duration_days is not None
    return now + timedelta(days=s.duration_days)


def renewed_expiry(
    s: Settings, current: datetime | None, now: datetime, days: int | None = None
) -> datetime:
    """The expiry after a renewal of ``days`` (default: the policy's duration):
    from the old expiry (from_expiry, even when past, so a late renewal does not
    gain the lapsed time) or from now (from_now)."""
    length = days or s.duration_days
    if length is None:
        raise PolicyError({"days": ["Give the number of days: the policy has no duration."]})
    base = now if s.renewal_basis == FROM_NOW or current is None else current
    return base + timedelta(days=length)


def access_after_expiry(
    s: Settings, expires_at: datetime | None, release_date: date | None
) -> bool:
    """May an expired licence still be used by this version? Only under
    maintain_access, by versions released on or before the expiry day."""
    if s.expired_access != MAINTAIN_ACCESS or expires_at is None or release_date is None:
        return False
    return release_date <= expires_at.date()


# ---- leases and heartbeats --------------------------------------------------


def lease_until(s: Settings, now: datetime) -> datetime | None:
    """A floating lease taken or renewed now lasts until this; None on node_locked."""
    return now + timedelta(seconds=s.lease_ttl) if s.floating else None


def heartbeat_deadline(s: Settings, last_seen: datetime) -> datetime | None:
    """When a node-locked machine last seen at ``last_seen`` is marked inactive
    (None: it never is)."""
    if s.floating or not s.heartbeat_required:
        return None
    return last_seen + timedelta(seconds=s.inactive_after)


def certificate_until(s: Settings, now: datetime, grace_days: int) -> datetime:
    """The certificate's ``until``: the product's offline grace, shortened to the
    lease (floating) or to the heartbeat deadline (heartbeat required)."""
    until = now + timedelta(days=grace_days)
    lease = lease_until(s, now)
    if lease is not None:
        until = min(until, lease)
    deadline = heartbeat_deadline(s, now)
    if deadline is not None:
        until = min(until, deadline)
    return until


LEASE_EXPIRED, MARK_INACTIVE, FREE_SEAT = "release_lease", "mark_inactive", "free_seat"


@dataclass(frozen=True)
class Seen:
    """A live activation as the heartbeat rules see it."""

    key: Any
    last_seen: datetime  # last check-in, else activation
    lease_expires_at: datetime | None
    inactive: bool


def overdue(s: Settings, act: Seen, now: datetime) -> str | None:
    """What the rules do to this live activation now: release its lease, mark it
    inactive, free its seat, or nothing (None)."""
    if s.floating:
        expires = act.lease_expires_at or (act.last_seen + timedelta(seconds=s.lease_ttl))
        return LEASE_EXPIRED if expires <= now else None
    deadline = heartbeat_deadline(s, act.last_seen)
    if deadline is None or deadline > now:
        return None
    if s.free_seat_when_inactive:
        return FREE_SEAT
    return None if act.inactive else MARK_INACTIVE


# ---- installation identity -------------------------------------------------


def degenerate_id(value: str) -> bool:
    """All zeros, all F, or one character repeated (separators aside): the IDs of
    broken or spoofed fingerprinting, which would let machines share a seat."""
    core = re.sub(r"[._:-]", "", value).lower()
    return len(set(core)) <= 1


def normalise_site(url: str) -> str:
    """A licensed site's canonical form: lower-case scheme and host, the default
    port dropped, no query, fragment or user info, no trailing slash (``/`` for
    the root). ValueError for what is not an http(s) URL with a host."""
    if not isinstance(url, str) or not url.strip() or len(url) > MAX_SITE_URL:
        raise ValueError("An http:// or https:// URL of at most 2048 characters.")
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError("An http:// or https:// URL.")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        raise ValueError("The port is not a number from 0 to 65535.") from None
    if not host:
        raise ValueError("The URL needs a host.")
    host = host.rstrip(".").encode("idna").decode("ascii") if not _is_ip(host) else host
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != {"http": 80, "https": 443}[scheme]:
        netloc = f"{netloc}:{port}"
    path = re.sub(r"/{2,}", "/", parts.path or "/")
    if len(path) > 1:
        path = path.rstrip("/")
    return f"{scheme}://{netloc}{path}"


def _is_ip(host: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def site_installation_id(normalised_url: str) -> str:
    """The installation ID that stands for a licensed site (stable; the same site
    is the same installation): ``site:`` and 40 hex digits of its SHA-256."""
    return "site:" + hashlib.sha256(normalised_url.encode()).hexdigest()[:40]


@dataclass(frozen=True)
class Holder:
    """A live activation with its secondary identifiers."""

    key: Any
    installation_id: str
    fingerprints: Mapping[str, str] = field(default_factory=dict)


def usable_fingerprints(values: Mapping[str, str] | None) -> dict[str, str]:
    """The secondary identifiers that can count: degenerate ones never do."""
    return {k: v for k, v in (values or {}).items() if v and not degenerate_id(v)}


def continuity_match(
    s: Settings, offered: Mapping[str, str] | None, holders: Iterable[Holder]
) -> tuple[Holder, list[str]] | None:
    """The active installation a new installation ID may take the place of: the
    one whose secondary identifiers match at least ``fingerprint_matches`` of
    those offered, with the most matches; None when none does, or when two tie
    (ambiguous: no move). Returns it with the names that matched."""
    need = s.fingerprint_matches
    mine = usable_fingerprints(offered)
    if need <= 0 or len(mine) < need:
        return None
    scored: list[tuple[int, Holder, list[str]]] = []
    for h in holders:
        theirs = usable_fingerprints(h.fingerprints)
        same = sorted(k for k, v in mine.items() if theirs.get(k) == v)
        if len(same) >= need:
            scored.append((len(same), h, same))
    if not scored:
        return None
    scored.sort(key=lambda t: -t[0])
    if len(scored) > 1 and scored[0][0] == scored[1][0]:
        return None
    return scored[0][1], scored[0][2]


def check_fingerprints(values: Any) -> dict[str, str]:
    """The ``fingerprints`` object of a request: at most 8 names (a-z 0-9 _) to
    strings of 1-128 characters. ValueError otherwise."""
    if not isinstance(values, dict):
        raise ValueError("An object of name: value.")
    if len(values) > MAX_FINGERPRINTS:
        raise ValueError(f"At most {MAX_FINGERPRINTS} identifiers.")
    for k, v in values.items():
        if not isinstance(k, str) or not FINGERPRINT_NAME_RE.match(k):
            raise ValueError(f"{k!r}: names are 1-32 of a-z 0-9 _.")
        if not isinstance(v, str) or not 1 <= len(v) <= MAX_FINGERPRINT_LEN:
            raise ValueError(f"{k}: a string of 1 to {MAX_FINGERPRINT_LEN} characters.")
    return dict(values)
