"""Signed answers over real HTTP from gunicorn (whose RAW_URI is the target
signed): each client-API answer, errors included, verifies with a key from
GET /api/v1/keys; a malformed nonce is a 400 signed with an empty one."""

from __future__ import annotations

import http.client
import json
import secrets
from typing import Any

from licserver import signing
from tests.live import LiveServer
from tests.support.factory import Factory


def send(
    server: LiveServer, method: str, target: str, body: Any = None, nonce: str | None = None
) -> tuple[int, bytes, str | None]:
    """One request with the target exactly as written (http.client does not
    re-encode it); (status, body bytes, the signature header)."""
    host, port = server.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    headers = {"Content-Type": "application/json"}
    if nonce:
        headers[signing.NONCE_HEADER] = nonce
    data = json.dumps(body).encode() if body is not None else None
    try:
        conn.request(method, target, body=data, headers=headers)
        r = conn.getresponse()
        return r.status, r.read(), r.getheader(signing.ANSWER_SIGNATURE_HEADER)
    finally:
        conn.close()


def keys_of(server: LiveServer) -> dict[str, Any]:
    _, body, _ = send(server, "GET", "/api/v1/keys")
    return {
        k["kid"]: signing.public_key_from_b64(k["public_key"]) for k in json.loads(body)["keys"]
    }


def checked(server: LiveServer, method: str, target: str, body: Any = None) -> tuple[int, Any]:
    nonce = secrets.token_urlsafe(16)
    status, raw, header = send(server, method, target, body, nonce)
    signing.verify_answer(
        header,
        keys_of(server),
        method=method,
        target=target,
        status=status,
        body=raw,
        nonce=nonce,
    )
    return status, json.loads(raw)


def test_client_api_answers_from_gunicorn_verify(live: LiveServer, factory: Factory) -> None:
    lic = factory.license(seats=1)
    creds = {"license_key": lic.key, "installation_id": "live-0001"}
    status, act = checked(live, "POST", "/api/v1/activations", {**creds, "machine_name": "PC"})
    assert status == 201
    status, _ = checked(
        live,
        "POST",
        f"/api/v1/activations/{act['activation_id']}/checkin",
        {"activation_token": act["activation_token"]},
    )
    assert status == 200
    status, answer = checked(live, "POST", "/api/v1/validate", creds)
    assert (status, answer["valid"]) == (200, True)
    assert checked(live, "GET", "/api/v1/keys")[0] == 200
    # errors: 401, 405, 422, an unmatched path, a target percent-encoded with a query
    assert checked(live, "DELETE", f"/api/v1/activations/{act['activation_id']}")[0] == 401
    assert checked(live, "GET", "/api/v1/validate")[0] == 405
    assert checked(live, "POST", "/api/v1/validate", {"installation_id": "x"})[0] == 422
    assert checked(live, "POST", "/api/v1/updates", {})[0] in (400, 401, 404, 422)
    target = "/api/v1/activations/A%2D0000000000000000/checkin?from=%41"
    assert checked(live, "POST", target, {"activation_token": "t"})[0] == 401


def test_a_malformed_nonce_is_refused_signed_with_an_empty_nonce(live: LiveServer) -> None:
    status, raw, header = send(live, "GET", "/api/v1/keys", nonce="not a nonce")
    assert status == 400
    assert json.loads(raw)["code"] == "MALFORMED_REQUEST"
    signing.verify_answer(
        header, keys_of(live), method="GET", target="/api/v1/keys", status=400, body=raw, nonce=""
    )
