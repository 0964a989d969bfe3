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

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from licserver import signing
from licserver.crypto import tokens_equal
from licserver.database import begin_write
from licserver.domain import updates as rules
from licserver.domain.errors import (
    Deactivated,
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


def authenticate(session: Session, machine: Machine, now: datetime) -> Activation:
    """The live activation: 401 for an unknown one or a wrong token, 410 once
    deactivated, 403 for a suspended or revoked licence. An expired licence
    passes (maintained access decides what it gets)."""
    act = find_activation(session, machine.activation_id)
    if act is None or not tokens_equal(act.token_hash, machine.activation_token):
        raise invalid()
    return live(act, now)


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


def _candidates(
    session: Session, product_id: int, channels: frozenset[str], platform: str | None
) -> tuple[list[rules.Candidate], dict[int, Any]]:
    """The published releases on these channels with an artifact this platform
    may take, in one query (index ix_releases_product_status)."""
    q = (
        select(
            Release.id,
            Release.version,
            Release.channel,
            Release.status,
            Release.released_at,
            Release.min_version,
            Release.requires_features,
            ReleaseArtifact.id.label("artifact_id"),
            ReleaseArtifact.platform,
            ReleaseArtifact.arch,
        )
        .join(ReleaseArtifact, ReleaseArtifact.release_id == Release.id)
        .where(
            Release.product_id == product_id,
            Release.status == "published",
            Release.channel.in_(sorted(channels)),
            ReleaseArtifact.platform_key.in_(["", platform] if platform else [""]),
        )
    )
    grouped: dict[int, list[Any]] = {}
    for row in session.execute(q):
        grouped.setdefault(row.id, []).append(row)
    out = []
    for rows in grouped.values():
        r = rows[0]
        try:
            version = rules.Version.parse(r.version)
            floor = rules.Version.parse(r.min_version) if r.min_version else None
        except rules.VersionError:  # a release from before versions were checked
            continue
        arts = [rules.Artifact(x.artifact_id, x.platform, x.arch) for x in rows]
        out.append(
            rules.Candidate(
                r.id,
                version,
                r.channel,
                r.status,
                r.released_at,
                floor,
                frozenset(r.requires_features or ()),
                arts,
            )
        )
    return out, grouped


def check(ctx: Context, machine: Machine, ask: Ask, *, secret: str) -> Offer | None:
    """The update this machine may have, or None."""
    current = rules.parse_version(ask.current_version, "current_version")
    check_ask(ask.channel, ask.platform, ask.arch)
    now = ctx.now()
    session = ctx.session
    try:
        act = authenticate(session, machine, now)
        chosen = choose(session, act, current, ask, now)
        if chosen is None:
            return None
        release, art = chosen
        offer = _offer(ctx, release, art, act, secret, now)
        count_check(session, release.id, ask.platform or "", now)
        session.commit()
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
    candidates, _ = _candidates(
        session, lic.product_id, rules.visible_channels(ask.channel), ask.platform
    )
    chosen = rules.select_update(
        candidates,
        current=current,
        channel=ask.channel,
        platform=ask.platform,
        arch=ask.arch,
        holder=holder,
    )
    if chosen is None:
        return None
    release = session.get(Release, chosen.release.id)
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
    """One more check answered with this release, in one upsert."""
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
