"""Downloads of the products a user holds: per product, the newest release of
each channel a licence they see may have, per platform and arch, each file
behind a short-lived link signed for this user alone."""

from __future__ import annotations

import base64
from typing import Any

from flask import current_app, redirect, render_template, send_file

from licserver.domain import portal as rules
from licserver.runtime import context, storage
from licserver.services import downloads as svc
from licserver.services import links
from licserver.services.updates import MIN_LINK_SECONDS, local_file
from licserver.storage import LocalStorage
from licserver.web.markdown import render_notes
from licserver.web.portal.base import bp, origin, page, principal, requires


def _size(n: int | None) -> str:
    if n is None:
        return "—"
    value = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{n} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} bytes"  # pragma: no cover


@bp.get("/downloads")
@requires(rules.DOWNLOADS)
def downloads() -> Any:
    now = context().now()
    cfg = current_app.config
    seconds = int(cfg["DOWNLOAD_LINK_SECONDS"])
    holder = links.holder_of(principal())
    products = [
        {
            "name": group.product.name,
            "code": group.product.code,
            "channels": [
                {
                    "channel": c.channel,
                    "version": c.version,
                    "released_at": c.released_at,
                    "notes": render_notes(c.notes),
                    "files": [
                        {
                            "target": _target(f.platform, f.arch),
                            "filename": f.filename,
                            "size": _size(f.size),
                            "sha256": f.sha256,
                            "external": f.external,
                            "token": links.sign_link(
                                cfg["SECRET_KEY"], f.artifact_id, holder, now, seconds
                            ),
                        }
                        for f in c.files
                    ],
                }
                for c in group.channels
            ],
        }
        for group in svc.downloads(context(), principal(), now)
    ]
    return render_template(
        "portal/downloads.html", products=products, minutes=max(1, seconds // 60)
    )


_PLATFORMS = {"windows": "Windows", "macos": "macOS", "linux": "Linux"}


def _target(platform: str | None, arch: str | None) -> str:
    if platform is None:
        return "All platforms"
    return f"{_PLATFORMS.get(platform, platform)} {arch}" if arch else _PLATFORMS[platform]


@bp.get("/downloads/file/<token>")
@requires(rules.DOWNLOADS)
def download(token: str) -> Any:
    """The file (or, for one kept elsewhere, a redirect to it), for the user the
    link was signed for, while a licence they see covers its release."""
    cfg = current_app.config
    ctx = context()
    now = ctx.now()
    try:
        artifact_id = links.read_link(cfg["SECRET_KEY"], token, links.holder_of(principal()), now)
    except links.LinkExpired as exc:
        return page(410, "Link expired", exc.detail)
    art = svc.downloadable(ctx, principal(), artifact_id, now, origin())
    if art.storage == "url":
        assert art.url is not None
        return redirect(art.url, code=303)
    assert art.object_key is not None
    if art.storage == "s3":
        seconds = max(MIN_LINK_SECONDS, int(cfg["DOWNLOAD_LINK_SECONDS"]))
        url = storage().presigned_url(art.object_key, art.filename, seconds)
        assert url is not None
        return redirect(url, code=303)
    path = local_file(LocalStorage(ctx.settings.releases_dir), art.object_key)
    resp = send_file(
        path,
        mimetype="application/octet-stream",
        as_attachment=True,
        download_name=art.filename,
        conditional=False,
        etag=False,
    )
    resp.headers["Cache-Control"] = "private, no-store"
    # RFC 9530: the client (or a script) can check the bytes it received.
    digest = base64.b64encode(bytes.fromhex(art.sha256)).decode()
    resp.headers["Repr-Digest"] = f"sha-256=:{digest}:"
    return resp
