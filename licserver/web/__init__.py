"""The HTML sites: ``web.portal`` (customers, ``/portal``) and ``web.staff``
(the vendor's console, ``/admin``), both built on ``web.shared``."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The shared set-up first (CSRF, log-in, the common templates), then each site."""
    from licserver.web import csp_report, portal, shared, staff

    csp_report.init_app(app)
    shared.init_app(app)
    portal.init_app(app)
    staff.init_app(app)
