"""Console pages: a product's policies, with a dry run before a change is saved;
and a licence's model (its policy, a renewal, a trial's conversion).

Settings are edited as ``key = value`` lines (values in JSON: numbers, true,
"text", ["lists"]), the same names as the admin API and ``licserver policies``;
the page lists every setting with its default and meaning. Support sees
policies; admins change them."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from flask import flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import Length, Optional

from licserver.domain import policy as policy_rules
from licserver.domain import staff as rules
from licserver.domain.errors import LicenseServerError, ValidationFailed
from licserver.runtime import context
from licserver.services import license_changes
from licserver.services import policies as svc
from licserver.services import policy_views as views
from licserver.web.shared.forms import ConfirmForm, field_errors
from licserver.web.staff.base import add_nav, bp, staff_origin, staff_required
from licserver.web.staff.forms import RenewForm

if TYPE_CHECKING:
    from licserver.models.policy import Policy

# What each setting means, for the page (docs/licence-models.md has the whole story).
HELP = {
    "model": "node_locked (a seat per machine until deactivated) or floating (running at once)",
    "lease_ttl": "floating: seconds a lease lasts without a check-in",
    "heartbeat_required": "node-locked: machines must check in",
    "heartbeat_interval": "seconds between check-ins the SDK is asked for",
    "inactive_after": "seconds of silence before a machine is marked inactive",
    "free_seat_when_inactive": "free the seat of an inactive machine (deactivate it)",
    "expiry_basis": "fixed, from_issue or from_first_activation",
    "duration_days": "length for the relative expiry bases and renewals",
    "fixed_expiry": 'every licence ends then, e.g. "2027-12-31T23:59:59Z"',
    "expired_access": "revoke_access, or maintain_access for versions released before expiry",
    "renewal_basis": "from_expiry or from_now",
    "trial": "a trial: one per machine per product",
    "features": 'entitlements, e.g. ["export", "render"]',
    "transfer_budget": 'client/portal deactivations allowed, e.g. "3 per 30 days", or "off"',
    "fingerprint_matches": "secondary identifiers that must match to move an activation (0: off)",
    "enforcement": "enforce, or report_only (nothing refused; would-be refusals recorded)",
}


class PolicyForm(FlaskForm):  # type: ignore[misc]
    name = StringField("Name", validators=[Length(1, 64)])
    settings = TextAreaField(
        "Settings (key = value, one per line; values in JSON)",
        validators=[Optional(), Length(max=10000)],
        render_kw={"rows": 8, "class": "mono", "spellcheck": "false"},
    )


def parse_lines(text: str) -> dict[str, Any]:
    """``key = value`` lines into settings; ValidationFailed naming the bad lines."""
    out: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for n, line in enumerate((text or "").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, raw = line.partition("=")
        key, raw = key.strip(), raw.strip()
        if not sep or not key:
            errors[f"line {n}"] = [f"Write key = value, not {line!r}."]
            continue
        try:
            out[key] = json.loads(raw)
        except ValueError:
            out[key] = raw  # a bare word: text
    if errors:
        raise ValidationFailed(errors)
    return out


def lines_of(stored: dict[str, Any]) -> str:
    return "\n".join(f"{k} = {json.dumps(v)}" for k, v in stored.items())


def _form_errors(form: PolicyForm, exc: LicenseServerError) -> None:
    field_errors(form, exc, default="settings", prefix="settings.")


def _list_page(code: str | None, form: PolicyForm | None = None, status: int = 200) -> Any:
    session = context()
    products = views.products(session)
    if code is None and products:
        code = products[0].code
    rows = views.product_policies(context(), code) if code else []
    return render_template(
        "staff/policies.html",
        products=products,
        code=code,
        rows=rows,
        form=form or PolicyForm(formdata=None),
        defaults=policy_rules.DEFAULTS.to_json(),
        help=HELP,
    ), status


@bp.get("/policies")
@staff_required()
def policies() -> Any:
    return _list_page(request.args.get("product") or None)


@bp.post("/policies/<code>")
@staff_required(rules.ADMIN)
def create_policy(code: str) -> Any:
    form = PolicyForm()
    if not form.validate_on_submit():
        return _list_page(code, form, 422)
    try:
        pol = svc.create(
            context(),
            staff_origin(),
            product=code,
            name=(form.name.data or "").strip(),
            settings=parse_lines(form.settings.data or ""),
        )
    except ValidationFailed as exc:
        if "name" in exc.errors:
            form.name.errors = exc.errors["name"]
        else:
            _form_errors(form, exc)
        return _list_page(code, form, 422)
    except LicenseServerError as exc:
        field_errors(form, exc, default="name")
        return _list_page(code, form, 422)
    flash(f"Policy {pol.name} ({pol.public_id}) created.", "info")
    return redirect(url_for("staff.policy", public_id=pol.public_id))


def _policy_page(
    pol: Policy,
    form: PolicyForm | None = None,
    preview: svc.PolicyChange | None = None,
    status: int = 200,
) -> Any:
    session = context()
    form = form or PolicyForm(
        formdata=None, name=pol.name, settings=lines_of(dict(pol.settings or {}))
    )
    licences = views.policy_licences(session, pol)
    return render_template(
        "staff/policy.html",
        pol=pol,
        settings=svc.settings_of(pol).to_json(),
        licences=licences,
        form=form,
        preview=preview,
        help=HELP,
        defaults=policy_rules.DEFAULTS.to_json(),
    ), status


@bp.get("/policies/p/<public_id>")
@staff_required()
def policy(public_id: str) -> Any:
    return _policy_page(svc.get(context(), public_id))


@bp.post("/policies/p/<public_id>")
@staff_required(rules.ADMIN)
def change_policy(public_id: str) -> Any:
    """The first submit shows the dry run; "Save" (save=1) applies it."""
    pol = svc.get(context(), public_id)
    form = PolicyForm()
    if not form.validate_on_submit():
        return _policy_page(pol, form, status=422)
    save = request.form.get("save") == "1"
    try:
        wanted = parse_lines(form.settings.data or "")
        # the form holds the whole settings: what it leaves out returns to its default
        changes: dict[str, Any] = {k: None for k in (pol.settings or {}) if k not in wanted}
        changes.update(wanted)
        change = svc.update(
            context(),
            staff_origin(),
            public_id,
            name=(form.name.data or "").strip(),
            settings=changes,
            dry_run=not save,
        )
    except LicenseServerError as exc:
        _form_errors(form, exc)
        return _policy_page(svc.get(context(), public_id), form, status=422)
    if not save:
        return _policy_page(svc.get(context(), public_id), form, preview=change)
    flash(
        f"Policy {change.policy.name} saved: "
        + (", ".join(change.changed) if change.changed else "nothing changed")
        + f"; {len(change.affected)} machine(s) affected now (the sweeper acts on them).",
        "info",
    )
    return redirect(url_for("staff.policy", public_id=public_id))


# ---- a licence's model ---------------------------------------------------------


@bp.post("/licenses/<public_id>/policy")
@staff_required(action=rules.CHANGE_TERMS)
def set_licence_policy(public_id: str) -> Any:
    ref = (request.form.get("policy") or "").strip() or None
    ConfirmForm().validate_on_submit() or _csrf_failed()
    lic = license_changes.update(context(), staff_origin(), public_id, {"policy": ref})
    flash(
        f"Licence {lic.public_id} follows {lic.policy.name if lic.policy else 'no policy'}.", "info"
    )
    return redirect(url_for("staff.license", public_id=public_id))


@bp.post("/licenses/<public_id>/renew")
@staff_required(action=rules.CHANGE_TERMS)
def renew_licence(public_id: str) -> Any:
    form = RenewForm()
    if not form.validate_on_submit():
        raise ValidationFailed({k: list(v) for k, v in form.errors.items()}, "Days: 1 to 36500.")
    lic = license_changes.renew(context(), staff_origin(), public_id, form.days.data)
    assert lic.expires_at is not None
    flash(f"Licence {lic.public_id} renewed to {lic.expires_at.strftime('%Y-%m-%d')}.", "info")
    return redirect(url_for("staff.license", public_id=public_id))


@bp.post("/licenses/<public_id>/convert")
@staff_required(action=rules.CHANGE_TERMS)
def convert_licence(public_id: str) -> Any:
    ref = (request.form.get("policy") or "").strip()
    ConfirmForm().validate_on_submit() or _csrf_failed()
    if not ref:
        raise ValidationFailed({"policy": ["Choose the paid policy."]})
    lic = license_changes.convert(context(), staff_origin(), public_id, policy=ref)
    flash(
        f"Licence {lic.public_id} converted to {lic.policy.name if lic.policy else ref}; "
        "its installations keep working.",
        "info",
    )
    return redirect(url_for("staff.license", public_id=public_id))


def _csrf_failed() -> bool:
    raise ValidationFailed({}, "The form was not valid (expired page?). Reload and try again.")


add_nav("staff.policies", "Policies")
