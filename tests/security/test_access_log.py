"""No token of an invitation link reaches gunicorn's access log: not in the
request line of the page, not in the Referer of the requests that follow it."""

from __future__ import annotations

import re
import time

from flask import Flask

from licserver.runtime import context
from licserver.services import customers as customer_service
from tests.live import LiveServer
from tests.support.database import TestDatabase
from tests.support.factory import Factory

# The README's deployment (make run): the default access-log format (it prints
# the Referer) through licserver's logger class.
DEPLOYED = "--access-logfile - --logger-class licserver.gunicorn_logging.RedactingLogger"
STYLESHEET = re.compile(r'<link[^>]+href="([^"]+\.css[^"]*)"')


def test_invitation_token_never_reaches_the_access_log(
    app: Flask, factory: Factory, test_database: TestDatabase
) -> None:
    number = factory.customer(email="owner@leak.test", name="Leak Ltd")
    token = customer_service.add_user(
        context(),
        number,
        email="new@leak.test",
        name="New User",
        role="basic",
        licenses=None,
        invitation_ttl_hours=72,
    ).token
    server = LiveServer(test_database, 1, env={"GUNICORN_CMD_ARGS": DEPLOYED})
    try:
        with server.client() as http:
            page = http.get(f"/portal/invitation/{token}")
            assert page.status_code == 200
            assert page.headers["Referrer-Policy"] == "no-referrer"
            css = STYLESHEET.search(page.text)
            assert css, page.text
            # A browser honouring the policy sends no Referer; one that does not
            # (or a proxy adding it) must not put the token in the log either.
            url = str(page.url)
            assert http.get(css.group(1), headers={"Referer": url}).status_code == 200
            assert http.get("/favicon.ico", headers={"Referer": url}).status_code in (200, 404)
            http.get(f"/portal/login?token={token}", headers={"Referer": url})
            assert http.get("/healthz").status_code == 200  # the last line
        deadline = time.monotonic() + 10
        while "GET /healthz" not in server.log() and time.monotonic() < deadline:
            time.sleep(0.05)
        log = server.log()
        assert "GET /portal/invitation/[redacted]" in log, log
        assert '/portal/invitation/[redacted]"' in log, log  # the Referer field
        assert token not in log, log
    finally:
        server.stop()
