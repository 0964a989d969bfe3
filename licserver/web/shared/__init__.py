"""What the portal and the console share: CSRF protection, the log-in manager,
the session cookie's settings and the common templates (``templates/pages/``)."""

from __future__ import annotations

from flask import Blueprint, Flask, has_request_context, request
from flask.sessions import SecureCookieSessionInterface
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

login_manager = LoginManager()
csrf = CSRFProtect()

PORTAL_COOKIE = "licserver_portal"
CONSOLE_COOKIE = "licserver_console"
CONSOLE_PREFIX = "/admin"


class SiteSessions(SecureCookieSessionInterface):
    """One signed session cookie per site: pages under ``/admin`` (the console)
    read and write ``licserver_console``, every other path ``licserver_portal``.
    The two sessions are independent: logging in (or out) of one leaves the
    other as it was, and neither cookie opens the other site."""

    def get_cookie_name(self, app: Flask) -> str:
        if has_request_context() and (
            request.path == CONSOLE_PREFIX or request.path.startswith(CONSOLE_PREFIX + "/")
        ):
            return CONSOLE_COOKIE
        return PORTAL_COOKIE


# No routes: it only adds ``templates/pages/`` to the template search path.
bp = Blueprint("web_shared", __name__, template_folder="templates")


def init_app(app: Flask) -> None:
    """Sessions, CSRF and log-in for the sites' blueprints. CSRF is checked on
    the sites' forms only (the JSON API has no cookies to protect)."""
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_NAME"] = PORTAL_COOKIE
    app.session_interface = SiteSessions()
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    # A form left open over lunch still posts; the token lives as long as the session.
    app.config["WTF_CSRF_TIME_LIMIT"] = None
    # No Referer is ever sent (Referrer-Policy: no-referrer): the origin of a
    # post is checked by web.shared.origin instead.
    app.config["WTF_CSRF_SSL_STRICT"] = False
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "portal.login"
    login_manager.login_message = "Please log in to see that page."
    login_manager.login_message_category = "info"
    app.register_blueprint(bp)
    from licserver.web.shared.details import details

    app.add_template_filter(details, "details")
