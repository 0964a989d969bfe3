"""Client API: update checks and update downloads. Thin: parse, call the
service, shape the answer."""

from __future__ import annotations

from typing import Any

from flask import current_app, redirect, send_file, url_for
from werkzeug.wrappers import Response

from licserver.api.blueprint import Blueprint
from licserver.api.docs import answers, errors
from licserver.api.schemas.updates import UpdateIn, UpdateOut
from licserver.runtime import context, origin, storage
from licserver.services import CLIENT
from licserver.services import updates as svc
from licserver.storage import LocalStorage

blp = Blueprint("updates", __name__, url_prefix="/api/v1", description="Client API: updates")
UPDATE_IN = UpdateIn()


@blp.post("/updates")
@blp.arguments(UPDATE_IN)
@blp.response(200, UpdateOut)
@errors(blp, 400, 413, 422, 429, 401, 410, 403, 503)
def check(data: dict[str, Any]) -> dict[str, Any]:
    """Is there a newer release this machine may have? `{"update": null}` or one
    release's artifact, with a short-lived download link and its UP1 manifest."""
    cfg = current_app.config
    offer = svc.check(
        context(),
        svc.Machine(data["activation_id"], data["activation_token"]),
        svc.Ask(data["current_version"], data["channel"], data["platform"], data["arch"]),
        secret=cfg["SECRET_KEY"],
        origin=origin(CLIENT),
    )
    if offer is None:
        return {"update": None}
    url = offer.external_url or url_for(
        "updates.download", activation_id=data["activation_id"], token=offer.link, _external=True
    )
    return {
        "update": {
            "version": offer.version,
            "channel": offer.channel,
            "released_at": offer.released_at,
            "notes": offer.notes,
            "download_url": url,
            "size": offer.size,
            "sha256": offer.sha256,
            "manifest": offer.manifest,
        }
    }


@blp.get("/updates/download/<activation_id>/<token>")
@answers(blp, 200, "The file.", "application/octet-stream")
@answers(blp, 302, "Where the file is kept (object storage, an external URL).")
@errors(blp, 404, 410, 403, 503)
def download(activation_id: str, token: str) -> Response:
    """The file a download link names (or a redirect to where it is kept):
    only for that activation, while the link is valid."""
    cfg = current_app.config
    ctx = context()
    got = svc.download(ctx, activation_id, token, secret=cfg["SECRET_KEY"], origin=origin(CLIENT))
    art = got.artifact
    if art.storage == "url":
        assert art.url is not None
        return redirect(art.url, 302)
    assert art.object_key is not None
    if art.storage == "s3":
        url = storage().presigned_url(art.object_key, got.filename, svc.MIN_LINK_SECONDS)
        assert url is not None
        return redirect(url, 302)
    path = svc.local_file(LocalStorage(ctx.settings.releases_dir), art.object_key)
    return send_file(path, as_attachment=True, download_name=got.filename, conditional=True)
