"""Bad input, unknown paths and methods, body size, rate limits and the
failed-attempt budget on the client API, and the order in which they answer."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.api.helpers import (
    activate,
    activated,
    activations,
    assert_problem,
    by_company,
    by_key,
    by_password,
    certificate_claims,
    events,
    license_view,
    validate,
)
from tests.support.factory import AdminClient, Factory

COMPANY_PASSWORD = "Company-Secret-42"
CLIENT_POSTS = ["/api/v1/activations", "/api/v1/validate", "/api/v1/activations/A-X/checkin"]


def _post_raw(client: FlaskClient, path: str, data: bytes | str, **kw: Any) -> Any:
    return client.post(path, data=data, content_type="application/json", **kw)


def _valid_body(lic_key: str = "LK1.a.b", **over: Any) -> dict[str, Any]:
    return {
        "license_key": lic_key,
        "installation_id": "install-0001",
        "machine_name": "PC-1",
        **over,
    }


def _errors_of(resp: Any) -> dict[str, list[str]]:
    body = assert_problem(resp, 422, "VALIDATION_FAILED")
    errors = body["errors"]
    assert isinstance(errors, dict) and errors
    for messages in errors.values():
        assert isinstance(messages, list) and all(isinstance(m, str) and m for m in messages)
    return errors


# ---- 400: not a JSON object ----------------------------------------------------


@pytest.mark.parametrize("path", CLIENT_POSTS)
@pytest.mark.parametrize(
    "raw",
    [b"{not json", b'{"license_key": "x",}', b"[1, 2]", b'"a string"', b"42", b"null", b"", b"  "],
    ids=["garbage", "trailing comma", "array", "string", "number", "null", "empty", "blank"],
)
def test_body_that_is_not_a_json_object_is_400(client: FlaskClient, path: str, raw: bytes) -> None:
    assert_problem(_post_raw(client, path, raw), 400, "MALFORMED_REQUEST")


def test_body_that_is_not_utf8_is_400(client: FlaskClient) -> None:
    raw = b'{"machine_name": "\xff\xfe"}'

    assert_problem(_post_raw(client, "/api/v1/activations", raw), 400, "MALFORMED_REQUEST")


def test_nan_is_not_json(client: FlaskClient) -> None:
    raw = b'{"license_key": NaN, "installation_id": "install-0001", "machine_name": "PC"}'

    assert_problem(_post_raw(client, "/api/v1/activations", raw), 400, "MALFORMED_REQUEST")


def test_json_without_a_content_type_is_still_read(client: FlaskClient, factory: Factory) -> None:
    lic = factory.license()
    raw = json.dumps(_valid_body(lic.key))

    r = client.post("/api/v1/activations", data=raw)

    assert r.status_code == 201, r.get_json()


# ---- 422: fields -------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"installation_id": "install-0001", "machine_name": "PC"}, "credentials"),
        ({"license_key": "LK1.a.b", "machine_name": "PC"}, "installation_id"),
        ({"license_key": "LK1.a.b", "installation_id": "install-0001"}, "machine_name"),
        (
            {"license_id": "L-0000-0000", "installation_id": "install-0001", "machine_name": "PC"},
            "activation_password",
        ),
        (
            {
                "customer_number": "C-000000",
                "company_password": "x",
                "installation_id": "install-0001",
                "machine_name": "PC",
            },
            "product",
        ),
        (
            {
                "license_key": "LK1.a.b",
                "license_id": "L-0000-0000",
                "activation_password": "x",
                "installation_id": "install-0001",
                "machine_name": "PC",
            },
            "credentials",
        ),
        (
            {
                "license_key": "LK1.a.b",
                "customer_number": "C-000000",
                "installation_id": "install-0001",
                "machine_name": "PC",
            },
            "credentials",
        ),
        (_valid_body(extra_field=1), "extra_field"),
        (_valid_body(license_key=123), "license_key"),
        (_valid_body(license_key=["LK1.a.b"]), "license_key"),
        (_valid_body(license_key=None), "license_key"),
        (_valid_body(license_key=""), "license_key"),
        (_valid_body(installation_id=12345678), "installation_id"),
        (_valid_body(machine_name=None), "machine_name"),
        (_valid_body(machine_name=True), "machine_name"),
        (_valid_body(machine_name={"name": "PC"}), "machine_name"),
        (_valid_body(client="Windows"), "client"),
        (_valid_body(client=["x"]), "client"),
        (_valid_body(client={"os": 11}), "client"),
        (_valid_body(client={"cpu": "x86"}), "client"),
        (_valid_body(client={"os": "x" * 1100}), "client"),
        (
            _valid_body(client={"app_version": "1" * 100, "os": "o" * 200, "hostname": "h" * 255}),
            None,
        ),
    ],
    ids=[
        "no credentials",
        "no installation_id",
        "no machine_name",
        "half a password pair",
        "company without product",
        "key and password mixed",
        "key and company mixed",
        "unknown field",
        "key is a number",
        "key is a list",
        "key is null",
        "key is empty",
        "installation_id is a number",
        "machine_name is null",
        "machine_name is a bool",
        "machine_name is an object",
        "client is a string",
        "client is a list",
        "client field of wrong type",
        "client unknown key",
        "client field too long",
        "client object fine but fields at their limits",
    ],
)
def test_field_errors_are_422_naming_the_field(
    client: FlaskClient, body: dict[str, Any], field: str | None
) -> None:
    r = client.post("/api/v1/activations", json=body)

    if field is None:  # within every limit: it passes validation (and the fake key fails)
        assert_problem(r, 401, "INVALID_CREDENTIALS")
        return
    errors = _errors_of(r)
    assert any(name == field or name.startswith(f"{field}.") for name in errors), errors


def test_client_object_over_one_kibibyte_is_422(client: FlaskClient) -> None:
    info = {"app_version": "1" * 100, "os": "o" * 200, "hostname": "h" * 255}
    assert len(json.dumps(info)) < 1024
    big = {**info, "os": "ö" * 200, "hostname": "ħ" * 255}  # 2 bytes a character
    assert len(json.dumps(big, ensure_ascii=False).encode()) > 1024

    errors = _errors_of(client.post("/api/v1/activations", json=_valid_body(client=big)))

    assert any(name.startswith("client") for name in errors), errors


def test_every_problem_in_one_answer(client: FlaskClient) -> None:
    body = _valid_body(installation_id="short", machine_name="", unknown=1)

    errors = _errors_of(client.post("/api/v1/activations", json=body))

    assert {"installation_id", "machine_name", "unknown"} <= set(errors)


@pytest.mark.parametrize(
    "iid",
    [
        "a" * 7,
        "a" * 129,
        "",
        "install 0001",
        "install/0001",
        "install\\0001",
        "inställ-0001",
        "install-0001\n",
        "install-\x000001",
        "install-0001%",
        "<script>1</script>",
        "'; DROP TABLE--",
    ],
)
def test_bad_installation_id_is_422(client: FlaskClient, iid: str) -> None:
    errors = _errors_of(client.post("/api/v1/activations", json=_valid_body(installation_id=iid)))

    assert "installation_id" in errors


@pytest.mark.parametrize("iid", ["a" * 8, "Z" * 128, "host.example:8080_x-y", "3f2a9c0e-7d5b-41a8"])
def test_installation_id_at_the_limits_is_accepted(
    client: FlaskClient, factory: Factory, iid: str
) -> None:
    lic = factory.license()

    body = activated(client, by_key(lic), iid=iid)

    assert body["installation_id"] == iid
    assert certificate_claims(client, body["certificate"])["iid"] == iid


@pytest.mark.parametrize(
    "name",
    ["", "x" * 256, "PC\x00", "PC\x01-1", "PC\x1b[31m", "PC\r\nX-Header: 1", "PC\x7f", "PC\x85"],
    ids=["empty", "256 chars", "NUL", "SOH", "escape", "CRLF", "DEL", "C1 NEL"],
)
def test_bad_machine_name_is_422(client: FlaskClient, name: str) -> None:
    errors = _errors_of(client.post("/api/v1/activations", json=_valid_body(machine_name=name)))

    assert "machine_name" in errors


@pytest.mark.parametrize("field", ["machine_name", "license_key", "installation_id"])
def test_lone_surrogate_is_422(client: FlaskClient, field: str) -> None:
    # Written by hand: a JSON encoder would not produce an unpaired surrogate escape.
    body = json.dumps(_valid_body(**{field: "PLACEHOLDER"})).replace(
        "PLACEHOLDER", "ab\\ud800cdefgh"
    )

    errors = _errors_of(_post_raw(client, "/api/v1/activations", body))

    assert field in errors


def test_nul_in_credentials_is_422(client: FlaskClient) -> None:
    body = {
        "license_id": "L-0000\x00",
        "activation_password": "x\x00",
        "installation_id": "install-0001",
    }

    errors = _errors_of(client.post("/api/v1/validate", json=body))

    assert {"license_id", "activation_password"} <= set(errors)


@pytest.mark.parametrize(
    "name",
    [
        "Ωmega-ПК-電脳 🚀",
        "x" * 255,
        "🚀" * 255,
        "Zoë's PC\twith a tab",
        "e\u0301\u200d👩‍💻",
        "مهندسی-۱",
    ],
    ids=["mixed scripts", "255 ascii", "255 emoji", "tab", "combining and zwj", "rtl"],
)
def test_unicode_machine_name_is_kept_exactly(
    client: FlaskClient, admin: AdminClient, factory: Factory, name: str
) -> None:
    lic = factory.license()

    body = activated(client, by_key(lic), mn=name)

    assert body["machine_name"] == name
    assert certificate_claims(client, body["certificate"])["mn"] == name
    (row,) = activations(admin, lic.id)
    assert row["machine_name"] == name
    r = admin.get("/api/v1/activations", query_string={"machine_name": name})
    assert [a["id"] for a in r.get_json()["items"]] == [body["activation_id"]]
    (event,) = events(admin, lic.id, "activation.created")
    assert event["machine_name"] == name


def test_checkin_body_errors(client: FlaskClient) -> None:
    path = "/api/v1/activations/A-0000000000000000/checkin"
    assert "activation_token" in _errors_of(client.post(path, json={}))
    assert "activation_token" in _errors_of(client.post(path, json={"activation_token": 5}))
    assert "extra" in _errors_of(client.post(path, json={"activation_token": "t", "extra": 1}))


# ---- 413 ------------------------------------------------------------------------


@pytest.mark.parametrize("path", CLIENT_POSTS)
def test_body_over_64_kib_is_413(client: FlaskClient, path: str) -> None:
    body = json.dumps(_valid_body(padding="x" * (64 * 1024)))

    assert_problem(_post_raw(client, path, body), 413, "PAYLOAD_TOO_LARGE")


def test_body_just_under_64_kib_is_read(client: FlaskClient) -> None:
    body = json.dumps(_valid_body(machine_name="x" * (60 * 1024)))

    errors = _errors_of(_post_raw(client, "/api/v1/activations", body))

    assert "machine_name" in errors


def test_413_comes_before_400(client: FlaskClient) -> None:
    raw = b"{" + b"x" * (70 * 1024)

    assert_problem(_post_raw(client, "/api/v1/activations", raw), 413, "PAYLOAD_TOO_LARGE")


def test_body_limit_is_configurable(app_config: dict[str, Any], factory_app: Any) -> None:
    app_config["MAX_CONTENT_LENGTH"] = 2048
    client = factory_app().test_client()

    over = json.dumps(_valid_body(machine_name="x" * 2100))
    under = json.dumps(_valid_body(machine_name="x" * 1500))

    assert_problem(_post_raw(client, "/api/v1/activations", over), 413, "PAYLOAD_TOO_LARGE")
    assert "machine_name" in _errors_of(_post_raw(client, "/api/v1/activations", under))


# ---- 404 / 405 ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/api/v1/nope", "/api/v2/activations", "/api/", "/api/v1/activations/A-X/nope"]
)
def test_unknown_path_under_api_is_404_problem(client: FlaskClient, path: str) -> None:
    for method in ("GET", "POST"):
        body = assert_problem(client.open(path, method=method), 404, "NOT_FOUND")
        assert "<html" not in json.dumps(body).lower()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/api/v1/activations"),
        ("GET", "/api/v1/validate"),
        ("DELETE", "/api/v1/validate"),
        ("GET", "/api/v1/activations/A-X/checkin"),
        ("POST", "/api/v1/keys"),
        ("PATCH", "/api/v1/activations/A-X"),
        ("POST", "/healthz"),
    ],
)
def test_wrong_method_is_405_problem(client: FlaskClient, method: str, path: str) -> None:
    r = client.open(path, method=method, json={})

    assert_problem(r, 405, "METHOD_NOT_ALLOWED")
    assert r.headers.get("Allow")


# ---- precedence of the format checks --------------------------------------------------


def test_422_comes_before_401(client: FlaskClient) -> None:
    body = {"license_id": "L-ZZZZ-ZZZZ", "activation_password": "x", "installation_id": "bad"}

    assert "installation_id" in _errors_of(client.post("/api/v1/validate", json=body))


def test_422_comes_before_409_and_403(
    client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    lic = factory.license(seats=1)
    activated(client, by_key(lic), iid="install-0001")
    assert admin.post(f"/api/v1/licenses/{lic.id}/suspend").status_code == 200

    r = activate(client, by_key(lic), iid="install-0002", mn="")

    assert "machine_name" in _errors_of(r)


# ---- rate limits ------------------------------------------------------------------------


@pytest.fixture
def factory_app(app_config: dict[str, Any], tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Build an app from ``app_config`` as it is when called (after a test changed it)."""
    import licserver
    from licserver.extensions import db

    monkeypatch.setenv("LICSERVER_INSTANCE_DIR", str(tmp_path / "instance"))
    made: list[Flask] = []

    def make() -> Flask:
        application = licserver.create_app(app_config)
        made.append(application)
        return application

    yield make
    for application in made:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


def _assert_rate_limited(resp: Any) -> None:
    assert_problem(resp, 429, "RATE_LIMITED")
    retry = resp.headers.get("Retry-After")
    assert retry is not None and retry.isdigit() and int(retry) >= 1, retry


@pytest.fixture
def limited_ip(app_config: dict[str, Any]) -> dict[str, Any]:
    app_config["RATE_LIMITS"] = "on"
    app_config["CLIENT_RATE_LIMIT"] = "3 per minute"
    return app_config


def test_per_ip_limit_answers_429_with_retry_after(
    limited_ip: dict[str, Any], client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    lic = factory.license()
    for n in range(3):
        r = activate(client, by_key(lic), iid=f"install-000{n}")
        assert r.status_code == 201, r.get_json()

    r = activate(client, by_key(lic), iid="install-0009")

    _assert_rate_limited(r)
    assert license_view(admin, lic.id)["seats_used"] == 3
    # Other endpoints of the client API share the per-IP allowance ...
    _assert_rate_limited(client.get("/api/v1/keys"))
    _assert_rate_limited(validate(client, by_key(lic)))
    # ... another source IP has its own ...
    other_ip = {"REMOTE_ADDR": "10.1.2.3"}
    r = client.post(
        "/api/v1/activations",
        json={**by_key(lic), "installation_id": "install-0010", "machine_name": "PC"},
        environ_base=other_ip,
    )
    assert r.status_code == 201, r.get_json()
    # ... and neither the admin API nor the health checks count against it.
    assert license_view(admin, lic.id)["seats_used"] == 4
    assert client.get("/healthz").status_code == 200


def test_per_ip_limit_comes_first(limited_ip: dict[str, Any], client: FlaskClient) -> None:
    for _ in range(3):
        assert client.get("/api/v1/keys").status_code == 200

    _assert_rate_limited(_post_raw(client, "/api/v1/activations", b"{oops"))
    _assert_rate_limited(_post_raw(client, "/api/v1/activations", b"x" * (70 * 1024)))
    _assert_rate_limited(client.post("/api/v1/activations", json={"machine_name": ""}))


def test_rate_limits_off_lets_everything_through(
    app_config: dict[str, Any], factory_app: Any
) -> None:
    app_config["RATE_LIMITS"] = "off"
    app_config["CLIENT_RATE_LIMIT"] = "1 per minute"
    client = factory_app().test_client()

    for _ in range(3):
        assert client.get("/api/v1/keys").status_code == 200


def test_rate_limits_off_turns_the_failed_attempt_budget_off(
    app_config: dict[str, Any], client: FlaskClient, factory: Factory
) -> None:
    app_config["RATE_LIMITS"] = "off"
    app_config["FAILED_ATTEMPTS_LIMIT"] = 2
    lic = factory.license()
    wrong = {"license_id": lic.id, "activation_password": "wrong-password"}
    for _ in range(4):
        assert_problem(activate(client, wrong), 401, "INVALID_CREDENTIALS")

    assert activate(client, by_password(lic)).status_code == 201


@pytest.fixture
def small_budget(app_config: dict[str, Any]) -> dict[str, Any]:
    app_config["RATE_LIMITS"] = "on"
    app_config["FAILED_ATTEMPTS_LIMIT"] = 3
    return app_config


def test_failed_attempt_budget_of_a_licence(
    small_budget: dict[str, Any], client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    customer = factory.customer()
    lic = factory.license(customer=customer)
    neighbour = factory.license(customer=customer)
    wrong = {"license_id": lic.id, "activation_password": "wrong-password"}
    for _ in range(3):
        assert_problem(activate(client, wrong), 401, "INVALID_CREDENTIALS")

    right = activate(client, by_password(lic))
    again_wrong = activate(client, wrong)

    # Spent: right and wrong passwords get the same answer.
    _assert_rate_limited(right)
    _assert_rate_limited(again_wrong)
    # the same answer, but for the request id each response has of its own
    assert assert_problem(right, 429, "RATE_LIMITED") == assert_problem(
        again_wrong, 429, "RATE_LIMITED"
    )
    assert int(right.headers["Retry-After"]) <= 3600
    _assert_rate_limited(validate(client, by_password(lic)))
    assert license_view(admin, lic.id)["seats_used"] == 0
    # Another licence, same customer, same IP: unaffected.
    assert activate(client, by_password(neighbour)).status_code == 201
    # Staff see the refusals and why.
    reasons = [e["reason"] for e in events(admin, lic.id, "activation.refused")]
    assert reasons[:3] == ["INVALID_CREDENTIALS"] * 3
    assert "RATE_LIMITED" in reasons[3:]


def test_failed_validations_spend_the_same_budget(
    small_budget: dict[str, Any], client: FlaskClient, factory: Factory
) -> None:
    lic = factory.license()
    wrong = {"license_id": lic.id, "activation_password": "wrong-password"}
    for _ in range(3):
        assert_problem(validate(client, wrong), 401, "INVALID_CREDENTIALS")

    _assert_rate_limited(activate(client, by_password(lic)))


def test_failed_attempt_budget_of_a_customer_company_password(
    small_budget: dict[str, Any], client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    product = factory.product()
    lic = factory.license(
        product=product, customer=factory.customer(company_password=COMPANY_PASSWORD)
    )
    other = factory.license(
        product=product, customer=factory.customer(company_password=COMPANY_PASSWORD)
    )
    for _ in range(3):
        r = activate(client, by_company(lic, "wrong-company-password"))
        assert_problem(r, 401, "INVALID_CREDENTIALS")

    _assert_rate_limited(activate(client, by_company(lic, COMPANY_PASSWORD)))
    _assert_rate_limited(activate(client, by_company(lic, "wrong-company-password")))
    # Another customer, same IP and product: unaffected.
    r = activate(client, by_company(other, COMPANY_PASSWORD))
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["license_id"] == other.id


def test_budget_answers_after_format_checks_and_before_credentials(
    small_budget: dict[str, Any], client: FlaskClient, factory: Factory
) -> None:
    lic = factory.license()
    wrong = {"license_id": lic.id, "activation_password": "wrong-password"}
    for _ in range(3):
        activate(client, wrong)

    # 422 (format) still answers first ...
    assert "installation_id" in _errors_of(activate(client, wrong, iid="bad"))
    # ... then 429 rather than 401.
    _assert_rate_limited(activate(client, wrong))


def test_budget_counts_only_failures(
    small_budget: dict[str, Any], client: FlaskClient, factory: Factory
) -> None:
    lic = factory.license(seats=10)
    for n in range(5):
        assert activate(client, by_password(lic), iid=f"install-000{n}").status_code == 201

    r = activate(client, {"license_id": lic.id, "activation_password": "nope"})

    assert_problem(r, 401, "INVALID_CREDENTIALS")
