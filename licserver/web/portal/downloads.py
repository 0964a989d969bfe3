"""Downloads of the products a user holds: the published releases of every
product the account holds an active licence of (that the user may see), each
behind a short-lived link signed for this user alone."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from flask import current_app, redirect, render_template, send_file

from licserver.domain import portal as rules
from licserver.runtime import context
from licserver.services import releases as svc
from licserver.web.markdown import render_notes
from licserver.web.portal.base import bp, page, principal, requires


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
    holder = svc.holder_of(principal())
    products = []
    for group in svc.downloads(context(), principal(), now):
        products.append(
            {
                "name": group.product.name,
                "code": group.product.code,
                "releases": [
                    {
                        "version": r.version,
                        "released_at": r.released_at,
                        "notes": render_notes(r.notes),
                        "filename": r.filename,
                        "size": _size(r.size),
                        "sha256": r.sha256,
                        "external": r.url is not None,
                        "token": svc.sign_link(cfg["SECRET_KEY"], r.id, holder, now, seconds),
                    }
                    for r in group.releases
                ],
            }
        )
    return render_template(
        "portal/downloads.html", products=products, minutes=max(1, seconds // 60)
    )


@bp.get("/downloads/file/<token>")
@requires(rules.DOWNLOADS)
def download(token: str) -> Any:
    """The file (or, for a release hosted elsewhere, a redirect to it), for the
    user the link was signed for, while they hold an active licence of it."""
    cfg = current_app.config
    now = context().now()
    try:
        release_id = svc.read_link(cfg["SECRET_KEY"], token, svc.holder_of(principal()), now)
    except svc.LinkExpired as exc:
        return page(410, "Link expired", exc.detail)
    release = svc.downloadable(context(), principal(), release_id, now)
    if release.url is not None:
        return redirect(release.url, code=303)
    path = svc.file_path(release, Path(cfg["RELEASES_DIR"]))
    resp = send_file(
        path,
        mimetype="application/octet-stream",
        as_attachment=True,
        download_name=release.filename,
        conditional=False,
        etag=False,
    )
    resp.headers["Cache-Control"] = "private, no-store"
    # RFC 9530: the client (or a script) can check the bytes it received.
    digest = base64.b64encode(bytes.fromhex(release.sha256)).decode()
    resp.headers["Repr-Digest"] = f"sha-256=:{digest}:"
    return resp
