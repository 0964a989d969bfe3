"""What the portal and the console share: CSRF protection, the log-in manager,
the session cookie's settings and the common templates (``templates/pages/``)."""

from __future__ import annotations

from flask import Blueprint, Flask
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

login_manager = LoginManager()
csrf = CSRFProtect()

# No routes: it only adds ``templates/pages/`` to the template search path.
bp = Blueprint("web_shared", __name__, template_folder="templates")


def init_app(app: Flask) -> None:
    """Sessions, CSRF and log-in for the sites' blueprints. CSRF is checked on
    the sites' forms only (the JSON API has no cookies to protect)."""
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
    app.register_blueprint(bp)
