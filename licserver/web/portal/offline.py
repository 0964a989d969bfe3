"""A licence's offline pages (the forms and their handling are
``web.shared.offline``): only for those the matrix allows ``offline``, only for
the account's own licences, and only for codes of that licence."""

from __future__ import annotations

from typing import Any

from flask import url_for

from licserver.domain import portal as rules
from licserver.runtime import context
from licserver.services import portal_licenses
from licserver.web.portal.base import bp, by_me, origin, principal, requires
from licserver.web.shared import offline as pages


def _licence(public_id: str) -> dict[str, Any]:
    # NotFound (404) for another account's licence, as everywhere in the portal.
    return {"lic": portal_licenses.get_summary(context(), principal(), public_id)}


@bp.route("/licenses/<public_id>/offline", methods=["GET", "POST"])
@requires(rules.OFFLINE)
def offline_activate(public_id: str) -> Any:
    _licence(public_id)
    return pages.activate_page(
        "portal/offline_activate.html",
        origin(),
        license_id=public_id,
        page=lambda: _licence(public_id),
    )


@bp.post("/licenses/<public_id>/offline/certificate")
@requires(rules.OFFLINE)
def offline_download(public_id: str) -> Any:
    _licence(public_id)
    return pages.certificate_download(license_id=public_id)


@bp.route("/licenses/<public_id>/offline/deactivate", methods=["GET", "POST"])
@requires(rules.OFFLINE)
def offline_deactivate(public_id: str) -> Any:
    return pages.deactivate_page(
        "portal/offline_deactivate.html",
        lambda code: portal_licenses.deactivate_offline(
            context(), origin(), principal(), public_id, code, by=by_me()
        ),
        lambda done: url_for("portal.license", public_id=public_id),
        **_licence(public_id),
    )
