"""What a customer's portal users may download: the published releases of the
products they hold an active licence of, and the files behind them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from licserver.domain import portal as rules
from licserver.domain.errors import Forbidden, NotFound
from licserver.domain.portal import Principal
from licserver.domain.status import effective_status
from licserver.models import License, Product
from licserver.models.release import Release
from licserver.services.context import Context

_CHUNK = 1024 * 1024


def _held_products(session: Session, principal: Principal, now: datetime) -> set[int]:
    """Products the principal sees an active licence of."""
    q = select(License).where(License.customer_id == principal.customer_id)
    if principal.licenses is not None:
        q = q.where(License.id.in_(principal.licenses))
    return {
        lic.product_id
        for lic in session.scalars(q).unique().all()
        if effective_status(lic.status, lic.expires_at, now) == "active"
    }


@dataclass(frozen=True)
class ProductDownloads:
    product: Product
    releases: list[Release]


def downloads(ctx: Context, principal: Principal, now: datetime) -> list[ProductDownloads]:
    """The published releases of the products the principal holds an active
    licence of (and, for a limited user, sees), newest first, by product name."""
    session = ctx.session
    rules.check(principal, rules.DOWNLOADS)
    held = _held_products(session, principal, now)
    if not held:
        return []
    rows = (
        session.scalars(
            select(Release)
            .where(Release.product_id.in_(held), Release.status == "published")
            .order_by(Release.released_at.desc(), Release.id.desc())
        )
        .unique()
        .all()
    )
    by_product: dict[int, ProductDownloads] = {}
    for r in rows:
        by_product.setdefault(r.product_id, ProductDownloads(r.product, [])).releases.append(r)
    return sorted(by_product.values(), key=lambda p: (p.product.name.lower(), p.product.code))


def downloadable(ctx: Context, principal: Principal, release_id: int, now: datetime) -> Release:
    """The release, if the principal may download it now; else Forbidden (no
    longer holding the product) or NotFound (no such published release)."""
    session = ctx.session
    rules.check(principal, rules.DOWNLOADS)
    release = session.get(Release, release_id)
    if release is None or release.status != "published":
        raise NotFound("No such download.")
    if release.product_id not in _held_products(session, principal, now):
        raise Forbidden(
            f"Your account holds no active licence of {release.product.name} "
            "that you may see, so you may not download it."
        )
    return release


def file_path(release: Release, releases_dir: Path) -> Path:
    """Where the release's file is; NotFound if it is not there (or would lie
    outside ``releases_dir``)."""
    assert release.storage_path is not None
    root = releases_dir.resolve()
    path = (root / release.storage_path).resolve()
    if root not in path.parents or not path.is_file():
        raise NotFound("The file of this release is missing on the server; tell the vendor.")
    return path


def read_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            yield chunk
