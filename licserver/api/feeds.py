"""Client API: update feeds for updater frameworks (Sparkle appcast,
electron-updater's generic provider, Tauri's dynamic server), each behind the
activation's feed token in its URL, and the endpoint that hands out that
token. Thin: parse, call the service, render the framework's format."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

from flask import Response, current_app, url_for

from licserver.api.blueprint import Blueprint
from licserver.api.docs import answers, errors
from licserver.api.schemas.updates import FeedArgs, FeedTokenIn, FeedTokenOut
from licserver.domain import feeds as formats
from licserver.domain.errors import NotFound
from licserver.domain.updates import STABLE
from licserver.runtime import context, origin
from licserver.services import CLIENT
from licserver.services import feeds as svc
from licserver.services import updates as update_service

blp = Blueprint("feeds", __name__, url_prefix="/api/v1", description="Client API: update feeds")
FEED_ARGS = FeedArgs()
_NO_STORE = {"Cache-Control": "no-store"}
# electron-updater's file names: {channel}.yml (Windows), {channel}-mac.yml,
# {channel}-linux.yml, {channel}-linux-arm64.yml; its channel "latest" is ours "stable".
_ELECTRON = re.compile(r"^(?P<ch>[a-z0-9][a-z0-9._]*?)(?P<os>-mac|-linux(?:-arm64)?)?$")
_ELECTRON_OS: dict[str | None, tuple[str, str | None]] = {
    None: ("windows", None),
    "-mac": ("macos", None),
    "-linux": ("linux", None),
    "-linux-arm64": ("linux", "arm64"),
}


@blp.post("/activations/<activation_id>/feed-token")
@blp.arguments(FeedTokenIn)
@blp.response(200, FeedTokenOut)
@errors(blp, 400, 413, 422, 429, 401, 410, 403, 503)
def feed_token(data: dict[str, Any], activation_id: str) -> dict[str, Any]:
    """The activation's feed token and its feed URLs, authenticated like an
    update check."""
    machine = update_service.Machine(activation_id, data["activation_token"])
    token = svc.feed_token(
        context(), machine, secret=current_app.config["SECRET_KEY"], origin=origin(CLIENT)
    )
    base = url_for("feeds.sparkle", activation_id=activation_id, token=token, _external=True)
    root = base.removesuffix("/sparkle/appcast.xml")
    return {
        "feed_token": token,
        "feeds": {
            "sparkle": base,
            "electron": root + "/electron",
            "tauri": root + "/tauri/{{target}}/{{arch}}/{{current_version}}",
        },
    }


def _offer(activation_id: str, token: str, ask: svc.FeedAsk) -> svc.FeedOffer | None:
    secret = current_app.config["SECRET_KEY"]
    got = svc.offer(context(), activation_id, token, ask, secret=secret, origin=origin(CLIENT))
    if got is None or got.link is None:
        return got
    url = url_for("updates.download", activation_id=activation_id, token=got.link, _external=True)
    return dataclasses.replace(got, item=dataclasses.replace(got.item, url=url))


@blp.get("/feeds/<activation_id>/<token>/sparkle/appcast.xml")
@blp.arguments(FEED_ARGS, location="query")
@answers(blp, 200, "Sparkle's appcast.", "application/xml")
@errors(blp, 401, 410, 403, 422, 429, 503)
def sparkle(args: dict[str, Any], activation_id: str, token: str) -> Response:
    """Sparkle's appcast: the newest release this machine may have (none:
    an empty channel), its enclosure signed with `sparkle:edSignature`.
    `platform` defaults to `macos`."""
    platform = args["platform"] or "macos"
    ask = svc.FeedAsk(args["channel"], platform, args["arch"], args["current_version"])
    got = _offer(activation_id, token, ask)
    items = [got.item] if got else []
    title = got.title if got else "Updates"
    url = url_for("feeds.sparkle", activation_id=activation_id, token=token, _external=True)
    xml = formats.sparkle_appcast(title, url, items, platform)
    return Response(xml, mimetype="application/xml", headers=_NO_STORE)


@blp.get("/feeds/<activation_id>/<token>/electron/<name>.yml")
@blp.arguments(FEED_ARGS, location="query")
@answers(blp, 200, "electron-updater's latest.yml.", "text/yaml")
@errors(blp, 401, 404, 410, 403, 422, 429, 503)
def electron(args: dict[str, Any], activation_id: str, token: str, name: str) -> Response:
    """electron-updater's generic provider: `latest.yml` (Windows),
    `latest-mac.yml`, `latest-linux.yml`, `latest-linux-arm64.yml`, or
    `{channel}…yml`; 404 when there is no release this machine may have."""
    m = _ELECTRON.match(name)
    if m is None:
        raise NotFound("No such feed file.")
    platform, arch = _ELECTRON_OS[m.group("os")]
    channel = STABLE if m.group("ch") == "latest" else m.group("ch")
    got = _offer(activation_id, token, svc.FeedAsk(channel, platform, arch))
    if got is None or got.item.sha512_b64 is None:
        raise NotFound("There is no update this machine may have.")
    body = formats.electron_latest_yml(got.item)
    return Response(body, mimetype="text/yaml", headers=_NO_STORE)


@blp.get("/feeds/<activation_id>/<token>/tauri/<target>/<arch>/<current_version>")
@blp.arguments(FEED_ARGS, location="query")
@answers(blp, 200, "Tauri's update JSON.", "application/json")
@answers(blp, 204, "No update.")
@errors(blp, 401, 410, 403, 422, 429, 503)
def tauri(
    args: dict[str, Any],
    activation_id: str,
    token: str,
    target: str,
    arch: str,
    current_version: str,
) -> Response:
    """Tauri's dynamic update server (`{{target}}`, `{{arch}}`,
    `{{current_version}}` in the URL): 200 with the update, 204 when none."""
    platform, machine_arch = formats.TAURI_OS.get(target), formats.TAURI_ARCH.get(arch)
    if platform is None or machine_arch is None:
        return Response(status=204, headers=_NO_STORE)
    ask = svc.FeedAsk(args["channel"], platform, machine_arch, current_version)
    got = _offer(activation_id, token, ask)
    if got is None or got.item.minisign is None:
        return Response(status=204, headers=_NO_STORE)
    body = json.dumps(formats.tauri_update(got.item))
    return Response(body, mimetype="application/json", headers=_NO_STORE)
