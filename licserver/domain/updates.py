"""Update rules: semantic versions, which channels a channel sees, and which
release a machine is offered (API.md, "Updates"). Plain Python: the service
loads candidates and the licence, this module decides."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import total_ordering

from licserver.domain.errors import ValidationFailed

# semver.org 2.0.0, plus the short form MAJOR.MINOR (read as MAJOR.MINOR.0).
_NUM = r"0|[1-9]\d*"
_IDENT = r"[0-9A-Za-z-]+"
_VERSION_RE = re.compile(
    rf"^(?P<major>{_NUM})\.(?P<minor>{_NUM})(?:\.(?P<patch>{_NUM}))?"
    rf"(?:-(?P<pre>{_IDENT}(?:\.{_IDENT})*))?"
    rf"(?:\+(?P<build>{_IDENT}(?:\.{_IDENT})*))?$"
)
MAX_VERSION_LENGTH = 64

STABLE = "stable"
# Most stable first: a channel sees itself and everything before it.
LADDER = ("stable", "rc", "beta", "alpha", "dev")
CHANNEL_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
PLATFORMS = ("windows", "macos", "linux")
ARCHES = ("x86_64", "arm64")


class VersionError(ValueError):
    """Not a version we can compare."""


@total_ordering
@dataclass(frozen=True)
class Version:
    """A semantic version. Build metadata is kept for display but never compared."""

    major: int
    minor: int
    patch: int
    pre: tuple[int | str, ...] = ()
    build: str = ""

    @classmethod
    def parse(cls, text: object) -> Version:
        if not isinstance(text, str) or len(text) > MAX_VERSION_LENGTH:
            raise VersionError("not a version")
        return _parse(text)

    def __post_init__(self) -> None:
        # A release sorts after its pre-releases; numeric identifiers sort
        # before alphanumeric ones, and numerically among themselves. Computed
        # once: an update check compares a thousand versions.
        pre = tuple((0, p, "") if isinstance(p, int) else (1, 0, p) for p in self.pre)
        key = (self.major, self.minor, self.patch, 0 if self.pre else 1, pre)
        object.__setattr__(self, "_sort_key", key)

    def _key(self) -> tuple[object, ...]:
        key: tuple[object, ...] = self.__dict__["_sort_key"]
        return key

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Version) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __lt__(self, other: Version) -> bool:
        return self._key() < other._key()

    def __gt__(self, other: Version) -> bool:
        return self._key() > other._key()

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.pre:
            text += "-" + ".".join(str(p) for p in self.pre)
        return text + (f"+{self.build}" if self.build else "")

    @property
    def is_prerelease(self) -> bool:
        return bool(self.pre)


@functools.lru_cache(maxsize=8192)
def _parse(text: str) -> Version:
    """The version ``text`` names (cached: release versions recur in every check)."""
    m = _VERSION_RE.match(text)
    if m is None:
        raise VersionError(f"{text!r} is not a semantic version (like 1.2.0 or 2.0.0-beta.1)")
    pre: list[int | str] = []
    for part in (m["pre"] or "").split(".") if m["pre"] else []:
        if part.isdigit():
            if len(part) > 1 and part[0] == "0":
                raise VersionError("a numeric pre-release part has no leading zero")
            pre.append(int(part))
        else:
            pre.append(part)
    return Version(
        int(m["major"]), int(m["minor"]), int(m["patch"] or 0), tuple(pre), m["build"] or ""
    )


# ---- the sortable key ------------------------------------------------------------

# Longest key: a 64-character version of one-digit numeric identifiers.
VERSION_KEY_LENGTH = 200


def _number_key(n: int) -> str:
    """A number as text that sorts as the number does: its digit count (two
    digits: a version is at most 64 characters), then its digits."""
    digits = str(n)
    return f"{len(digits):02d}{digits}"


def version_key(version: Version) -> str:
    """Text whose byte order (SQLite's BINARY, PostgreSQL's "C" collation) is
    exactly the semantic-version order, so the database can find the newest
    release by an index. Major, minor and patch as ``_number_key``; then ``~``
    for a release, which sorts after ``.`` and the pre-release identifiers it
    starts: a numeric one as ``0`` and its ``_number_key``, an alphanumeric one
    as ``1``, its text and ``!`` (below every identifier character, so a
    shorter identifier sorts before a longer one it starts). A shorter list of
    identifiers is a prefix of a longer one it starts, so it sorts first.
    Build metadata is not in the key."""
    parts = [_number_key(version.major), _number_key(version.minor), _number_key(version.patch)]
    if not version.pre:
        return "".join(parts) + "~"
    parts.append(".")
    for ident in version.pre:
        parts.append("0" + _number_key(ident) if isinstance(ident, int) else f"1{ident}!")
    return "".join(parts)


def version_key_of(text: str) -> str | None:
    """The key of a version as stored, or None for one that is not semantic
    (a release from before versions were checked: never offered)."""
    try:
        return version_key(Version.parse(text))
    except VersionError:
        return None


def parse_version(text: object, field: str = "version") -> Version:
    """The version, or ValidationFailed (422) naming ``field``."""
    try:
        return Version.parse(text)
    except VersionError as exc:
        raise ValidationFailed({field: [str(exc)]}) from None


def clean_notes(text: str | None) -> str | None:
    """Release notes as kept: line breaks as ``\\n`` (``\\r\\n`` and ``\\r`` read as
    one), surrounding blank space dropped, empty as None; any other control
    character (tab excepted) is refused."""
    if text is None:
        return None
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    for ch in text:
        cat = unicodedata.category(ch)
        if (cat == "Cc" and ch not in "\t\n") or cat == "Cs":
            raise ValidationFailed({"notes": ["Contains a control character."]})
    return text or None


def check_channel(name: object) -> str:
    if not isinstance(name, str) or not CHANNEL_RE.match(name):
        raise ValidationFailed(
            {"channel": ["1 to 32 characters of a-z 0-9 _ -, starting with a-z or 0-9."]}
        )
    return name


def visible_channels(channel: str) -> frozenset[str]:
    """The channels a machine asking for ``channel`` is offered releases from:
    the ladder's channel and every more stable one; a vendor's own channel
    sees itself and stable."""
    if channel in LADDER:
        return frozenset(LADDER[: LADDER.index(channel) + 1])
    return frozenset((channel, STABLE))


# ---- the selection rule --------------------------------------------------------


@dataclass(frozen=True)
class Artifact:
    id: int
    platform: str | None
    arch: str | None


@dataclass(frozen=True)
class Candidate:
    """A release as the rule needs it."""

    id: int
    version: Version
    channel: str
    status: str  # draft, published, yanked
    released_at: datetime
    min_version: Version | None
    requires_features: frozenset[str]
    artifacts: Sequence[Artifact]
    # version_key(version), as the database sorts it (services.updates pages by it)
    key: str = ""


@dataclass(frozen=True)
class Holder:
    """What the licence allows: ``usable`` (active now), its expiry (for
    maintained access when it is not), and its entitlements."""

    usable: bool
    expires_at: datetime | None
    features: frozenset[str]


@dataclass(frozen=True)
class Offer:
    release: Candidate
    artifact: Artifact


def pick_artifact(
    artifacts: Iterable[Artifact], platform: str | None, arch: str | None
) -> Artifact | None:
    """The artifact for exactly this platform and arch, else one for the
    platform with no arch, else one with no platform. A request without a
    platform gets only artifacts with none."""
    best: tuple[int, Artifact] | None = None
    for a in artifacts:
        if a.platform is None:
            rank = 2
        elif platform is None or a.platform != platform:
            continue
        elif a.arch == arch and arch is not None:
            rank = 0
        elif a.arch is None:
            rank = 1
        else:
            continue
        if best is None or rank < best[0] or (rank == best[0] and a.id < best[1].id):
            best = (rank, a)
    return best[1] if best else None


def may_have(release: Candidate, holder: Holder) -> bool:
    """Entitlements, and the licence usable or the release made before it
    expired (maintained access)."""
    if not release.requires_features <= holder.features:
        return False
    if holder.usable:
        return True
    return holder.expires_at is not None and release.released_at < holder.expires_at


def select_update(
    candidates: Iterable[Candidate],
    *,
    current: Version | None,
    channel: str,
    platform: str | None,
    arch: str | None,
    holder: Holder,
) -> Offer | None:
    """The newest published release newer than ``current`` on a visible channel,
    with an artifact for the machine, that the licence may have and that
    ``current`` may update to directly (its ``min_version``). When the newest
    one needs a newer starting point, the machine is offered the newest it
    can step to first. ``current`` None (a feed that does not know the
    machine's version): the newest it may have, ``min_version`` left to the
    updater framework."""
    channels = visible_channels(channel)
    best: Offer | None = None
    for r in candidates:
        if r.status != "published" or r.channel not in channels:
            continue
        if current is not None and not r.version > current:
            continue
        if current is not None and r.min_version is not None and current < r.min_version:
            continue
        if not may_have(r, holder):
            continue
        artifact = pick_artifact(r.artifacts, platform, arch)
        if artifact is None:
            continue
        if best is None or r.version > best.release.version:
            best = Offer(r, artifact)
    return best


def channel_order(channel: str) -> tuple[int, str]:
    """The ladder's channels in its order (stable first), then vendors' own by name."""
    return (LADDER.index(channel), "") if channel in LADDER else (len(LADDER), channel)


def newest_per_channel(
    candidates: Iterable[Candidate], holders: Iterable[Holder]
) -> list[Candidate]:
    """For the portal's downloads: on each channel, the newest published release
    one of ``holders`` (the licences of one product a user sees) may have;
    stable first, then down the ladder, then vendors' channels by name."""
    holders = list(holders)
    best: dict[str, Candidate] = {}
    for r in candidates:
        if r.status != "published" or not any(may_have(r, h) for h in holders):
            continue
        seen = best.get(r.channel)
        if seen is None or r.version > seen.version:
            best[r.channel] = r
    return [best[c] for c in sorted(best, key=channel_order)]
