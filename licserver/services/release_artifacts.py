"""A release's artifacts (one file per platform and arch, kept in the
configured store or hosted elsewhere), yanking a release, and the update-check
counts staff see per release and platform."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from licserver.database import begin_write
from licserver.domain.errors import Conflict, ValidationFailed
from licserver.models.release import Release
from licserver.models.update import ReleaseArtifact, UpdateCheckCount
from licserver.services import SYSTEM, Origin, events
from licserver.services import check_counts as counting
from licserver.services import releases as release_service
from licserver.services.context import Context
from licserver.services.file_signatures import sign_file
from licserver.storage import Storage, StorageError

_SYSTEM = Origin(SYSTEM)


@dataclass(frozen=True)
class ArtifactIn:
    """What staff send for an artifact: a file being uploaded, or a URL with
    its SHA-256 and size."""

    platform: str | None = None
    arch: str | None = None
    upload: release_service.Upload | None = None
    url: str | None = None
    sha256: str | None = None
    size: int | None = None
    filename: str | None = None


def _target(platform: str | None, arch: str | None) -> str:
    return f"{platform or 'any platform'}/{arch or 'any arch'}"


# Over 60 lines on purpose: receive, check, sign, store, insert, and remove the
# stored file when the insert fails; the clean-up must wrap the whole sequence.
def add_artifact(
    ctx: Context,
    storage: Storage,
    *,
    product_code: str,
    version: str,
    art: ArtifactIn,
    origin: Origin = _SYSTEM,
) -> ReleaseArtifact:
    """Add a file for one platform and arch to a release (409 if it has one
    for that target, or was yanked). An upload is hashed as it arrives and
    kept in ``storage``; ``sha256``, if given, must match."""
    session = ctx.session
    staging_dir, max_bytes = ctx.settings.releases_dir, ctx.settings.release_max_upload_bytes
    release_service.check_target(art.platform, art.arch)
    if (art.upload is None) == (art.url is None):
        raise ValidationFailed({"body": ["Give either a file or a url (with sha256 and size)."]})
    sha256 = art.sha256.lower() if art.sha256 else None
    release = release_service.get(ctx, product_code, version)
    _check_free(release, art.platform, art.arch)
    session.rollback()  # end the read: the file may take a while
    if art.url is not None:
        if sha256 is None or art.size is None:
            raise ValidationFailed(
                {"sha256": ["Give the SHA-256 and size of the file at the URL."]}
            )
        name = release_service.safe_filename(art.filename or art.url.split("?", 1)[0])
        row = ReleaseArtifact(storage="url", url=art.url, sha256=sha256, size=art.size)
        row.filename = name
        return _insert(ctx, product_code, version, art, row, origin)
    assert art.upload is not None
    name = release_service.safe_filename(art.filename or art.upload.filename)
    staging_dir.mkdir(parents=True, exist_ok=True)
    got = release_service.receive(art.upload.stream, staging_dir, max_bytes)
    try:
        if sha256 is not None and sha256 != got.sha256:
            raise ValidationFailed(
                {"sha256": [f"Does not match the file received (its SHA-256 is {got.sha256})."]}
            )
        signed = sign_file(ctx, got.path, name)
        session.rollback()
        key = f"{product_code}/{version}-{secrets.token_hex(4)}/{name}"
        try:
            storage.put(key, got.path)
        except StorageError as exc:
            raise Conflict("The file could not be stored; try again later.") from exc
        row = ReleaseArtifact(
            storage=storage.kind,
            object_key=key,
            filename=name,
            sha256=got.sha256,
            sha512_b64=got.sha512_b64,
            size=got.size,
            ed_signature=signed.ed_signature,
            minisign=signed.minisign,
            signed_kid=signed.kid,
        )
        try:
            return _insert(ctx, product_code, version, art, row, origin)
        except BaseException:
            storage.delete(key)
            raise
    finally:
        got.path.unlink(missing_ok=True)


def _check_free(release: Release, platform: str | None, arch: str | None) -> None:
    if release.status == "yanked":
        raise Conflict(f"Release '{release.version}' was yanked: it takes no more files.")
    for a in release.artifacts:
        if (a.platform, a.arch) == (platform, arch):
            raise Conflict(
                f"Release '{release.version}' already has a file for {_target(platform, arch)}."
            )


def _insert(
    ctx: Context,
    product_code: str,
    version: str,
    art: ArtifactIn,
    row: ReleaseArtifact,
    origin: Origin,
) -> ReleaseArtifact:
    session = ctx.session
    begin_write(session)
    release = release_service.get(ctx, product_code, version)
    _check_free(release, art.platform, art.arch)
    row.release = release
    row.platform, row.arch = art.platform, art.arch
    row.platform_key, row.arch_key = art.platform or "", art.arch or ""
    session.add(row)
    data = {
        "product": product_code,
        "version": version,
        "platform": art.platform,
        "arch": art.arch,
        "sha256": row.sha256,
    }
    events.record(session, "release.artifact_added", origin, data=data)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(
            f"Release '{version}' already has a file for {_target(art.platform, art.arch)}."
        ) from None
    return row


def yank(
    ctx: Context,
    product_code: str,
    version: str,
    *,
    now: datetime,
    origin: Origin = _SYSTEM,
) -> Release:
    """Withdraw a release for good: never offered again, by updates or the
    portal. Yanking again changes nothing."""
    session = ctx.session
    begin_write(session)
    release = release_service.get(ctx, product_code, version)
    if release.status != "yanked":
        release.status = "yanked"
        release.yanked_at = now
        data = {"product": product_code, "version": version}
        events.record(session, "release.yanked", origin, data=data)
    session.commit()
    return release


def check_counts(ctx: Context, release_ids: list[int]) -> dict[int, dict[str, int]]:
    """How many update checks offered each release, per platform ("" for a
    check that named none); this worker's counts not yet written are written
    first (services.check_counts), the other workers' within their flush
    interval."""
    if not release_ids:
        return {}
    counting.flush_now(ctx.session)
    rows = ctx.session.execute(
        select(UpdateCheckCount.release_id, UpdateCheckCount.platform, UpdateCheckCount.count)
        .where(UpdateCheckCount.release_id.in_(release_ids))
        .order_by(UpdateCheckCount.platform)
    ).all()
    counts: dict[int, dict[str, int]] = {}
    for rid, platform, count in rows:
        counts.setdefault(rid, {})[platform] = count
    return counts
