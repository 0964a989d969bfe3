"""The webhook admin API: register, read, change, remove; the delivery log;
test pings and retries; scopes and bad input."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from licserver.domain import webhooks as rules
from licserver.runtime import context
from licserver.services import tokens as token_service
from tests.api.helpers import activated, assert_problem, by_password
from tests.support.factory import AdminClient, Factory
from tests.webhooks.helpers import Worker
from tests.webhooks.receiver import Receiver


def _create(admin: AdminClient, url: str, **kw: Any) -> dict[str, Any]:
    r = admin.post("/api/v1/webhooks", json={"url": url, "events": ["*"], **kw})
    assert r.status_code == 201, r.get_json()
    body: dict[str, Any] = r.get_json()
    return body


def test_crud(admin: AdminClient) -> None:
    created = _create(
        admin,
        "https://crm.example.com/hooks",
        events=["activation.*", "license.revoked", "activation.*"],
        description="CRM",
    )
    assert rules.WEBHOOK_ID_RE.match(created["id"])
    assert created["secret"].startswith("whsec_")
    assert created["events"] == ["activation.*", "license.revoked"]
    assert (created["enabled"], created["include_ip"], created["description"]) == (
        True,
        False,
        "CRM",
    )
    wid = created["id"]

    shown = admin.get(f"/api/v1/webhooks/{wid}").get_json()
    assert "secret" not in shown
    assert shown == {k: v for k, v in created.items() if k != "secret"}
    listed = admin.get("/api/v1/webhooks").get_json()
    assert listed["items"] == [shown] and listed["next_cursor"] is None

    r = admin.patch(
        f"/api/v1/webhooks/{wid}",
        json={
            "events": ["*"],
            "enabled": False,
            "url": "https://crm.example.com/v2",
            "description": None,
        },
    )
    assert r.status_code == 200, r.get_json()
    changed = r.get_json()
    assert (changed["events"], changed["enabled"], changed["url"]) == (
        ["*"],
        False,
        "https://crm.example.com/v2",
    )
    assert changed["description"] is None and "secret" not in changed

    rotated = admin.post(f"/api/v1/webhooks/{wid}/secret").get_json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != created["secret"]

    r = admin.delete(f"/api/v1/webhooks/{wid}")
    assert r.status_code == 204 and r.get_data() == b""
    assert_problem(admin.get(f"/api/v1/webhooks/{wid}"), 404, "NOT_FOUND")
    assert_problem(admin.delete(f"/api/v1/webhooks/{wid}"), 404, "NOT_FOUND")
    assert_problem(admin.get(f"/api/v1/webhooks/{wid}/deliveries"), 404, "NOT_FOUND")
    assert admin.get("/api/v1/webhooks").get_json()["items"] == []


BAD_BODIES: list[tuple[dict[str, Any], str]] = [
    ({"url": "ftp://example.com/x", "events": ["*"]}, "url"),
    ({"url": "https://user:pw@example.com/x", "events": ["*"]}, "url"),
    ({"url": "https://example.com/x", "events": []}, "events"),
    ({"url": "https://example.com/x", "events": ["Activation.Created"]}, "events"),
    ({"url": "https://example.com/x", "events": "*"}, "events"),
    ({"url": "https://example.com/x"}, "events"),
    ({"events": ["*"]}, "url"),
    ({"url": "https://example.com/x", "events": ["*"], "secret": "mine"}, "secret"),
    ({"url": "https://example.com/x", "events": ["*"], "enabled": "maybe"}, "enabled"),
]


def test_bad_input_is_refused(admin: AdminClient) -> None:
    # one app for every case: setting up the database is the slow part
    for body, field in BAD_BODIES:
        r = admin.post("/api/v1/webhooks", json=body)
        problem = assert_problem(r, 422, "VALIDATION_FAILED")
        assert field in problem["errors"], (body, problem)
    assert admin.get("/api/v1/webhooks").get_json()["items"] == []


def test_patch_is_checked_too(admin: AdminClient) -> None:
    wid = _create(admin, "https://crm.example.com/hooks")["id"]
    problem = assert_problem(
        admin.patch(f"/api/v1/webhooks/{wid}", json={"url": "gopher://x"}), 422, "VALIDATION_FAILED"
    )
    assert "url" in problem["errors"]
    assert admin.get(f"/api/v1/webhooks/{wid}").get_json()["url"] == "https://crm.example.com/hooks"


def test_scopes(client: FlaskClient, admin: AdminClient) -> None:
    wid = _create(admin, "https://crm.example.com/hooks")["id"]
    for scope in ("read", "licenses"):
        _, token = token_service.create(context(), f"{scope}-token", scope)
        headers = {"Authorization": f"Bearer {token}"}
        assert client.get("/api/v1/webhooks", headers=headers).status_code == 200
        assert client.get(f"/api/v1/webhooks/{wid}/deliveries", headers=headers).status_code == 200
        for method, path, body in [
            ("POST", "/api/v1/webhooks", {"url": "https://a.example.com/", "events": ["*"]}),
            ("PATCH", f"/api/v1/webhooks/{wid}", {"enabled": False}),
            ("DELETE", f"/api/v1/webhooks/{wid}", None),
            ("POST", f"/api/v1/webhooks/{wid}/test", None),
            ("POST", f"/api/v1/webhooks/{wid}/secret", None),
            ("POST", f"/api/v1/webhooks/{wid}/deliveries/1/retry", None),
        ]:
            r = client.open(path, method=method, json=body, headers=headers)
            assert_problem(r, 403, "FORBIDDEN")
    r = client.get("/api/v1/webhooks")
    assert_problem(r, 401, "UNAUTHORIZED")
    # nothing changed
    shown = admin.get(f"/api/v1/webhooks/{wid}").get_json()
    assert shown["enabled"] is True
    assert len(admin.get("/api/v1/webhooks").get_json()["items"]) == 1


@pytest.fixture
def private_refused(app_config: dict[str, Any]) -> None:
    app_config["WEBHOOK_ALLOW_PRIVATE"] = False


@pytest.mark.usefixtures("private_refused")
def test_private_addresses_are_refused_by_default(app: Any, admin: AdminClient) -> None:
    for url in ("http://127.0.0.1:8080/hook", "http://169.254.169.254/", "http://[::1]/x"):
        r = admin.post("/api/v1/webhooks", json={"url": url, "events": ["*"]})
        assert "url" in assert_problem(r, 422, "VALIDATION_FAILED")["errors"]


def test_ping_and_retry_now(
    client: FlaskClient,
    admin: AdminClient,
    factory: Factory,
    receiver: Receiver,
    worker: Worker,
) -> None:
    lic = factory.license()
    created = _create(admin, receiver.url + "/ping")
    wid, secret = created["id"], created["secret"]

    r = admin.post(f"/api/v1/webhooks/{wid}/test")
    assert r.status_code == 200, r.get_json()
    ping = r.get_json()
    assert (ping["type"], ping["status"], ping["event_id"], ping["last_status_code"]) == (
        "ping",
        "delivered",
        None,
        200,
    )
    [sent] = receiver.requests
    assert sent.json["type"] == "ping" and sent.json["data"]["webhook_id"] == wid
    t = int(sent.headers[rules.SIGNATURE_HEADER].split(",")[0][2:])
    assert rules.verify(secret, sent.headers[rules.SIGNATURE_HEADER], sent.body, now=t)

    # a ping that fails is not retried by the worker
    receiver.statuses.append(500)
    failed = admin.post(f"/api/v1/webhooks/{wid}/test").get_json()
    assert (failed["status"], failed["last_status_code"], failed["next_attempt_at"]) == (
        "failed",
        500,
        None,
    )

    # an event delivery that failed, retried by hand at once
    activated(client, by_password(lic))
    receiver.statuses.append(502)
    assert worker.deliver().retrying == 1
    [pending] = admin.get(f"/api/v1/webhooks/{wid}/deliveries?status=pending").get_json()["items"]
    r = admin.post(f"/api/v1/webhooks/{wid}/deliveries/{pending['id']}/retry")
    assert r.status_code == 200, r.get_json()
    retried = r.get_json()
    assert (retried["status"], retried["attempts"]) == ("delivered", 2)
    assert [a["status_code"] for a in retried["attempt_log"]] == [502, 200]
    assert_problem(
        admin.post(f"/api/v1/webhooks/{wid}/deliveries/{pending['id']}/retry"), 409, "CONFLICT"
    )
    assert_problem(admin.post(f"/api/v1/webhooks/{wid}/deliveries/999999/retry"), 404, "NOT_FOUND")

    log = admin.get(f"/api/v1/webhooks/{wid}/deliveries").get_json()["items"]
    assert [(d["type"], d["status"]) for d in log] == [
        ("activation.created", "delivered"),
        ("ping", "failed"),
        ("ping", "delivered"),
    ]  # newest first
    page = admin.get(f"/api/v1/webhooks/{wid}/deliveries?limit=2").get_json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = admin.get(f"/api/v1/webhooks/{wid}/deliveries?limit=2&cursor={page['next_cursor']}")
    assert [d["type"] for d in rest.get_json()["items"]] == ["ping"]
    assert_problem(
        admin.get(f"/api/v1/webhooks/{wid}/deliveries?status=lost"), 422, "VALIDATION_FAILED"
    )


def test_openapi_documents_the_webhook_endpoints(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    assert {"post", "get"} <= set(spec["paths"]["/api/v1/webhooks"])
    assert {"get", "patch", "delete"} <= set(spec["paths"]["/api/v1/webhooks/{webhook_id}"])
    assert "post" in spec["paths"]["/api/v1/webhooks/{webhook_id}/test"]
    assert "get" in spec["paths"]["/api/v1/webhooks/{webhook_id}/deliveries"]
