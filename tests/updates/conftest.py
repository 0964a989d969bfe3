"""Updates over real HTTP: the SDK tests' gunicorn (``server``) and the admin
API through it (``staff``); helpers in tests/updates/helpers.py."""

from tests.sdk.conftest import (  # noqa: F401  (fixtures)
    _sdk_servers,
    server,
    staff,
)
