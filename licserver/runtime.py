"""Per-process objects the services need, built once from the app's config."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app, request

from licserver.crypto import Box, load_or_create_data_key
from licserver.extensions import db
from licserver.models import utcnow
from licserver.services import Actor, Origin
from licserver.services.context import Clock, Context
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
        # What the services' contexts read as now (ctx.now()); a test may set it.
        self.clock: Clock = utcnow

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


def context(app: Flask | None = None, *, create_data_key: bool = False) -> Context:
    """The services' context for the current app (its session, keyring, data
    box, mailer and settings). With ``create_data_key`` opening the data box
    creates the data key when it is missing (``licserver init``)."""
    rt = runtime(app)
    return Context(
        session=db.session(),
        keyring=rt.keyring,
        settings=rt.settings,
        mailer=rt.mailer,
        open_box=(lambda: rt.box(create=True)) if create_data_key else rt.box,
        clock=rt.clock,
    )


def end_session() -> None:
    """Drop this thread's session (its connection back to the pool)."""
    db.session.remove()


def close_database() -> None:
    """End this process's database use: the session and its pooled connections
    (a command that exits early would otherwise leave them unclosed)."""
    end_session()
    db.engine.dispose()


def storage(app: Flask | None = None) -> Storage:
    """Where release artifacts are kept (RELEASES_STORAGE), built once."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    return runtime(app).storage(app)


def origin(actor: Actor) -> Origin:
    return Origin(actor=actor, ip=request.remote_addr)
