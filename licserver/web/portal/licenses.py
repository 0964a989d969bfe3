"""Licences & Activations: the list, a licence's details and installations,
its secrets, and manual deactivation."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for

from licserver.domain import portal as rules
from licserver.runtime import context
from licserver.services import history as history_service
from licserver.services import portal_licenses as svc
from licserver.web.portal.base import bp, by_me, origin, principal, requires
from licserver.web.portal.forms import ConfirmForm, DeactivateForm


@bp.get("/licenses")
@requires(rules.VIEW)
def licenses() -> Any:
    rows = svc.list_summaries(context(), principal())
    return render_template("portal/licenses.html", licenses=rows)


def _detail(public_id: str, *, key: str | None = None, password: str | None = None) -> Any:
    show_all = request.args.get("all") == "1"
    lic = svc.get(context(), principal(), public_id)
    acts = svc.activations(context(), principal(), public_id, active_only=not show_all)
    # the licence's history chain, checked on every view (services.history)
    check = history_service.verify_license(context(), lic.id)
    return render_template(
        "portal/license.html",
        lic=svc.summary(context(), lic),
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
        lic=svc.summary(context(), lic),
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
        verb = "released" if svc.summary(context(), done.license)["floating"] else "deactivated"
        flash(f"{done.activation.machine_name} is {verb}; its seat is free.", "info")
        return redirect(url_for("portal.license", public_id=public_id))
    summary = svc.summary(context(), lic)
    page = render_template("portal/deactivate.html", lic=summary, act=act, form=form)
    return page, (422 if form.errors else 200)
