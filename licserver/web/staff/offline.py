"""Offline activation for staff: the customer reads a request code out (or
mails it) and staff paste it here for any licence; and an offline deactivation
code frees its seat. The forms and their handling are ``web.shared.offline``,
the portal's too: seats, rules and history of an online activation."""

from __future__ import annotations

from typing import Any

from flask import url_for

from licserver.domain import staff as rules
from licserver.runtime import context
from licserver.services import offline_deactivation as svc
from licserver.web.shared import offline as pages
from licserver.web.staff.base import add_nav, bp, staff_origin, staff_required

# Installation management: what support and admins both do (matrix: ``deactivate``).


@bp.route("/offline", methods=["GET", "POST"])
@staff_required(action=rules.DEACTIVATE)
def offline_activate() -> Any:
    return pages.activate_page("staff/offline_activate.html", staff_origin())


@bp.post("/offline/certificate")
@staff_required(action=rules.DEACTIVATE)
def offline_download() -> Any:
    return pages.certificate_download()


@bp.route("/offline/deactivate", methods=["GET", "POST"])
@staff_required(action=rules.DEACTIVATE)
def offline_deactivate() -> Any:
    return pages.deactivate_page(
        "staff/offline_deactivate.html",
        lambda code: svc.deactivate_offline(context(), staff_origin(), code),
        lambda done: url_for("staff.license", public_id=done.license_id),
    )


add_nav("staff.offline_activate", "Offline activation")
