"""The offline-activation pages, written once for the portal and the console: a
machine without a network is activated with a request code pasted in a form
(the answer is a certificate file to carry back), and deactivated with the code
it shows when it deletes its activation (docs/api-notes.md, "Offline activation").

Each site's views check who may do it, say which licence (the portal's pages
are a licence's; the console's take any) and where to go afterwards, and render
their own template; the forms, the error handling and the download are here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, flash, redirect, render_template
from flask_wtf import FlaskForm
from wtforms import HiddenField, TextAreaField
from wtforms.validators import DataRequired, Length

from licserver.domain.errors import LicenseServerError, NotFound, ValidationFailed
from licserver.runtime import context
from licserver.services import Origin
from licserver.services import offline as svc
from licserver.services.offline_deactivation import OfflineDeactivation
from licserver.web.shared.forms import field_errors, plain_text


def _pasted(label: str) -> Any:
    """A text box for a code the product showed (``label``: "Request code"...)."""
    return TextAreaField(
        label,
        validators=[
            DataRequired(f"Paste the {label.lower()} the product showed."),
            Length(max=svc.MAX_CODE),
            plain_text,
        ],
    )


class OfflineRequestForm(FlaskForm):  # type: ignore[misc]
    request = _pasted("Request code")


class OfflineDownloadForm(FlaskForm):  # type: ignore[misc]
    certificate = HiddenField(validators=[DataRequired(), Length(max=svc.MAX_CODE)])


class OfflineDeactivationForm(FlaskForm):  # type: ignore[misc]
    code = _pasted("Deactivation code")


def activate_page(
    template: str,
    origin: Origin,
    *,
    license_id: str | None = None,
    page: Callable[[], dict[str, Any]] = dict,
) -> Any:
    """The request-code form and, once a code is accepted, its certificate.

    ``license_id``: the only licence a code may name (the portal page's).
    ``page()`` gives the template's own values, read after the activation (the
    seats it shows include the new one). A code that is damaged, for another
    licence or names none is 422 at the field; the activation's own refusals
    (seat limit, suspended, expired...) keep their status."""
    form = OfflineRequestForm()
    result, status = None, 200
    if form.is_submitted():
        status = 422
        if form.validate():
            try:
                result = svc.issue_certificate(
                    context(), origin, form.request.data, license_id=license_id
                )
                status = 200
            except NotFound as exc:
                field_errors(form, exc, default="request")
            except LicenseServerError as exc:
                status = field_errors(form, exc, default="request")
    download = OfflineDownloadForm(formdata=None)
    if result is not None:
        download.certificate.data = result.token
    return render_template(template, form=form, result=result, download=download, **page()), status


def certificate_download(license_id: str | None = None) -> Response:
    """The certificate file just shown, as a download: the page posts it back
    (nothing secret is kept on the server); only a file this server signed (for
    ``license_id``, when given) is sent."""
    form = OfflineDownloadForm()
    if not form.validate_on_submit():
        raise ValidationFailed({"certificate": ["No certificate to download."]})
    cert = svc.read_certificate_file(context(), form.certificate.data)
    if license_id is not None and cert.license_id != license_id:
        raise NotFound("No such certificate for this licence.")
    return Response(
        cert.text,
        mimetype="text/plain",
        headers={"Content-Disposition": f'attachment; filename="{cert.filename}"'},
    )


def deactivate_page(
    template: str,
    redeem: Callable[[str], OfflineDeactivation],
    back: Callable[[OfflineDeactivation], str],
    **page: Any,
) -> Any:
    """The deactivation-code form: ``redeem(code)`` is the site's service call;
    done, a message and a redirect to ``back(done)``; refused, the reason at the
    field (422, or the refusal's own status)."""
    form = OfflineDeactivationForm()
    status = 200
    if form.is_submitted():
        status = 422
        if form.validate():
            try:
                done = redeem(form.code.data)
            except LicenseServerError as exc:
                status = field_errors(form, exc, default="code")
            else:
                machine = done.activation.machine_name
                if done.changed:
                    flash(f"{machine} is deactivated; its seat is free.", "info")
                else:
                    flash(f"{machine} was already deactivated; the code is now used.", "info")
                return redirect(back(done))
    return render_template(template, form=form, **page), status
