"""A product's ``releases_tag``: a new random value in the same transaction as
any change to one of its releases or their artifacts (publish, yank, edit,
an artifact added or removed), made by a flush hook so no writer can forget
it. The update check reads the tag with the machine in one query and keeps
its pages of releases in memory under it (services.update_reads): a change
is seen by the very next check, on every server of the database.

A random value rather than a counter: a database restored from a backup
never brings back a tag a server has cached for other rows."""

from __future__ import annotations

import secrets

from sqlalchemy import event
from sqlalchemy.orm import Session, UOWTransaction

from licserver.models import Product
from licserver.models.release import Release
from licserver.models.update import ReleaseArtifact


def new_tag() -> str:
    return secrets.token_hex(8)


def _product_of(session: Session, obj: Release | ReleaseArtifact) -> Product | None:
    release = obj if isinstance(obj, Release) else obj.release
    if release is None and isinstance(obj, ReleaseArtifact) and obj.release_id is not None:
        release = session.get(Release, obj.release_id)
    if release is None:
        return None
    if release.product is not None:
        return release.product
    return session.get(Product, release.product_id) if release.product_id is not None else None


@event.listens_for(Session, "before_flush")
def _retag_changed_products(session: Session, _ctx: UOWTransaction, _instances: object) -> None:
    changed = [
        o
        for o in (*session.new, *session.dirty, *session.deleted)
        if isinstance(o, Release | ReleaseArtifact)
        and (o not in session.dirty or session.is_modified(o, include_collections=False))
    ]
    if not changed:
        return
    products = {id(p): p for p in (_product_of(session, o) for o in changed) if p is not None}
    for product in products.values():
        product.releases_tag = new_tag()
