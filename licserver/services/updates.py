"""Update checks and update downloads (API.md, "Updates"): a machine, known by
its activation token, asks whether there is a newer release it may have; the
answer names one artifact, with a short-lived download link bound to that
activation and artifact, and its UP1 manifest. Checks are counted per release
and platform (far too many for the history); each download is an event."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, lazyload

from licserver import signing
from licserver.crypto import tokens_equal
from licserver.database import begin_write
from licserver.domain import updates as rules
from licserver.domain.errors import (
    Deactivated,
    InvalidCredentials,
    LicenseRevoked,
    LicenseSuspended,
    NotFound,
    ValidationFailed,
)
from licserver.domain.status import effective_status
from licserver.models import Activation
from licserver.models.release import Release
from licserver.models.update import ReleaseArtifact, UpdateCheckCount
from licserver.services import Origin, events, links
from licserver.services.activation import licence_features
from licserver.services.context import Context
from licserver.services.credentials import invalid
from licserver.storage import LocalStorage, StorageError

# At least 10 minutes, as API.md promises.
MIN_LINK_SECONDS = 600


@dataclass(frozen=True)
class Machine:
    """Who asks: an activation and its token."""

    activation_id: str
    activation_token: str


@dataclass(frozen=True)
class Ask:
    current_version: str
    channel: str = rules.STABLE
    platform: str | None = None
    arch: str | None = None


@dataclass(frozen=True)
class Offer:
    version: str
    channel: str
    released_at: datetime
    notes: str | None
    artifact_id: int
    size: int
    sha256: str
    manifest: str
    # The external URL of an artifact hosted elsewhere (handed out as is),
    # else None: the caller builds this server's download link from ``link``.
    external_url: str | None
    link: str


def authenticate(ctx: Context, machine: Machine, origin: Origin, now: datetime) -> Activation:
    """The live activation: 401 for an unknown one or a wrong token (a wrong
    one recorded, as check-in does), 410 once deactivated, 403 for a
    suspended or revoked licence. An expired licence passes (maintained
    access decides what it gets)."""
    act = find_activation(ctx.session, machine.activation_id)
    if act is None:
        raise invalid()
    if not tokens_equal(act.token_hash, machine.activation_token):
        raise refused(ctx, origin, act, "wrong activation token")
    return live(act, now)


def refused(ctx: Context, origin: Origin, act: Activation, why: str) -> InvalidCredentials:
    """Record a wrong token of a known activation in its licence's history
    (``update.refused``, reason INVALID_CREDENTIALS, like check-in's
    ``activation.checkin_refused``) and commit; the caller raises the answer.
    Like check-in's, it does not spend the licence's failed-attempt budget
    (docs/api.md, "Wrong tokens on update checks and feeds")."""
    session = ctx.session
    lic_id = act.license_id
    session.rollback()
    begin_write(session)
    try:
        act = session.get_one(Activation, act.id)
        assert act.license_id == lic_id
        events.record(
            session,
            "update.refused",
            origin,
            license=act.license,
            activation=act,
            reason=events.CREDENTIAL_FAILURE,
            data={"why": why},
        )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return invalid()


def find_activation(session: Session, activation_id: str) -> Activation | None:
    return session.scalars(select(Activation).where(Activation.public_id == activation_id)).first()


def live(act: Activation, now: datetime) -> Activation:
    """410 once deactivated, 403 for a suspended or revoked licence."""
    if act.deactivated_at is not None:
        raise Deactivated("This activation was deactivated.")
    lic = act.license
    status = effective_status(lic.status, lic.expires_at, now)
    if status == "suspended":
        raise LicenseSuspended("The licence is suspended.")
    if status == "revoked":
        raise LicenseRevoked("The licence was revoked.")
    return act


# Releases read per query, newest first: the first page nearly always holds the
# answer (unless the newest ones need entitlements, a newer starting point or
# another platform).
PAGE = 10


def _page(
    session: Session,
    product_id: int,
    channels: frozenset[str],
    platform: str | None,
    above: str | None,
    below: tuple[str, int] | None,
) -> list[rules.Candidate]:
    """Up to PAGE published releases on these channels, newest first, with a
    version key above ``above`` (the machine's version) and (key, id) below
    ``below`` (the previous page's last), each with the artifacts this platform may take
    (index ix_releases_newest: product, channel, status, version_key)."""
    q = select(
        Release.id,
        Release.version,
        Release.version_key,
        Release.channel,
        Release.status,
        Release.released_at,
        Release.min_version,
        Release.requires_features,
    ).where(
        Release.product_id == product_id,
        Release.channel.in_(sorted(channels)),
        Release.status == "published",
        Release.version_key.is_not(None),
    )
    if above is not None:
        q = q.where(Release.version_key > above)
    if below is not None:
        q = q.where(tuple_(Release.version_key, Release.id) < below)
    newest = q.order_by(Release.version_key.desc(), Release.id.desc()).limit(PAGE)
    rows = session.execute(newest).all()
    if not rows:
        return []
    arts: dict[int, list[rules.Artifact]] = {r.id: [] for r in rows}
    for a in session.execute(
        select(
            ReleaseArtifact.id,
            ReleaseArtifact.release_id,
            ReleaseArtifact.platform,
            ReleaseArtifact.arch,
        ).where(
            ReleaseArtifact.release_id.in_(list(arts)),
            ReleaseArtifact.platform_key.in_(["", platform] if platform else [""]),
        )
    ):
        arts[a.release_id].append(rules.Artifact(a.id, a.platform, a.arch))
    return [_candidate(r, arts[r.id]) for r in rows]


def _candidate(r: Any, arts: list[rules.Artifact]) -> rules.Candidate:
    try:
        floor = rules.Version.parse(r.min_version) if r.min_version else None
    except rules.VersionError:  # a floor from before versions were checked
        floor = None
    return rules.Candidate(
        r.id,
        rules.Version.parse(r.version),
        r.channel,
        r.status,
        r.released_at,
        floor,
        frozenset(r.requires_features or ()),
        arts,
        key=r.version_key,
    )


def check(ctx: Context, machine: Machine, ask: Ask, *, secret: str, origin: Origin) -> Offer | None:
    """The update this machine may have, or None."""
    current = rules.parse_version(ask.current_version, "current_version")
    check_ask(ask.channel, ask.platform, ask.arch)
    now = ctx.now()
    session = ctx.session
    try:
        act = authenticate(ctx, machine, origin, now)
        chosen = choose(session, act, current, ask, now)
        if chosen is None:
            return None
        release, art = chosen
        offer = _offer(ctx, release, art, act, secret, now)
        count_check(session, release.id, ask.platform or "", now)
        return offer
    finally:
        session.rollback()


def check_ask(channel: str, platform: str | None, arch: str | None) -> None:
    rules.check_channel(channel)
    if platform is not None and platform not in rules.PLATFORMS:
        raise ValidationFailed({"platform": [f"One of {', '.join(rules.PLATFORMS)}."]})
    if arch is not None and arch not in rules.ARCHES:
        raise ValidationFailed({"arch": [f"One of {', '.join(rules.ARCHES)}."]})


def choose(
    session: Session, act: Activation, current: rules.Version | None, ask: Ask, now: datetime
) -> tuple[Release, ReleaseArtifact] | None:
    """The release and artifact this activation's licence may have (the rule
    in the domain decides), or None. ``current`` None: a feed that does not
    know the machine's version."""
    lic = act.license
    holder = rules.Holder(
        usable=effective_status(lic.status, lic.expires_at, now) == "active",
        expires_at=lic.expires_at,
        features=frozenset(str(f) for f in licence_features(lic)),
    )
    channels = rules.visible_channels(ask.channel)
    above = rules.version_key(current) if current is not None else None
    below: tuple[str, int] | None = None
    chosen = None
    while chosen is None:
        page = _page(session, lic.product_id, channels, ask.platform, above, below)
        if not page:
            return None
        chosen = rules.select_update(
            page,
            current=current,
            channel=ask.channel,
            platform=ask.platform,
            arch=ask.arch,
            holder=holder,
        )
        below = (page[-1].key, page[-1].id)
    # its artifacts are not needed: the chosen one is loaded on its own
    release = session.get(Release, chosen.release.id, options=[lazyload(Release.artifacts)])
    art = session.get(ReleaseArtifact, chosen.artifact.id)
    assert release is not None and art is not None
    return release, art


def _offer(
    ctx: Context,
    release: Release,
    art: ReleaseArtifact,
    act: Activation,
    secret: str,
    now: datetime,
) -> Offer:
    kid, key = ctx.keyring.signer(ctx.session)
    payload = signing.update_manifest_payload(
        prod=release.product.code,
        ver=release.version,
        ch=release.channel,
        plat=art.platform,
        arch=art.arch,
        sha256=art.sha256,
        size=art.size,
        rel=int(release.released_at.timestamp()),
    )
    manifest = signing.encode(signing.UPDATE_MANIFEST_PREFIX, payload, kid, key)
    link = download_link(ctx, art, act, secret, now)
    return Offer(
        version=release.version,
        channel=release.channel,
        released_at=release.released_at,
        notes=release.notes,
        artifact_id=art.id,
        size=art.size,
        sha256=art.sha256,
        manifest=manifest,
        external_url=art.url if art.storage == "url" else None,
        link=link,
    )


def download_link(
    ctx: Context, art: ReleaseArtifact, act: Activation, secret: str, now: datetime
) -> str:
    """The token of a download link for this activation and artifact."""
    seconds = max(MIN_LINK_SECONDS, ctx.settings.download_link_seconds)
    return links.sign_link(secret, art.id, act.public_id, now, seconds, links.UPDATE)


def count_check(session: Session, release_id: int, platform: str, now: datetime) -> None:
    """One more check answered with this release, in one upsert, in a write
    transaction of its own after the check's reads (SQLite cannot turn a read
    transaction into a write once another worker has written: it would
    refuse the check with "database is locked")."""
    session.rollback()
    begin_write(session)
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = insert(UpdateCheckCount).values(
        release_id=release_id, platform=platform, count=1, last_at=now
    )
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["release_id", "platform"],
            set_={"count": UpdateCheckCount.count + 1, "last_at": now},
        )
    )
    session.commit()


# ---- downloads -------------------------------------------------------------------

_AGAIN = "Check for updates again for a fresh one."


@dataclass(frozen=True)
class Download:
    artifact: ReleaseArtifact
    filename: str


def download(
    ctx: Context, activation_id: str, token: str, *, secret: str, origin: Origin
) -> Download:
    """The artifact a download link opens, if the link is this activation's and
    still valid, the activation still live and the release not yanked since;
    recorded as ``update.downloaded`` in the licence's history."""
    session, now = ctx.session, ctx.now()
    artifact_id = links.read_link(secret, token, activation_id, now, links.UPDATE, _AGAIN)
    begin_write(session)
    try:
        act = session.scalars(select(Activation).where(Activation.public_id == activation_id)).one()
        live(act, now)
        art = session.get(ReleaseArtifact, artifact_id)
        if art is None or art.release.status != "published":
            raise NotFound("This update is no longer offered. " + _AGAIN)
        data = {
            "product": art.release.product.code,
            "version": art.release.version,
            "platform": art.platform,
            "arch": art.arch,
        }
        events.record(
            session, "update.downloaded", origin, license=act.license, activation=act, data=data
        )
        session.commit()
        return Download(art, art.filename)
    except BaseException:
        session.rollback()
        raise


def local_file(store: LocalStorage, key: str) -> Path:
    """Where a locally kept artifact is; NotFound when it is missing."""
    try:
        path = store.path(key)
    except StorageError:
        path = None
    if path is None or not path.is_file():
        raise NotFound("The file of this update is missing on the server; tell the vendor.")
    return path
