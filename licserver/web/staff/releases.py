"""Releases in the console: a product's releases, attaching one (an uploaded
file or a URL) and publishing it. Support sees them; admins change them."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import Length, Optional, Regexp

from licserver.domain import staff as rules
from licserver.domain.errors import ValidationFailed
from licserver.runtime import context, storage
from licserver.services import policy_views as views
from licserver.services import release_artifacts as artifacts
from licserver.services import releases as svc
from licserver.web.shared.forms import ConfirmForm, field_errors
from licserver.web.staff.base import (
    add_nav,
    allow_large_upload,
    bp,
    staff_origin,
    staff_required,
)


class ReleaseForm(FlaskForm):  # type: ignore[misc]
    # Checked by the service (a semantic version): its message shows here.
    version = StringField("Version (semantic, like 3.1.0)", validators=[Length(1, 64)])
    channel = StringField(
        "Channel (stable, rc, beta, alpha, dev or your own)",
        default="stable",
        validators=[Length(1, 32)],
    )
    file = FileField("File (kept by this server)")
    url = StringField("Or the URL where it is hosted", validators=[Optional(), Length(max=2000)])
    sha256 = StringField(
        "SHA-256 (needed with a URL; checked against a file)",
        validators=[
            Optional(),
            Regexp(r"^\s*[0-9A-Fa-f]{64}\s*$", message="64 hexadecimal characters."),
        ],
    )
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=20000)])
    publish = BooleanField("Publish now (customers see it; the update email goes out)")


# An admin's upload may be larger than MAX_CONTENT_LENGTH.
allow_large_upload("staff.add_release", "RELEASE_MAX_UPLOAD_BYTES")


def _page(code: str | None, form: ReleaseForm | None = None, status: int = 200) -> Any:
    s = context()
    products = views.products(s)
    if code is None and products:
        code = products[0].code
    rows = svc.list_releases(context(), code) if code else []
    return render_template(
        "staff/releases.html",
        products=products,
        code=code,
        releases=rows,
        counts=artifacts.check_counts(s, [r.id for r in rows]),
        form=form or ReleaseForm(formdata=None),
        confirm=ConfirmForm(),
    ), status


@bp.get("/releases")
@staff_required()
def releases() -> Any:
    return _page(request.args.get("product") or None)


def _publish(code: str, version: str) -> int:
    return svc.publish_and_notify(context(), staff_origin(), code, version).sent


@bp.post("/releases/<code>")
@staff_required(rules.ADMIN)
def add_release(code: str) -> Any:
    form = ReleaseForm()
    if not form.validate_on_submit():
        return _page(code, form, 422)
    upload = form.file.data if form.file.data and form.file.data.filename else None
    url = (form.url.data or "").strip() or None
    if (upload is None) == (url is None):
        form.url.errors = ["Choose a file, or give a URL (not both)."]
        return _page(code, form, 422)
    try:
        release = svc.add(
            context(),
            product_code=code,
            version=form.version.data,
            released_at=context().now(),
            notes=(form.notes.data or "").strip() or None,
            upload=svc.Upload(upload.stream, upload.filename or "") if upload is not None else None,
            url=url,
            sha256=(form.sha256.data or "").strip() or None,
            origin=staff_origin(),
            meta=svc.ReleaseMeta(channel=(form.channel.data or "stable").strip()),
            storage=storage(),
        )
    except ValidationFailed as exc:
        field_errors(form, exc, default="url")
        return _page(code, form, 422)
    message = f"{code} {release.version} attached (SHA-256 {release.sha256})."
    if form.publish.data:
        sent = _publish(code, release.version)
        message += f" Published; update email to {sent} address(es)."
    flash(message, "info")
    return redirect(url_for("staff.releases", product=code))


@bp.post("/releases/<code>/<version>/publish")
@staff_required(rules.ADMIN)
def publish_release(code: str, version: str) -> Any:
    if not ConfirmForm().validate_on_submit():
        raise ValidationFailed({}, "The form was not valid.")
    sent = _publish(code, version)
    flash(f"{code} {version} is published; update email to {sent} address(es).", "info")
    return redirect(url_for("staff.releases", product=code))


@bp.post("/releases/<code>/<version>/yank")
@staff_required(rules.ADMIN)
def yank_release(code: str, version: str) -> Any:
    if not ConfirmForm().validate_on_submit():
        raise ValidationFailed({}, "The form was not valid.")
    artifacts.yank(context(), code, version, now=context().now(), origin=staff_origin())
    flash(f"{code} {version} is yanked: it is never offered again.", "info")
    return redirect(url_for("staff.releases", product=code))


add_nav("staff.releases", "Releases")
