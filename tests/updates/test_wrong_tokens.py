"""Wrong tokens on update checks and feeds, over real HTTP (gunicorn with the
failed-attempt budget on): counted as check-in counts a wrong activation
token — a refusal in the licence's history (``update.refused``, reason
INVALID_CREDENTIALS) — and, like check-in's, outside the password budget: they
neither spend it nor are shut out by its lock-out (docs/api.md, "Wrong tokens
on update checks and feeds")."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import httpx

from tests.live import LiveServer
from tests.support import loopback
from tests.support.factory import Factory
from tests.updates.helpers import activate, ask, ok, release

LIMIT = 2
BUDGET = {"LICSERVER_RATE_LIMITS": "on", "LICSERVER_FAILED_ATTEMPTS_LIMIT": str(LIMIT)}


def _events(staff: httpx.Client, licence_id: str, kind: str) -> list[dict[str, Any]]:
    items = ok(staff.get(f"/api/v1/licenses/{licence_id}/events"))["items"]
    return [e for e in items if e["kind"] == kind]


def _by_password(http: httpx.Client, lic: Any, password: str) -> httpx.Response:
    body = {
        "license_id": lic.id,
        "activation_password": password,
        "installation_id": secrets.token_hex(16),
        "machine_name": "test-pc",
    }
    return http.post("/api/v1/activations", json=body)


def test_wrong_update_and_feed_tokens_are_counted_like_checkins(
    start_server: Callable[..., LiveServer],
    admin_token: str,
    factory: Factory,
) -> None:
    server = start_server(workers=1, env=BUDGET)
    product = factory.product("APP")
    lic = factory.license(product)
    with server.client(admin_token) as staff, server.client() as http:
        release(staff, product, "1.1.0", platform="macos")
        aid, token = activate(http, lic.key)
        feed_token = f"/api/v1/activations/{aid}/feed-token"
        feed = ok(http.post(feed_token, json={"activation_token": token}))
        appcast = feed["feeds"]["sparkle"]

        # more wrong tokens than the budget allows: each one 401, never 429
        for _ in range(LIMIT + 1):
            r = ask(http, (aid, "wrong-token"), "1.0.0")
            assert r.status_code == 401 and r.json()["code"] == "INVALID_CREDENTIALS"
            assert http.post(feed_token, json={"activation_token": "x"}).status_code == 401
            forged = appcast.replace(feed["feed_token"], "A" * len(feed["feed_token"]))
            assert loopback.get(forged).status_code == 401
        refused = _events(staff, lic.id, "update.refused")
        assert len(refused) == 3 * (LIMIT + 1)
        assert {e["reason"] for e in refused} == {"INVALID_CREDENTIALS"}
        assert {e["data"]["why"] for e in refused} == {"wrong activation token", "wrong feed token"}
        assert {e["activation_id"] for e in refused} == {aid}
        # an unknown activation names no licence: nothing to record, the same 401
        assert ask(http, ("A-unknown", token), "1.0.0").status_code == 401

        # the password budget is untouched: the right password still activates
        assert _by_password(http, lic, lic.activation_password).status_code == 201
        # spent by wrong passwords, it shuts out passwords, not installations
        for _ in range(LIMIT):
            assert _by_password(http, lic, "WRONG-WRONG-WRONG").status_code == 401
        assert _by_password(http, lic, lic.activation_password).status_code == 429
        update = ok(ask(http, (aid, token), "1.0.0", platform="macos"))["update"]
        assert update["version"] == "1.1.0"
        assert loopback.get(appcast).status_code == 200
