"""Releases of a product: staff attach them (a file kept under ``RELEASES_DIR``
or an external URL, with its SHA-256) and publish them (once: the users who
want product updates get one email). What customers' portal users may
download is ``services.downloads``."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from licserver.database import begin_write
from licserver.domain import updates
from licserver.domain.errors import (
    Conflict,
    NotFound,
    ValidationFailed,
)
from licserver.models import Product
from licserver.models.release import Release
from licserver.models.update import ReleaseArtifact
from licserver.services import SYSTEM_ORIGIN, Origin, events, notices
from licserver.services import products as product_service
from licserver.services.context import Context
from licserver.services.file_signatures import FileSignatures, sign_file
from licserver.services.links import LinkExpired, holder_of, read_link, sign_link
from licserver.services.pagination import Page, PageRequest, fetch
from licserver.storage import LocalStorage, Storage, StorageError

__all__ = ["LinkExpired", "holder_of", "read_link", "sign_link"]

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
FILENAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,254}$")
_CHUNK = 1024 * 1024


# ---- staff: attach, list, publish ------------------------------------------------


def safe_filename(name: str) -> str:
    """The name a download is saved as: the last part of ``name``, reduced to
    ``A-Za-z0-9._+-`` (other characters become ``_``); never empty or hidden."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    cleaned = re.sub(r"[^A-Za-z0-9._+-]", "_", base).lstrip("._-+")[:255]
    return cleaned or "download"


def _check_version(version: str) -> None:
    """A semantic version (``3.1`` reads as 3.1.0), else 422."""
    updates.parse_version(version)


@dataclass(frozen=True)
class ReleaseMeta:
    """What updates go by: the channel, the oldest version that may update to it
    directly, the entitlements a licence needs, and the platform and arch of
    the release's first file (None: every one)."""

    channel: str = updates.STABLE
    min_version: str | None = None
    requires_features: tuple[str, ...] = ()
    platform: str | None = None
    arch: str | None = None

    def check(self) -> None:
        updates.check_channel(self.channel)
        if self.min_version is not None:
            updates.parse_version(self.min_version, "min_version")
        check_target(self.platform, self.arch)


def check_target(platform: str | None, arch: str | None) -> None:
    if platform is not None and platform not in updates.PLATFORMS:
        raise ValidationFailed({"platform": [f"One of {', '.join(updates.PLATFORMS)}, or none."]})
    if arch is not None and arch not in updates.ARCHES:
        raise ValidationFailed({"arch": [f"One of {', '.join(updates.ARCHES)}, or none."]})
    if arch is not None and platform is None:
        raise ValidationFailed({"arch": ["An arch needs a platform."]})


def _taken(session: Session, product: Product, version: str) -> bool:
    """A release of the same semantic version (``3.1`` is ``3.1.0``) exists, or
    one from before versions were checked with this very text."""
    key = updates.version_key(updates.Version.parse(version))
    same = or_(Release.version_key == key, Release.version == version)
    found = session.scalars(
        select(Release.id).where(Release.product_id == product.id, same).limit(1)
    ).first()
    return found is not None


def _conflict(product: Product, version: str) -> Conflict:
    return Conflict(f"Product '{product.code}' already has a release '{version}'.")


@dataclass(frozen=True)
class Upload:
    """A file being uploaded: its stream and the name it was sent with."""

    stream: BinaryIO
    filename: str


@dataclass(frozen=True)
class _Draft:
    """What a new release is, apart from its file."""

    product_code: str
    version: str
    released_at: datetime
    notes: str | None
    origin: Origin
    meta: ReleaseMeta


@dataclass(frozen=True)
class _File:
    """The release's first artifact: where it is kept and what it hashes to."""

    filename: str
    kind: str  # the storage kind, or "url"
    sha256: str
    size: int | None
    storage_path: str | None = None
    url: str | None = None
    sha512_b64: str | None = None
    signed: FileSignatures | None = None


def add(
    ctx: Context,
    *,
    product_code: str,
    version: str,
    released_at: datetime,
    notes: str | None = None,
    upload: Upload | None = None,
    url: str | None = None,
    sha256: str | None = None,
    size: int | None = None,
    filename: str | None = None,
    origin: Origin = SYSTEM_ORIGIN,
    meta: ReleaseMeta = ReleaseMeta(),
    storage: Storage | None = None,
) -> Release:
    """Attach a release: ``upload`` (kept in ``storage``, the store
    RELEASES_STORAGE names, else the releases folder; its SHA-256 and size are
    computed, and ``sha256``, if given, must match) or ``url`` (with its
    ``sha256``). That file is its first artifact (``meta``'s platform and
    arch). A draft until ``publish``."""
    _check_version(version)
    meta.check()
    draft = _Draft(product_code, version, released_at, updates.clean_notes(notes), origin, meta)
    if (upload is None) == (url is None):
        raise ValidationFailed({"body": ["Give either a file or a url (with its sha256)."]})
    sha256 = _clean_sha256(sha256)
    product = product_service.get(ctx, product_code)
    if _taken(ctx.session, product, version):  # before receiving a large file for nothing
        raise _conflict(product, version)
    ctx.session.rollback()  # end the read: the file may take a while
    if url is not None:
        if sha256 is None:
            raise ValidationFailed({"sha256": ["Give the SHA-256 of the file at the URL."]})
        name = safe_filename(filename or url.split("?", 1)[0].rstrip("/"))
        return _insert(ctx, draft, _File(name, "url", sha256, size, url=url))
    assert upload is not None
    name = safe_filename(filename or upload.filename)
    return _add_upload(ctx, draft, upload, name, sha256, storage)


def _clean_sha256(sha256: str | None) -> str | None:
    if sha256 is None:
        return None
    sha256 = sha256.lower()
    if not SHA256_RE.match(sha256):
        raise ValidationFailed({"sha256": ["64 hexadecimal characters."]})
    return sha256


def _add_upload(
    ctx: Context,
    draft: _Draft,
    upload: Upload,
    name: str,
    sha256: str | None,
    storage: Storage | None,
) -> Release:
    """Receive the file into the staging folder, check and sign it, put it in
    the store, then insert the release (removing the stored file if that fails)."""
    releases_dir = ctx.settings.releases_dir
    releases_dir.mkdir(parents=True, exist_ok=True)  # the staging folder, whatever the store
    tmp = receive(upload.stream, releases_dir, ctx.settings.release_max_upload_bytes)
    store = storage or LocalStorage(releases_dir)
    try:
        if sha256 is not None and sha256 != tmp.sha256:
            raise ValidationFailed(
                {"sha256": [f"Does not match the file received (its SHA-256 is {tmp.sha256})."]}
            )
        signed = sign_file(ctx, tmp.path, name)
        ctx.session.rollback()
        # A key of its own per upload: two uploads of one version at once
        # never write over each other's file (the loser's is removed).
        key = f"{draft.product_code}/{draft.version}-{secrets.token_hex(4)}/{name}"
        try:
            store.put(key, tmp.path)
        except StorageError as exc:
            raise Conflict("The file could not be stored; try again later.") from exc
        file = _File(
            name,
            store.kind,
            tmp.sha256,
            tmp.size,
            storage_path=key,
            sha512_b64=tmp.sha512_b64,
            signed=signed,
        )
        try:
            return _insert(ctx, draft, file)
        except BaseException:
            store.delete(key)
            raise
    finally:
        tmp.path.unlink(missing_ok=True)


@dataclass(frozen=True)
class Received:
    path: Path
    sha256: str
    size: int
    sha512_b64: str


def receive(stream: BinaryIO, folder: Path, max_bytes: int) -> Received:
    """Copy ``stream`` to a new file in ``folder``, hashing as it goes."""
    fd, name = tempfile.mkstemp(prefix=".incoming-", dir=folder)
    path = Path(name)
    digest, digest512 = hashlib.sha256(), hashlib.sha512()
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise ValidationFailed(
                        {"file": [f"Larger than the limit of {max_bytes} bytes."]}
                    )
                digest.update(chunk)
                digest512.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if size == 0:
        path.unlink(missing_ok=True)
        raise ValidationFailed({"file": ["The file is empty."]})
    sha512 = base64.b64encode(digest512.digest()).decode("ascii")
    return Received(path, digest.hexdigest(), size, sha512)


def _insert(ctx: Context, draft: _Draft, file: _File) -> Release:
    session, meta = ctx.session, draft.meta
    begin_write(session)
    product = product_service.get(ctx, draft.product_code)
    if _taken(session, product, draft.version):
        raise _conflict(product, draft.version)
    release = Release(
        product_id=product.id,
        version=draft.version,
        version_key=updates.version_key(updates.Version.parse(draft.version)),
        notes=draft.notes,
        released_at=draft.released_at,
        filename=file.filename,
        storage_path=file.storage_path,
        url=file.url,
        sha256=file.sha256,
        size=file.size,
        created_by=draft.origin.actor.id,
        channel=meta.channel,
        status="draft",
        min_version=meta.min_version,
        requires_features=sorted(set(meta.requires_features)),
    )
    session.add(release)
    session.add(_first_artifact(release, meta, file))
    data = {
        "product": draft.product_code,
        "version": draft.version,
        "sha256": file.sha256,
        "channel": meta.channel,
    }
    events.record(session, "release.added", draft.origin, data=data)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise _conflict(product, draft.version) from None
    return release


def _first_artifact(release: Release, meta: ReleaseMeta, file: _File) -> ReleaseArtifact:
    signed = file.signed
    return ReleaseArtifact(
        release=release,
        platform=meta.platform,
        arch=meta.arch,
        platform_key=meta.platform or "",
        arch_key=meta.arch or "",
        storage=file.kind,
        object_key=file.storage_path,
        url=file.url,
        filename=file.filename,
        sha256=file.sha256,
        sha512_b64=file.sha512_b64,
        size=file.size or 0,
        ed_signature=signed.ed_signature if signed else None,
        minisign=signed.minisign if signed else None,
        signed_kid=signed.kid if signed else None,
    )


def list_releases(ctx: Context, product_code: str) -> list[Release]:
    """A product's releases, newest first (by release date, then as attached)."""
    session = ctx.session
    product = product_service.get(ctx, product_code)
    return list(
        session.scalars(
            select(Release)
            .where(Release.product_id == product.id)
            .order_by(Release.released_at.desc(), Release.id.desc())
        )
        .unique()
        .all()
    )


def releases_page(ctx: Context, product_code: str, req: PageRequest) -> Page[Release]:
    """A product's releases, oldest first (as attached), published or not."""
    product = product_service.get(ctx, product_code)
    return fetch(
        ctx.session, select(Release).where(Release.product_id == product.id), Release.id, req
    )


def get(ctx: Context, product_code: str, version: str) -> Release:
    session = ctx.session
    product = product_service.get(ctx, product_code)
    release = (
        session.scalars(
            select(Release)
            .where(Release.product_id == product.id, Release.version == version)
            .execution_options(populate_existing=True)
        )
        .unique()
        .first()
    )
    if release is None:
        raise NotFound(f"Product '{product_code}' has no release '{version}'.")
    return release


def publish(
    ctx: Context,
    product_code: str,
    version: str,
    *,
    now: datetime,
    notify: bool = True,
    origin: Origin = SYSTEM_ORIGIN,
) -> Release:
    """Make the release visible to customers (recorded as ``release.published``).
    Publishing again changes nothing. ``notify=False``: no update email, now or
    later (a quiet fix, say)."""
    session = ctx.session
    begin_write(session)
    release = get(ctx, product_code, version)
    if release.status == "yanked":
        session.rollback()
        raise Conflict(f"Release '{version}' was yanked: it is never offered again.")
    if release.published_at is None:
        release.status = "published"
        release.published_at = now
        release.published_by = origin.actor.id
        data = {"product": product_code, "version": version}
        events.record(session, "release.published", origin, data=data)
    if not notify and release.notified_at is None:
        release.notified_at = now
    session.commit()
    return release


@dataclass(frozen=True)
class Published:
    release: Release
    sent: int  # update emails sent now (0 when they went out before, or not wanted)


def publish_and_notify(
    ctx: Context,
    origin: Origin,
    product_code: str,
    version: str,
    *,
    notify: bool = True,
    now: datetime | None = None,
) -> Published:
    """Publish the release, then send its update email, once: the admin API,
    the console and ``licserver releases publish`` all come here."""
    now = now or ctx.clock()
    release = publish(ctx, product_code, version, now=now, notify=notify, origin=origin)
    sent = 0
    if release.notified_at is None:
        sent = send_release_notices(ctx, now, release.id)
    return Published(get(ctx, product_code, version), sent)


def send_release_notices(ctx: Context, now: datetime, release_id: int | None = None) -> int:
    """Email every published release whose update email has not gone out (or
    only ``release_id``) to the users who want product updates and see an
    active licence of the product. Each release's email is claimed with one
    conditional UPDATE before anything is sent: whatever runs this at the same
    time, or again, never sends it twice. Returns the number of messages."""
    session, mailer = ctx.session, ctx.mailer
    q = select(Release.id).where(Release.published_at.is_not(None), Release.notified_at.is_(None))
    if release_id is not None:
        q = q.where(Release.id == release_id)
    pending = list(session.scalars(q.order_by(Release.id)).all())
    session.rollback()
    sent = 0
    for rid in pending:
        begin_write(session)
        claimed = session.execute(  # type: ignore[attr-defined]
            update(Release)
            .where(Release.id == rid, Release.notified_at.is_(None))
            .values(notified_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1:  # another run has it
            session.rollback()
            continue
        release = session.get(Release, rid, populate_existing=True)
        assert release is not None
        to = notices.update_recipients(ctx, release.product_id, active_at=now)
        release.notified_count = len(to)
        product_name, product_code = release.product.name, release.product.code
        version, notes = release.version, release.notes
        session.commit()
        sent += notices.release_published(
            mailer,
            to=to,
            product=product_name,
            product_code=product_code,
            version=version,
            notes=notes,
        )
    return sent
