"""Admin API tokens: create (the token is shown once), list, revoke."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for

from licserver.domain import staff as rules
from licserver.domain.errors import ValidationFailed
from licserver.runtime import context
from licserver.services import tokens as token_service
from licserver.web.staff.base import add_nav, bp, staff_origin, staff_required
from licserver.web.staff.forms import ConfirmForm, TokenForm


def _page(form: TokenForm, shown: str | None = None, status: int = 200) -> Any:
    return render_template(
        "staff/tokens.html",
        tokens=token_service.list_tokens(context()),
        form=form,
        confirm=ConfirmForm(),
        shown=shown,
    ), status


@bp.get("/tokens")
@staff_required(action=rules.TOKENS)
def tokens() -> Any:
    return _page(TokenForm())


@bp.post("/tokens")
@staff_required(action=rules.TOKENS)
def create_token() -> Any:
    form = TokenForm()
    if not form.validate_on_submit():
        return _page(form, status=422)
    row, text = token_service.create(context(), form.name.data, form.scope.data, staff_origin())
    flash(f"Token “{row.name}” created. Copy it now: it is not shown again.", "info")
    return _page(TokenForm(formdata=None), shown=text)


@bp.post("/tokens/<public_id>/revoke")
@staff_required(action=rules.TOKENS)
def revoke_token(public_id: str) -> Any:
    if not ConfirmForm().validate_on_submit():
        raise ValidationFailed({}, "The form was not valid.")
    row = token_service.revoke(context(), public_id, staff_origin())
    flash(f"Token “{row.name}” is revoked: it no longer authenticates.", "info")
    return redirect(url_for("staff.tokens"))


add_nav("staff.tokens", "API tokens", rules.ADMIN)
