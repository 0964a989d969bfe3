"""Offline activation pages: a machine without a network is activated with a
request code pasted here (the answer is a certificate file to carry back), and
deactivated with the code it shows when it deletes its activation
(docs/api-notes.md, "Offline activation")."""

from __future__ import annotations

from typing import Any

from flask import Response, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from wtforms import HiddenField, TextAreaField
from wtforms.validators import DataRequired, Length

from licserver.domain import portal as rules
from licserver.domain.errors import LicenseServerError, NotFound, ValidationFailed
from licserver.runtime import context
from licserver.services import offline as svc
from licserver.services import portal_licenses
from licserver.web.portal.base import bp, me, origin, principal, requires
from licserver.web.portal.licenses import license_view
from licserver.web.shared.forms import field_errors, plain_text

MAX_CODE = svc.MAX_CODE


class OfflineRequestForm(FlaskForm):  # type: ignore[misc]
    request = TextAreaField(
        "Request code",
        validators=[
            DataRequired("Paste the request code the product showed."),
            Length(max=MAX_CODE),
            plain_text,
        ],
    )


class OfflineDownloadForm(FlaskForm):  # type: ignore[misc]
    certificate = HiddenField(validators=[DataRequired(), Length(max=MAX_CODE)])


class OfflineDeactivationForm(FlaskForm):  # type: ignore[misc]
    code = TextAreaField(
        "Deactivation code",
        validators=[
            DataRequired("Paste the deactivation code the product showed."),
            Length(max=MAX_CODE),
            plain_text,
        ],
    )


@bp.route("/licenses/<public_id>/offline", methods=["GET", "POST"])
@requires(rules.OFFLINE)
def offline_activate(public_id: str) -> Any:
    lic = portal_licenses.get(context(), principal(), public_id)
    view = license_view(lic)
    form = OfflineRequestForm()
    result = None
    status = 200
    if form.is_submitted():
        if form.validate():
            try:
                result = svc.issue_certificate(
                    context(), origin(), form.request.data, license_id=public_id
                )
            except (ValidationFailed, NotFound) as exc:
                field_errors(form, exc, default="request")
            except LicenseServerError as exc:
                # The activation's own refusals: seat limit, suspended, expired...
                status = field_errors(form, exc, default="request")
        if result is None and status == 200:
            status = 422
        if result is not None:
            lic = portal_licenses.get(context(), principal(), public_id)
            view = license_view(lic)
    download = OfflineDownloadForm(formdata=None)
    if result is not None:
        download.certificate.data = result.token
    return render_template(
        "portal/offline_activate.html",
        lic=view,
        form=form,
        result=result,
        download=download,
    ), status


@bp.post("/licenses/<public_id>/offline/certificate")
@requires(rules.OFFLINE)
def offline_download(public_id: str) -> Any:
    """The certificate file just shown, as a download: the page posts it back
    (nothing secret is kept on the server); only a file this server signed for
    this licence is sent."""
    portal_licenses.get(context(), principal(), public_id)
    form = OfflineDownloadForm()
    if not form.validate_on_submit():
        raise ValidationFailed({"certificate": ["No certificate to download."]})
    cert = svc.read_certificate_file(context(), form.certificate.data)
    if cert.license_id != public_id:
        raise NotFound("No such certificate for this licence.")
    return Response(
        cert.text,
        mimetype="text/plain",
        headers={"Content-Disposition": f'attachment; filename="{cert.filename}"'},
    )


@bp.route("/licenses/<public_id>/offline/deactivate", methods=["GET", "POST"])
@requires(rules.OFFLINE)
def offline_deactivate(public_id: str) -> Any:
    lic = portal_licenses.get(context(), principal(), public_id)
    form = OfflineDeactivationForm()
    status = 200
    if form.is_submitted():
        status = 422
        if form.validate():
            deps = context()
            try:
                code = svc.parse_deactivation(form.code.data)
                act = svc.find_activation(deps, code)
                if act.license_id != lic.id:
                    raise ValidationFailed(
                        {
                            "code": [
                                "This deactivation code is for an installation of another "
                                "licence: paste it on that licence's page."
                            ]
                        }
                    )
                done = svc.redeem_deactivation(deps, origin(), code)
            except LicenseServerError as exc:
                status = field_errors(form, exc, default="code")
            else:
                machine = done.activation.machine_name
                if done.changed:
                    lic = portal_licenses.get(context(), principal(), public_id)
                    by = me().name if me().email is None else f"{me().name} <{me().email}>"
                    portal_licenses.notify_deactivated(
                        context(),
                        portal_licenses.Deactivation(done.activation, lic, True),
                        by,
                    )
                    flash(f"{machine} is deactivated; its seat is free.", "info")
                else:
                    flash(f"{machine} was already deactivated; the code is now used.", "info")
                return redirect(url_for("portal.license", public_id=public_id))
    return render_template(
        "portal/offline_deactivate.html", lic=license_view(lic), form=form
    ), status
