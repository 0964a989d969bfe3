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
from sqlalchemy.orm import Session, lazyload

from licserver import signing
from licserver.crypto import tokens_equal
from licserver.database import begin_autocommit, begin_write
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
from licserver.models.update import ReleaseArtifact
from licserver.services import Origin, check_counts, events, links
from licserver.services import update_reads as reads
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
    lic = act.license
    live_status(act.deactivated_at, lic.status, lic.expires_at, now)
    return act


def live_status(
    deactivated_at: datetime | None, status: str, expires_at: datetime | None, now: datetime
) -> str:
    """The licence's effective status; 410 once the activation was deactivated,
    403 for a suspended or revoked licence."""
    if deactivated_at is not None:
        raise Deactivated("This activation was deactivated.")
    effective = effective_status(status, expires_at, now)
    if effective == "suspended":
        raise LicenseSuspended("The licence is suspended.")
    if effective == "revoked":
        raise LicenseRevoked("The licence was revoked.")
    return effective


def check(ctx: Context, machine: Machine, ask: Ask, *, secret: str, origin: Origin) -> Offer | None:
    """The update this machine may have, or None: one read of the machine (and,
    when this process has not read them since the product's releases last
    changed, of a page of releases; services.update_reads) and the check
    counted in memory (services.check_counts)."""
    current = rules.parse_version(ask.current_version, "current_version")
    check_ask(ask.channel, ask.platform, ask.arch)
    now = ctx.now()
    session = ctx.session
    try:
        # PostgreSQL: no BEGIN and ROLLBACK round trips. The pages a miss reads
        # next are at least as new as the releases tag just read: kept under
        # that tag, they are never older than what the tag stands for.
        begin_autocommit(session)
        row = reads.machine(session, machine.activation_id)
        if row is None:
            raise invalid()
        if not tokens_equal(row.token_hash, machine.activation_token):
            act = session.get_one(Activation, row.id)
            raise refused(ctx, origin, act, "wrong activation token")
        status = live_status(row.deactivated_at, row.status, row.expires_at, now)
        holder = reads.holder_of(row, usable=status == "active")
        chosen = reads.newest(session, row.product_id, row.releases_tag, holder, current, ask)
        if chosen is None:
            return None
        release, art = chosen
        offer = _offer(ctx, row.product, release, art, row.public_id, secret, now)
        count_check(ctx, release.id, ask.platform or "", now)
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
    in the domain decides), as ORM objects (the feeds), or None. ``current``
    None: a feed that does not know the machine's version."""
    lic = act.license
    holder = rules.Holder(
        usable=effective_status(lic.status, lic.expires_at, now) == "active",
        expires_at=lic.expires_at,
        features=frozenset(str(f) for f in licence_features(lic)),
    )
    chosen = reads.newest(session, lic.product_id, lic.product.releases_tag, holder, current, ask)
    if chosen is None:
        return None
    # its artifacts are not needed: the chosen one is loaded on its own
    release = session.get(Release, chosen[0].id, options=[lazyload(Release.artifacts)])
    art = session.get(ReleaseArtifact, chosen[1].art_id)
    assert release is not None and art is not None
    return release, art


def _offer(
    ctx: Context, product: str, release: Any, art: Any, holder: str, secret: str, now: datetime
) -> Offer:
    """The answer for the chosen release and artifact (rows of update_reads)."""
    kid, key = ctx.keyring.signer(ctx.session)
    what = (
        kid,
        product,
        release.version,
        release.channel,
        art.platform,
        art.arch,
        art.sha256,
        art.size,
        int(release.released_at.timestamp()),
    )
    manifest = _manifests.get(what)
    if manifest is None:
        manifest = _sign_manifest(what, key)
    seconds = max(MIN_LINK_SECONDS, ctx.settings.download_link_seconds)
    return Offer(
        version=release.version,
        channel=release.channel,
        released_at=release.released_at,
        notes=release.notes,
        artifact_id=art.art_id,
        size=art.size,
        sha256=art.sha256,
        manifest=manifest,
        external_url=art.url if art.storage == "url" else None,
        link=links.sign_link(secret, art.art_id, holder, now, seconds, links.UPDATE),
    )


# UP1 manifests already signed, by key and every field they hold: Ed25519 is
# deterministic, so the same fields signed again give the same text.
MANIFESTS_KEPT = 4096
_manifests: dict[tuple[Any, ...], str] = {}


def _sign_manifest(what: tuple[Any, ...], key: Any) -> str:
    kid, prod, ver, ch, plat, arch, sha256, size, rel = what
    payload = signing.update_manifest_payload(
        prod=prod, ver=ver, ch=ch, plat=plat, arch=arch, sha256=sha256, size=size, rel=rel
    )
    manifest = signing.encode(signing.UPDATE_MANIFEST_PREFIX, payload, kid, key)
    if len(_manifests) >= MANIFESTS_KEPT:
        _manifests.clear()
    _manifests[what] = manifest
    return manifest


def download_link(
    ctx: Context, art: ReleaseArtifact, act: Activation, secret: str, now: datetime
) -> str:
    """The token of a download link for this activation and artifact."""
    seconds = max(MIN_LINK_SECONDS, ctx.settings.download_link_seconds)
    return links.sign_link(secret, art.id, act.public_id, now, seconds, links.UPDATE)


def count_check(ctx: Context, release_id: int, platform: str, now: datetime) -> None:
    """One more check answered with this release: counted in this worker's
    memory, written with the others at most once per
    ``UPDATE_COUNT_FLUSH_SECONDS`` (services.check_counts)."""
    check_counts.record(
        ctx.session, release_id, platform, now, ctx.settings.update_count_flush_seconds
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
