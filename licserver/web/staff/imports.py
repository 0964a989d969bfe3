"""Imports from another licensing system in the console: upload a file, read
its dry run's report, start it, watch its progress (the page refreshes itself;
a worker, ``licserver jobs run``, does the work). Admins only."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import SelectField

from licserver.domain import imports as rules
from licserver.domain import staff as staff_rules
from licserver.domain.errors import ValidationFailed
from licserver.runtime import context
from licserver.services.imports import jobs as svc
from licserver.web.shared.forms import choices
from licserver.web.staff.base import (
    add_nav,
    allow_large_upload,
    bp,
    current_staff,
    staff_origin,
    staff_required,
)
from licserver.web.staff.forms import ConfirmForm

# Files up to this many rows get their dry run while the upload waits; larger
# ones are checked by the worker like the import itself.
INLINE_CHECK_ROWS = 5000
REFRESH_SECONDS = 3


class UploadForm(FlaskForm):  # type: ignore[misc]
    kind = SelectField(
        "What the file holds", choices=choices([(k, k.title()) for k in rules.KINDS])
    )
    file = FileField("File (CSV with a header line, or JSON lines)")


allow_large_upload("staff.upload_import", "IMPORT_MAX_UPLOAD_BYTES")


def _index(form: UploadForm | None = None, status: int = 200) -> Any:
    return render_template(
        "staff/imports.html",
        form=form or UploadForm(formdata=None),
        columns=rules.COLUMNS,
        jobs=svc.recent(context()),
    ), status


@bp.get("/imports")
@staff_required(staff_rules.ADMIN)
def imports() -> Any:
    return _index()


@bp.get("/imports/template/<kind>.csv")
@staff_required(staff_rules.ADMIN)
def import_template(kind: str) -> Any:
    if kind not in rules.KINDS:
        abort(404)
    return Response(
        rules.template(kind),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{kind}-template.csv"'},
    )


@bp.post("/imports")
@staff_required(staff_rules.ADMIN)
def upload_import() -> Any:
    form = UploadForm()
    upload = form.file.data if form.validate_on_submit() else None
    if upload is None or not upload.filename:
        form.file.errors = [*form.file.errors, "Choose a file."]
        return _index(form, 422)
    ctx = context()
    try:
        job = svc.create(ctx, form.kind.data, upload.filename, upload.read(), current_staff().email)
    except ValidationFailed as exc:
        form.file.errors = [m for msgs in exc.errors.values() for m in msgs]
        return _index(form, 422)
    if job.total <= INLINE_CHECK_ROWS:
        svc.check(ctx, job.id, staff_origin())
    return redirect(url_for("staff.import_job", job_id=job.id, follow=1))


@bp.get("/imports/<int:job_id>")
@staff_required(staff_rules.ADMIN)
def import_job(job_id: int) -> Any:
    job = svc.get(context(), job_id)
    busy = job.state in ("checking", "queued", "running")
    # Refreshing itself only when asked (?follow=1: where upload and start lead),
    # with a link that stops it: a timed refresh nobody chose fails WCAG 2.2.1.
    follow = request.args.get("follow") == "1"
    return render_template(
        "staff/import_job.html",
        job=job,
        busy=busy,
        refresh=REFRESH_SECONDS if busy and follow else None,
        percent=int(100 * job.position / job.total) if job.total else 100,
        confirm=ConfirmForm(),
    )


@bp.post("/imports/<int:job_id>/start")
@staff_required(staff_rules.ADMIN)
def start_import(job_id: int) -> Any:
    if not ConfirmForm().validate_on_submit():
        raise ValidationFailed({}, "The form was not valid.")
    svc.start(context(), job_id)
    flash(f"Import job {job_id} is queued: the worker (licserver jobs run) runs it.", "info")
    return redirect(url_for("staff.import_job", job_id=job_id, follow=1))


add_nav("staff.imports", "Import", "admin")
