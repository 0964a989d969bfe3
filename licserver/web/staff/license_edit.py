"""A licence's terms on one page: seats, expiry, features, policy, through the
licence service's ``update`` (the admin API's PATCH), with the refusals at the
fields. The product stays: a licence key names it."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for

from licserver.domain import staff as rules
from licserver.domain.errors import LicenseServerError
from licserver.runtime import context
from licserver.services import license_changes
from licserver.services import licenses as license_service
from licserver.services import policy_views as views
from licserver.web.shared.forms import choices, field_errors
from licserver.web.staff.base import bp, staff_origin, staff_required
from licserver.web.staff.licenses import end_of_day
from licserver.web.staff.office_forms import LicenseEditForm, feature_list


def _page(form: LicenseEditForm, lic: Any, status: int = 200) -> Any:
    return render_template("staff/license_form.html", form=form, lic=lic), status


@bp.route("/licenses/<public_id>/edit", methods=["GET", "POST"])
@staff_required(action=rules.CHANGE_TERMS)
def edit_license(public_id: str) -> Any:
    lic = license_service.get(context(), public_id)
    form = LicenseEditForm(
        data={
            "seats": lic.seats,
            "expires_on": lic.expires_at.date() if lic.expires_at else None,
            "features": "\n".join(lic.features or []),
            "policy": lic.policy.public_id if lic.policy else "",
        }
        if request.method == "GET"
        else None
    )
    model = views.licence_model(context(), lic)
    form.policy.choices = choices(
        [("", "none (node-locked defaults)"), *[(p.public_id, p.name) for p in model.policies]]
    )
    if not form.is_submitted():
        return _page(form, lic)
    if not form.validate():
        return _page(form, lic, 422)
    changes = {
        "seats": form.seats.data,
        "expires_at": end_of_day(form.expires_on.data),
        "features": feature_list(form.features.data),
        "policy": form.policy.data or None,
    }
    try:
        lic = license_changes.update(context(), staff_origin(), lic.public_id, changes)
    except LicenseServerError as exc:
        fields = {"policy_overrides": "policy"}
        status = field_errors(
            form, exc, default="policy", fields=fields, prefix="policy_overrides."
        )
        return _page(form, license_service.get(context(), public_id), status)
    flash(f"Licence {lic.public_id} saved.", "info")
    return redirect(url_for("staff.license", public_id=lic.public_id))
