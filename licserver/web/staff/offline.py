"""Offline activation for staff: the customer reads a request code out (or
mails it) and staff paste it here for any licence; and an offline deactivation
code frees its seat (docs/api-notes.md, "Offline activation"). The same
service as the portal's pages: seats, rules and history of an online activation."""

from __future__ import annotations

from typing import Any

from flask import Response, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from wtforms import HiddenField, TextAreaField
from wtforms.validators import DataRequired, Length

from licserver.domain import staff as rules
from licserver.domain.errors import LicenseServerError, ValidationFailed
from licserver.runtime import context
from licserver.services import offline as svc
from licserver.web.shared.forms import field_errors, plain_text
from licserver.web.staff.base import add_nav, bp, staff_origin, staff_required


class StaffOfflineRequestForm(FlaskForm):  # type: ignore[misc]
    request = TextAreaField(
        "Request code",
        validators=[
            DataRequired("Paste the request code the product showed."),
            Length(max=svc.MAX_CODE),
            plain_text,
        ],
    )


class StaffOfflineDownloadForm(FlaskForm):  # type: ignore[misc]
    certificate = HiddenField(validators=[DataRequired(), Length(max=svc.MAX_CODE)])


class StaffOfflineDeactivationForm(FlaskForm):  # type: ignore[misc]
    code = TextAreaField(
        "Deactivation code",
        validators=[
            DataRequired("Paste the deactivation code the product showed."),
            Length(max=svc.MAX_CODE),
            plain_text,
        ],
    )


# Installation management: what support and admins both do (matrix: ``deactivate``).
@bp.route("/offline", methods=["GET", "POST"])
@staff_required(action=rules.DEACTIVATE)
def offline_activate() -> Any:
    form = StaffOfflineRequestForm()
    result, status = None, 200
    if form.is_submitted():
        status = 422
        if form.validate():
            try:
                result = svc.issue_certificate(context(), staff_origin(), form.request.data)
                status = 200
            except LicenseServerError as exc:
                status = field_errors(form, exc, default="request")
    download = StaffOfflineDownloadForm(formdata=None)
    if result is not None:
        download.certificate.data = result.token
    return render_template(
        "staff/offline_activate.html", form=form, result=result, download=download
    ), status


@bp.post("/offline/certificate")
@staff_required(action=rules.DEACTIVATE)
def offline_download() -> Any:
    """The certificate file just shown, as a download (the page posts it back)."""
    form = StaffOfflineDownloadForm()
    if not form.validate_on_submit():
        raise ValidationFailed({"certificate": ["No certificate to download."]})
    cert = svc.read_certificate_file(context(), form.certificate.data)
    return Response(
        cert.text,
        mimetype="text/plain",
        headers={"Content-Disposition": f'attachment; filename="{cert.filename}"'},
    )


@bp.route("/offline/deactivate", methods=["GET", "POST"])
@staff_required(action=rules.DEACTIVATE)
def offline_deactivate() -> Any:
    form = StaffOfflineDeactivationForm()
    status = 200
    if form.is_submitted():
        status = 422
        if form.validate():
            try:
                code = svc.parse_deactivation(form.code.data)
                done = svc.redeem_deactivation(context(), staff_origin(), code)
            except LicenseServerError as exc:
                status = field_errors(form, exc, default="code")
            else:
                machine = done.activation.machine_name
                if done.changed:
                    flash(f"{machine} is deactivated; its seat is free.", "info")
                else:
                    flash(f"{machine} was already deactivated; the code is now used.", "info")
                return redirect(url_for("staff.license", public_id=done.license_id))
    return render_template("staff/offline_deactivate.html", form=form), status


add_nav("staff.offline_activate", "Offline activation")
