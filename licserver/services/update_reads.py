"""The update check's reads as Core statements built once (docs/performance.md,
"The update check"): the activation with its licence, product and policy in
one query, and a page of the newest releases with the artifacts the
platform may take in another (index ix_releases_newest). Rows, not ORM
objects: a check reads ~10 releases and answers one.

Pages are kept in this process's memory under the product's
``releases_tag`` (services.release_tags), which the machine's query reads in
the same snapshot: a page is read again only after a release of the product
changed, and a yank or a publish is seen by the very next check."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import and_, bindparam, select, tuple_
from sqlalchemy.orm import Session

from licserver.domain import updates as rules
from licserver.models import Activation, License, Policy, Product
from licserver.models.release import Release
from licserver.models.update import ReleaseArtifact
from licserver.services import release_tags  # noqa: F401  (keeps the tag current)
from licserver.services.activation.entitlements import features, settings_of

# Releases read per query, newest first: the first page nearly always holds the
# answer (unless the newest ones need entitlements, a newer starting point or
# another platform).
PAGE = 10

# Core columns of the tables (not the mapped classes): compiled and run as
# Core on the session's connection, with no ORM step per check.
_ACT, _LIC, _POL, _PROD = (
    Activation.__table__.c,
    License.__table__.c,
    Policy.__table__.c,
    Product.__table__.c,
)

MACHINE = (
    select(
        _ACT.id,
        _ACT.public_id,
        _ACT.license_id,
        _ACT.token_hash,
        _ACT.deactivated_at,
        _LIC.status,
        _LIC.expires_at,
        _LIC.features,
        _LIC.policy_overrides,
        _LIC.product_id,
        _POL.settings.label("policy_settings"),
        _PROD.code.label("product"),
        _PROD.releases_tag,
    )
    .join_from(Activation.__table__, License.__table__, _LIC.id == _ACT.license_id)
    .join(Product.__table__, _PROD.id == _LIC.product_id)
    .outerjoin(Policy.__table__, _POL.id == _LIC.policy_id)
    .where(_ACT.public_id == bindparam("aid"))
)


def machine(session: Session, activation_id: str) -> Any:
    """The activation, its licence's status, expiry and entitlements' inputs,
    its product's id, code and releases tag (a Row); None for an unknown
    activation."""
    return session.connection().execute(MACHINE, {"aid": activation_id}).first()


def holder_of(row: Any, usable: bool) -> rules.Holder:
    return rules.Holder(
        usable=usable,
        expires_at=row.expires_at,
        features=frozenset(str(f) for f in features(settings_of(row), row.features)),
    )


def _page_statement(above: bool, below: bool) -> Any:
    r = select(
        Release.id,
        Release.version,
        Release.version_key,
        Release.channel,
        Release.status,
        Release.released_at,
        Release.min_version,
        Release.requires_features,
        Release.notes,
    ).where(
        Release.product_id == bindparam("product_id"),
        Release.channel.in_(bindparam("channels", expanding=True)),
        Release.status == "published",
        Release.version_key.is_not(None),
    )
    if above:
        r = r.where(Release.version_key > bindparam("above"))
    if below:
        r = r.where(
            tuple_(Release.version_key, Release.id) < tuple_(bindparam("bk"), bindparam("bid"))
        )
    page = r.order_by(Release.version_key.desc(), Release.id.desc()).limit(PAGE).subquery("r")
    a = ReleaseArtifact
    return (
        select(
            page,
            a.id.label("art_id"),
            a.platform,
            a.arch,
            a.sha256,
            a.size,
            a.storage,
            a.url,
        )
        .select_from(page)
        .outerjoin(
            a,
            and_(
                a.release_id == page.c.id,
                a.platform_key.in_(bindparam("platforms", expanding=True)),
            ),
        )
        .order_by(page.c.version_key.desc(), page.c.id.desc(), a.id)
    )


# The four shapes of a page (a lower bound or not, a previous page or not).
PAGES = {(x, y): _page_statement(x, y) for x in (False, True) for y in (False, True)}


# Pages kept per process, by (product, releases_tag, channels, platform, above,
# below); the oldest dropped past PAGES_KEPT (a page is ~10 rows).
PAGES_KEPT = 4096
_pages: dict[tuple[Any, ...], tuple[list[rules.Candidate], dict[int, Any], dict[int, Any]]] = {}
_pages_lock = threading.Lock()


def cached_page(
    session: Session,
    product_id: int,
    tag: str,
    channels: frozenset[str],
    platform: str | None,
    above: str | None,
    below: tuple[str, int] | None,
) -> tuple[list[rules.Candidate], dict[int, Any], dict[int, Any]]:
    """``page``, from memory when this product's releases are as they were
    (``tag``, read in the caller's snapshot) when it was read."""
    key = (product_id, tag, channels, platform, above, below)
    got = _pages.get(key)
    if got is None:
        got = page(session, product_id, channels, platform, above, below)
        with _pages_lock:
            while len(_pages) >= PAGES_KEPT:
                del _pages[next(iter(_pages))]
            _pages[key] = got
    return got


def page(
    session: Session,
    product_id: int,
    channels: frozenset[str],
    platform: str | None,
    above: str | None,
    below: tuple[str, int] | None,
) -> tuple[list[rules.Candidate], dict[int, Any], dict[int, Any]]:
    """Up to PAGE published releases on these channels, newest first, with a
    version key above ``above`` and (key, id) below ``below``, each with the
    artifacts this platform may take; and the rows by release id and by
    artifact id (what the answer needs of the chosen one)."""
    params: dict[str, Any] = {
        "product_id": product_id,
        "channels": sorted(channels),
        "platforms": ["", platform] if platform else [""],
    }
    if above is not None:
        params["above"] = above
    if below is not None:
        params["bk"], params["bid"] = below
    rows = session.execute(PAGES[above is not None, below is not None], params).all()
    releases: dict[int, Any] = {}
    arts: dict[int, list[rules.Artifact]] = {}
    by_art: dict[int, Any] = {}
    for row in rows:
        if row.id not in releases:
            releases[row.id] = row
            arts[row.id] = []
        if row.art_id is not None:
            arts[row.id].append(rules.Artifact(row.art_id, row.platform, row.arch))
            by_art[row.art_id] = row
    return [candidate(r, arts[r.id]) for r in releases.values()], releases, by_art


def candidate(r: Any, arts: list[rules.Artifact]) -> rules.Candidate:
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


def newest(
    session: Session,
    product_id: int,
    tag: str,
    holder: rules.Holder,
    current: rules.Version | None,
    ask: Any,
) -> tuple[Any, Any] | None:
    """The (release row, artifact row) the holder may have, read page by page
    (the rule in the domain decides), or None."""
    channels = rules.visible_channels(ask.channel)
    above = rules.version_key(current) if current is not None else None
    below: tuple[str, int] | None = None
    while True:
        got, releases, by_art = cached_page(
            session, product_id, tag, channels, ask.platform, above, below
        )
        if not got:
            return None
        chosen = rules.select_update(
            got,
            current=current,
            channel=ask.channel,
            platform=ask.platform,
            arch=ask.arch,
            holder=holder,
        )
        if chosen is not None:
            return releases[chosen.release.id], by_art[chosen.artifact.id]
        below = (got[-1].key, got[-1].id)
