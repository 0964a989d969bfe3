"""Update rules: semantic versions, which channels a channel sees, and which
release a machine is offered (API.md, "Updates"). Plain Python: the service
loads candidates and the licence, this module decides."""

from __future__ import annotations

import re
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
        return cls(
            int(m["major"]), int(m["minor"]), int(m["patch"] or 0), tuple(pre), m["build"] or ""
        )

    def _key(self) -> tuple[object, ...]:
        # A release sorts after its pre-releases; numeric identifiers sort
        # before alphanumeric ones, and numerically among themselves.
        pre = tuple((0, p, "") if isinstance(p, int) else (1, 0, p) for p in self.pre)
        return (self.major, self.minor, self.patch, 0 if self.pre else 1, pre)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Version) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __lt__(self, other: Version) -> bool:
        return self._key() < other._key()

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.pre:
            text += "-" + ".".join(str(p) for p in self.pre)
        return text + (f"+{self.build}" if self.build else "")

    @property
    def is_prerelease(self) -> bool:
        return bool(self.pre)


def parse_version(text: object, field: str = "version") -> Version:
    """The version, or ValidationFailed (422) naming ``field``."""
    try:
        return Version.parse(text)
    except VersionError as exc:
        raise ValidationFailed({field: [str(exc)]}) from None


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
