"""Per-process objects the services need, built once from the app's config."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app, request

from licserver.crypto import Box, load_or_create_data_key
from licserver.extensions import db
from licserver.services import Actor, Origin
from licserver.services.context import Context
from licserver.services.keys import Keyring
from licserver.services.notices import Mailer
from licserver.services.settings import Settings
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
        self.settings = Settings.from_config(app.config, app.instance_path)
        self.mailer = Mailer(self.settings.mail, self.settings.public_url)

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


def context(app: Flask | None = None) -> Context:
    """The services' context for the current app (its session, keyring, data
    box, mailer and settings)."""
    rt = runtime(app)
    return Context(
        session=db.session(),
        keyring=rt.keyring,
        settings=rt.settings,
        mailer=rt.mailer,
        open_box=rt.box,
    )


def storage(app: Flask | None = None) -> Storage:
    """Where release artifacts are kept (RELEASES_STORAGE), built once."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    return runtime(app).storage(app)


def origin(actor: Actor) -> Origin:
    return Origin(actor=actor, ip=request.remote_addr)
