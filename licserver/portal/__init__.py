"""The customer portal: server-rendered pages under ``/portal``, usable
without JavaScript. Pages parse the form, call a service, render; who may do
what is ``licserver.domain.portal.MATRIX``."""

from __future__ import annotations

from flask import Flask
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

login_manager = LoginManager()
csrf = CSRFProtect()


def init_app(app: Flask) -> None:
    """Sessions, CSRF and log-in for the portal's blueprint. CSRF is checked on
    the portal's forms only (the JSON API has no cookies to protect)."""
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_NAME"] = "licserver_portal"
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    # A form left open over lunch still posts; the token lives as long as the session.
    app.config["WTF_CSRF_TIME_LIMIT"] = None
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "portal.login"
    login_manager.login_message = "Please log in to see that page."
    login_manager.login_message_category = "info"

    from licserver.portal.views import bp

    app.register_blueprint(bp)
