"""The customer portal: server-rendered pages under ``/portal``, usable
without JavaScript. Pages parse the form, call a service, render; who may do
what is ``licserver.domain.portal.MATRIX``."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the portal (``web.shared.init_app`` runs first)."""
    from licserver.web.portal.views import bp

    app.register_blueprint(bp)
