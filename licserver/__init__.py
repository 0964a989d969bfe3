"""licserver: a self-hosted software licence activation server.

``create_app()`` builds the Flask application: configuration, extensions,
blueprints, error handlers, CLI — nothing else. Serve it with
``gunicorn 'licserver:create_app()'``.
"""

from __future__ import annotations

import gc
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

__all__ = ["create_app"]


def create_app(
    config: dict[str, Any] | None = None, *, create: bool = True, serve: bool = True
) -> Flask:
    """The application. ``create=False`` (the CLI's reading commands): no
    instance folder, SQLite file or secret is created (licserver.config).
    ``serve=False`` (the CLI's own commands): configuration, database, keys,
    mail and logging, without the HTTP side (API, portal, console, rate
    limiter, response headers), which a command never uses and which is half
    of a command's start-up time."""
    # Building the app makes a few hundred thousand objects that live as long
    # as the process: modules, models, routes, the OpenAPI document. The cyclic
    # garbage collector would walk them all, again and again, while the app is
    # built and at every full collection after: a fifth of the start-up of a
    # gunicorn worker or a command. It is paused while the app is built, and
    # what was built is then set aside (gc.freeze), except in the test suite
    # (TESTING), whose one process builds many apps.
    collecting = gc.isenabled()
    gc.disable()
    try:
        app = _build(config, create, serve)
        if not app.testing:
            gc.freeze()
        return app
    finally:
        if collecting:
            gc.enable()


def _build(config: dict[str, Any] | None, create: bool, serve: bool) -> Flask:
    # Imported here, not at the top: ``licserver --help`` imports this package
    # (licserver.cli) and must not pay for Flask, SQLAlchemy and the API.
    from flask import Flask

    from licserver import runtime
    from licserver.config import load_config
    from licserver.database import configure_engine
    from licserver.extensions import db

    instance = os.environ.get("LICSERVER_INSTANCE_DIR") or str(Path.cwd() / "instance")
    app = Flask(__name__, instance_path=instance, instance_relative_config=False)
    load_config(app, config, create=create)
    _configure_logging()
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # machine names as sent
    app.json.sort_keys = False  # type: ignore[attr-defined]

    db.init_app(app)
    with app.app_context():
        configure_engine(db.engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])
    runtime.init_app(app)
    if serve:
        _http_side(app)
    else:
        from licserver import observability

        observability.init_app(app)  # the log format
    return app


def _http_side(app: Flask) -> None:
    """The rate limiter, the API, the portal and console, request logging and
    metrics, the response headers; our commands on ``app.cli``; ProxyFix."""
    from flask_limiter import Limiter
    from flask_limiter.util import get_remote_address
    from werkzeug.middleware.proxy_fix import ProxyFix

    from licserver import cli, observability, security, web
    from licserver.api import Api, register_blueprints

    limiter = Limiter(get_remote_address, app=app, default_limits=[])
    app.extensions["licserver.limiter"] = limiter
    register_blueprints(Api(app), app, limiter)
    web.init_app(app)
    observability.init_app(app)
    security.init_app(app)
    cli.register(app)
    if app.config["PROXY_FIX_X_FOR"]:
        hops = app.config["PROXY_FIX_X_FOR"]
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops
        )


def _configure_logging() -> None:
    """Our INFO messages (mail handed over, keys created) reach stderr when
    nothing else (gunicorn's --log-config, a test runner) has set up logging."""
    log = logging.getLogger("licserver")
    if log.level == logging.NOTSET:
        log.setLevel(logging.INFO)
    if not log.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        log.addHandler(handler)
