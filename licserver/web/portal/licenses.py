"""Licences & Activations: the list, a licence's details and installations,
its secrets, and manual deactivation."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask import flash, redirect, render_template, request, url_for

from licserver.domain import policy as policy_rules
from licserver.domain import portal as rules
from licserver.domain.status import effective_status
from licserver.runtime import context
from licserver.services import history as history_service
from licserver.services import policies as policy_service
from licserver.services import portal_licenses as svc
from licserver.web.portal.base import bp, by_me, origin, principal, requires
from licserver.web.portal.forms import ConfirmForm, DeactivateForm

if TYPE_CHECKING:
    from licserver.models import License


def expiry_text(expires_at: datetime | None, now: datetime) -> str:
    if expires_at is None:
        return "never"
    if expires_at <= now:
        return "expired"
    days = (expires_at - now).days
    if days == 0:
        return "expires today"
    return f"expires in {days} day{'s' if days != 1 else ''}"


def license_view(lic: License) -> dict[str, Any]:
    now = context().now()
    return {
        "id": lic.public_id,
        "product": lic.product.name,
        "product_code": lic.product.code,
        "seats": lic.seats,
        "seats_used": lic.seats_used,
        "expires_at": lic.expires_at,
        "expiry": expiry_text(lic.expires_at, now),
        "status": effective_status(lic.status, lic.expires_at, now),
        "features": list(lic.features or []),
        "created_at": lic.created_at,
        "checkout_url": lic.product.checkout_url,
        **model_view(lic),
    }


def model_view(lic: License) -> dict[str, Any]:
    """The licence model as customers read it (docs/licence-models.md)."""
    s = policy_service.effective(lic)
    return {
        "floating": s.floating,
        "model": "Floating" if s.floating else "Node-locked",
        "trial": s.trial,
        "entitlements": policy_rules.features(s, lic.features),
        "heartbeat": s.heartbeat_required,
        "maintain_access": s.expired_access == policy_rules.MAINTAIN_ACCESS,
    }


@bp.get("/licenses")
@requires(rules.VIEW)
def licenses() -> Any:
    rows = svc.list_licenses(context(), principal())
    return render_template("portal/licenses.html", licenses=[license_view(lic) for lic in rows])


def _detail(public_id: str, *, key: str | None = None, password: str | None = None) -> Any:
    show_all = request.args.get("all") == "1"
    lic = svc.get(context(), principal(), public_id)
    acts = svc.activations(context(), principal(), public_id, active_only=not show_all)
    # the licence's history chain, checked on every view (services.history)
    check = history_service.verify_license(context(), lic.id)
    return render_template(
        "portal/license.html",
        lic=license_view(lic),
        history_problem=check.problem,
        activations=acts,
        show_all=show_all,
        shown_key=key,
        shown_password=password,
        form=ConfirmForm(),
    )


@bp.get("/licenses/<public_id>")
@requires(rules.VIEW)
def license(public_id: str) -> Any:
    return _detail(public_id)


@bp.post("/licenses/<public_id>/reveal")
@requires(rules.SECRETS)
def reveal(public_id: str) -> Any:
    secrets = svc.reveal(context(), origin(), principal(), public_id)
    return _detail(public_id, key=secrets.key, password=secrets.activation_password)


def _confirm(public_id: str, what: str, detail: str, button: str) -> Any:
    lic = svc.get(context(), principal(), public_id)
    return render_template(
        "portal/confirm.html",
        lic=license_view(lic),
        title=what,
        detail=detail,
        button=button,
        form=ConfirmForm(),
    )


@bp.route("/licenses/<public_id>/activation-password", methods=["GET", "POST"])
@requires(rules.REGENERATE)
def regenerate_password(public_id: str) -> Any:
    if request.method == "POST" and ConfirmForm().validate_on_submit():
        password = svc.regenerate_password(context(), origin(), principal(), public_id)
        flash("A new activation password was made; the old one no longer works.", "info")
        return _detail(public_id, password=password)
    return _confirm(
        public_id,
        "New activation password",
        "The current activation password stops working at once for new activations "
        "(installations already activated keep working).",
        "Make a new activation password",
    )


@bp.route("/licenses/<public_id>/key", methods=["GET", "POST"])
@requires(rules.REGENERATE)
def reissue_key(public_id: str) -> Any:
    if request.method == "POST" and ConfirmForm().validate_on_submit():
        key = svc.reissue_key(context(), origin(), principal(), public_id)
        flash("The licence key was reissued; the old key no longer works.", "info")
        return _detail(public_id, key=key)
    return _confirm(
        public_id,
        "Reissue the licence key",
        "The current licence key stops working at once for new activations "
        "(installations already activated keep working).",
        "Reissue the key",
    )


@bp.route("/licenses/<public_id>/installations/<activation_id>/deactivate", methods=["GET", "POST"])
@requires(rules.DEACTIVATE)
def deactivate(public_id: str, activation_id: str) -> Any:
    act = svc.get_activation(context(), principal(), public_id, activation_id)
    lic = svc.get(context(), principal(), public_id)
    form = DeactivateForm()
    if act.deactivated_at is None and request.method == "POST" and form.validate_on_submit():
        done = svc.deactivate(
            context(), origin(), principal(), public_id, activation_id, form.reason.data
        )
        if done.changed:
            svc.notify_deactivated(context(), done, by_me())
        verb = "released" if policy_service.effective(done.license).floating else "deactivated"
        flash(f"{done.activation.machine_name} is {verb}; its seat is free.", "info")
        return redirect(url_for("portal.license", public_id=public_id))
    return render_template("portal/deactivate.html", lic=license_view(lic), act=act, form=form), (
        422 if form.errors else 200
    )
