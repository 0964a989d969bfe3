"""Update feeds for desktop updater frameworks (Sparkle, electron-updater,
Tauri): a per-activation feed token the product puts in the feed URL (the
only credential these frameworks can pass), and what each feed offers, gated
exactly like ``POST /api/v1/updates``.

The feed token is derived, not stored: a MAC, under the app's secret, of the
activation and its current activation token. It stays the same for as long as
the activation token does (so asking again gives the same URL), stops working
when the installation activates again (a fresh activation token) and with the
activation itself; changing SECRET_KEY changes every feed token."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives import serialization

from licserver.domain import feeds as formats
from licserver.domain import updates as rules
from licserver.models import Activation
from licserver.models.release import Release
from licserver.models.update import ReleaseArtifact
from licserver.services import Origin
from licserver.services import updates as update_service
from licserver.services.context import Context
from licserver.services.credentials import invalid

_PURPOSE = b"licserver.feed.v1"


def _derive(secret: str, act: Activation) -> str:
    key = hmac.new(secret.encode(), _PURPOSE, hashlib.sha256).digest()
    mac = hmac.new(key, f"{act.public_id}\n{act.token_hash}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def feed_token(
    ctx: Context, machine: update_service.Machine, *, secret: str, origin: Origin
) -> str:
    """The activation's feed token, authenticated by its activation token like
    an update check (401 / 410 / 403; an expired licence passes)."""
    session = ctx.session
    try:
        act = update_service.authenticate(ctx, machine, origin, ctx.now())
        return _derive(secret, act)
    finally:
        session.rollback()


@dataclass(frozen=True)
class FeedAsk:
    channel: str
    platform: str | None
    arch: str | None
    # None: the framework does not say which version the machine runs.
    current_version: str | None = None


@dataclass(frozen=True)
class FeedOffer:
    title: str
    item: formats.FeedItem
    # This server's download link token (None: an external URL, in item.url).
    link: str | None


def offer(
    ctx: Context, activation_id: str, token: str, ask: FeedAsk, *, secret: str, origin: Origin
) -> FeedOffer | None:
    """What the feed of this activation offers, or None. 401 for an unknown
    activation or a wrong feed token (a wrong one recorded, as an update
    check's wrong activation token), 410 / 403 like an update check."""
    current = (
        None
        if ask.current_version is None
        else rules.parse_version(ask.current_version, "current_version")
    )
    update_service.check_ask(ask.channel, ask.platform, ask.arch)
    session, now = ctx.session, ctx.now()
    try:
        act = update_service.find_activation(session, activation_id)
        if act is None:
            raise invalid()
        if not hmac.compare_digest(token.encode(), _derive(secret, act).encode()):
            raise update_service.refused(ctx, origin, act, "wrong feed token")
        update_service.live(act, now)
        plain = update_service.Ask("0", ask.channel, ask.platform, ask.arch)
        chosen = update_service.choose(session, act, current, plain, now)
        if chosen is None:
            return None
        release, art = chosen
        got = _feed_offer(ctx, release, art, act, secret, now)
        update_service.count_check(ctx, release.id, ask.platform or "", now)
        return got
    finally:
        session.rollback()


def _feed_offer(
    ctx: Context,
    release: Release,
    art: ReleaseArtifact,
    act: Activation,
    secret: str,
    now: datetime,
) -> FeedOffer:
    external = art.url if art.storage == "url" else None
    link = None if external else update_service.download_link(ctx, art, act, secret, now)
    item = formats.FeedItem(
        version=release.version,
        notes=release.notes,
        released_at=release.released_at,
        url=external or "",
        filename=art.filename,
        size=art.size,
        sha512_b64=art.sha512_b64,
        ed_signature=art.ed_signature,
        minisign=art.minisign,
        min_version=release.min_version,
    )
    return FeedOffer(release.product.name, item, link)


@dataclass(frozen=True)
class FeedKeys:
    """What an updater framework pins to check the files' signatures (made at
    upload with the active signing key ``kid``)."""

    kid: str
    sparkle: str  # SUPublicEDKey in Info.plist: base64 of the raw Ed25519 key
    tauri: str  # plugins.updater.pubkey in tauri.conf.json: base64 of a minisign key file


def feed_keys(ctx: Context) -> FeedKeys:
    kid, key = ctx.keyring.signer(ctx.session)
    ctx.session.rollback()
    public = key.public_key()
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return FeedKeys(kid, base64.b64encode(raw).decode(), formats.minisign_public_key(public))
