"""The portal's downloads: per product the account holds, the newest release of
each channel the user may have (a licence usable now, or the release made
while it was: maintained access; its entitlements), with every file of it per
platform and arch; and the check that a portal link still opens a file."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from licserver.database import begin_write
from licserver.domain import portal as rules
from licserver.domain import updates
from licserver.domain.errors import Forbidden, NotFound
from licserver.domain.portal import Principal
from licserver.domain.status import effective_status
from licserver.models import License, Product
from licserver.models.release import Release
from licserver.models.update import ReleaseArtifact
from licserver.services import Origin, events
from licserver.services.activation import licence_features
from licserver.services.context import Context

# A suspended or revoked licence gives nothing; an expired one what it may still have.
_GIVING = ("active", "expired")


@dataclass(frozen=True)
class FileRow:
    """One file of a release, for one platform and arch (None: every one)."""

    artifact_id: int
    platform: str | None
    arch: str | None
    filename: str
    size: int | None
    sha256: str
    external: bool


@dataclass(frozen=True)
class ChannelRelease:
    """The newest release of one channel the user may have."""

    channel: str
    version: str
    released_at: datetime
    notes: str | None
    files: list[FileRow]


@dataclass(frozen=True)
class ProductDownloads:
    product: Product
    channels: list[ChannelRelease]


def _holders(
    session: Session, principal: Principal, now: datetime
) -> dict[int, list[updates.Holder]]:
    """Per product, what each licence the principal sees allows."""
    q = select(License).where(License.customer_id == principal.customer_id)
    if principal.licenses is not None:
        q = q.where(License.id.in_(principal.licenses))
    out: dict[int, list[updates.Holder]] = {}
    for lic in session.scalars(q).unique().all():
        status = effective_status(lic.status, lic.expires_at, now)
        if status not in _GIVING:
            continue
        holder = updates.Holder(
            usable=status == "active",
            expires_at=lic.expires_at,
            features=frozenset(str(f) for f in licence_features(lic)),
        )
        out.setdefault(lic.product_id, []).append(holder)
    return out


def _candidate(r: Release) -> updates.Candidate | None:
    try:
        version = updates.Version.parse(r.version)
    except updates.VersionError:  # a release from before versions were checked
        return None
    return updates.Candidate(
        r.id,
        version,
        r.channel,
        r.status,
        r.released_at,
        None,  # min_version: a download page offers installers, not steps
        frozenset(r.requires_features or ()),
        [updates.Artifact(a.id, a.platform, a.arch) for a in r.artifacts],
    )


def _files(artifacts: Iterable[ReleaseArtifact]) -> list[FileRow]:
    ordered = sorted(artifacts, key=lambda a: (a.platform_key, a.arch_key, a.id))
    return [
        FileRow(a.id, a.platform, a.arch, a.filename, a.size, a.sha256, a.storage == "url")
        for a in ordered
    ]


def downloads(ctx: Context, principal: Principal, now: datetime) -> list[ProductDownloads]:
    """Per product (by name), the newest release of each channel (stable first)
    that a licence of it the principal sees may have, with its files."""
    session = ctx.session
    rules.check(principal, rules.DOWNLOADS)
    holders = _holders(session, principal, now)
    if not holders:
        return []
    rows = (
        session.scalars(
            select(Release).where(
                Release.product_id.in_(sorted(holders)), Release.status == "published"
            )
        )
        .unique()
        .all()
    )
    by_product: dict[int, list[Release]] = {}
    for r in rows:
        by_product.setdefault(r.product_id, []).append(r)
    out = []
    for product_id, releases in by_product.items():
        by_id = {r.id: r for r in releases}
        candidates = [c for c in map(_candidate, releases) if c is not None]
        chosen = updates.newest_per_channel(candidates, holders[product_id])
        channels = [
            ChannelRelease(
                c.channel,
                by_id[c.id].version,
                c.released_at,
                by_id[c.id].notes,
                _files(by_id[c.id].artifacts),
            )
            for c in chosen
            if by_id[c.id].artifacts
        ]
        if channels:
            out.append(ProductDownloads(releases[0].product, channels))
    return sorted(out, key=lambda p: (p.product.name.lower(), p.product.code))


def downloadable(
    ctx: Context, principal: Principal, artifact_id: int, now: datetime, origin: Origin
) -> ReleaseArtifact:
    """The file, if the principal may download it now: a published release that
    a licence they see may have (else Forbidden; NotFound for no such file).
    Any such release, not only the newest: a link opened late still works.
    Recorded as a ``release.downloaded`` event of the account."""
    session = ctx.session
    rules.check(principal, rules.DOWNLOADS)
    begin_write(session)
    try:
        art = _may_download(session, principal, artifact_id, now)
        release = art.release
        data = {
            "product": release.product.code,
            "version": release.version,
            "platform": art.platform,
            "arch": art.arch,
            "filename": art.filename,
        }
        events.record(
            session, "release.downloaded", origin, customer_id=principal.customer_id, data=data
        )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return art


def _may_download(
    session: Session, principal: Principal, artifact_id: int, now: datetime
) -> ReleaseArtifact:
    art = session.get(ReleaseArtifact, artifact_id)
    if art is None or art.release.status != "published":
        raise NotFound("No such download.")
    release = art.release
    candidate = _candidate(release)
    holders = _holders(session, principal, now).get(release.product_id, [])
    if candidate is None or not any(updates.may_have(candidate, h) for h in holders):
        raise Forbidden(
            f"Your account holds no licence of {release.product.name} that you may see "
            "and that covers this release, so you may not download it."
        )
    return art
