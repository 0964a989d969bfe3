"""Per-process objects the services need, built once from the app's config."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app, request

from licserver.crypto import Box, load_or_create_data_key
from licserver.domain.budget import Budget, parse_budget
from licserver.extensions import db
from licserver.services import Actor, Deps, Origin
from licserver.services.keys import Keyring
from licserver.services.mail import MailSettings
from licserver.services.notices import Mailer
from licserver.storage import Storage
from licserver.storage import from_config as storage_from_config

_KEY = "licserver.runtime"


class Runtime:
    def __init__(self, app: Flask) -> None:
        keys_dir = Path(app.config["KEYS_DIR"])
        self.keyring = Keyring(
            keys_dir, app.config["KEY_PASSPHRASE"], float(app.config["KEY_REFRESH_SECONDS"])
        )
        self._keys_dir = keys_dir
        self._data_key_setting = str(app.config["DATA_KEY"])
        self._box: Box | None = None
        self._storage: Storage | None = None
        self.failed_limit: int | None = int(app.config["FAILED_ATTEMPTS_LIMIT"])
        if app.config["RATE_LIMITS"] == "off":
            self.failed_limit = None
        self.failed_window = int(app.config["FAILED_ATTEMPTS_WINDOW_SECONDS"])
        # Parsed and checked at start-up by licserver.security (a ConfigError there).
        self.deactivation_budget: Budget | None = parse_budget(app.config["DEACTIVATION_BUDGET"])

    def storage(self, app: Flask) -> Storage:
        if self._storage is None:
            self._storage = storage_from_config(app.config)
        return self._storage

    def box(self, create: bool = False) -> Box:
        if self._box is None:
            self._box = Box(load_or_create_data_key(self._keys_dir, self._data_key_setting, create))
        return self._box


def init_app(app: Flask) -> None:
    app.extensions[_KEY] = Runtime(app)


def runtime(app: Flask | None = None) -> Runtime:
    rt: Runtime = (app or current_app).extensions[_KEY]
    return rt


def deps(app: Flask | None = None) -> Deps:
    rt = runtime(app)
    return Deps(
        session=db.session(),
        keyring=rt.keyring,
        box=rt.box(),
        failed_attempts_limit=rt.failed_limit,
        failed_attempts_window=rt.failed_window,
        deactivation_budget=rt.deactivation_budget,
    )


def storage(app: Flask | None = None) -> Storage:
    """Where release artifacts are kept (RELEASES_STORAGE), built once."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    return runtime(app).storage(app)


def mailer(app: Flask | None = None) -> Mailer:
    """Sends the notices (SMTP settings and PUBLIC_URL from the config), for
    pages, API views and CLI commands alike."""
    app = app or current_app
    cfg = app.config
    return Mailer(MailSettings.from_config(cfg, app.instance_path), cfg["PUBLIC_URL"])


def origin(actor: Actor) -> Origin:
    return Origin(actor=actor, ip=request.remote_addr)
