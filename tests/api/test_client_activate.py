"""POST /api/v1/activations: the three credential kinds, the answer and its
certificate, idempotent re-activation, seat limits, the company-password choice
of licence, the one answer for wrong credentials, the licence's own 403s, and
what the history shows staff."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask.testing import FlaskClient

from licserver import signing
from licserver.crypto import b64u, b64u_decode
from tests.api.helpers import (
    INVALID_CREDENTIALS_DETAIL,
    activate,
    activated,
    activations,
    assert_problem,
    by_company,
    by_key,
    by_password,
    certificate_claims,
    checkin,
    events,
    license_view,
)
from tests.support.factory import AdminClient, Factory, IssuedLicense

COMPANY_PASSWORD = "Company-Secret-42"
RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
ACTIVATION_FIELDS = {
    "activation_id",
    "license_id",
    "installation_id",
    "machine_name",
    "activated_at",
    "certificate",
    "activation_token",
}


def _creds(kind: str, lic: IssuedLicense) -> dict[str, str]:
    if kind == "key":
        return by_key(lic)
    if kind == "password":
        return by_password(lic)
    return by_company(lic, COMPANY_PASSWORD)


def _company_license(factory: Factory, **kw: Any) -> IssuedLicense:
    customer = factory.customer(company_password=COMPANY_PASSWORD)
    return factory.license(customer=customer, **kw)


def _in_days(days: int) -> datetime:
    return (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0)


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


# ---- success ----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["key", "password", "company"])
def test_each_credential_kind_activates_with_201(
    client: FlaskClient, admin: AdminClient, factory: Factory, kind: str
) -> None:
    lic = _company_license(factory, seats=3)

    r = activate(client, _creds(kind, lic), iid="install-0001", mn="DESIGN-PC-07")

    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert ACTIVATION_FIELDS <= set(body)
    assert re.fullmatch(r"A-[0-9A-Z]{16}", body["activation_id"])
    assert body["license_id"] == lic.id
    assert body["installation_id"] == "install-0001"
    assert body["machine_name"] == "DESIGN-PC-07"
    assert RFC3339_UTC.match(body["activated_at"])
    assert body["certificate"].startswith("AC1.")
    assert isinstance(body["activation_token"], str) and len(body["activation_token"]) >= 32
    assert license_view(admin, lic.id)["seats_used"] == 1
    (row,) = activations(admin, lic.id, "active")
    assert row["id"] == body["activation_id"]
    assert row["installation_id"] == "install-0001"


def test_certificate_verifies_with_published_key_and_carries_the_claims(
    client: FlaskClient, factory: Factory
) -> None:
    product = factory.product("cad-pro", offline_grace_days=7)
    customer = factory.customer()
    expires = _in_days(200)
    lic = factory.license(
        product=product, customer=customer, seats=4, expires_at=expires, features=["export", "3d"]
    )
    before = int(time.time())

    body = activated(client, by_key(lic), iid="install-0001", mn="PC-1")

    after = int(time.time())
    claims = certificate_claims(client, body["certificate"])
    assert claims["v"] == 1
    assert claims["aid"] == body["activation_id"]
    assert claims["lid"] == lic.id
    assert claims["prod"] == "cad-pro"
    assert claims["cust"] == customer
    assert claims["iid"] == "install-0001"
    assert claims["mn"] == "PC-1"
    assert claims["seats"] == 4
    assert sorted(claims["features"]) == ["3d", "export"]
    assert before <= claims["iat"] <= after
    assert claims["exp"] == int(expires.timestamp())
    assert claims["until"] == claims["iat"] + 7 * 86400
    keys = client.get("/api/v1/keys").get_json()["keys"]
    assert {"kid": claims["kid"], "status": "active"}.items() <= next(
        k for k in keys if k["kid"] == claims["kid"]
    ).items()


def test_certificate_of_a_perpetual_licence_has_null_exp(
    client: FlaskClient, factory: Factory
) -> None:
    lic = factory.license(product=factory.product(offline_grace_days=30), expires_at=None)

    claims = certificate_claims(client, activated(client, by_key(lic))["certificate"])

    assert claims["exp"] is None
    assert claims["until"] == claims["iat"] + 30 * 86400


def test_certificate_from_another_key_does_not_verify(
    client: FlaskClient, factory: Factory
) -> None:
    """Guards the helper the other tests rely on: a forged certificate fails."""
    lic = factory.license()
    cert = activated(client, by_key(lic))["certificate"]
    prefix, payload, _ = cert.split(".")
    forged_sig = b64u(Ed25519PrivateKey.generate().sign(f"{prefix}.{payload}".encode()))

    with pytest.raises(signing.TokenError):
        certificate_claims(client, f"{prefix}.{payload}.{forged_sig}")


# ---- the same installation again ---------------------------------------------


@pytest.mark.parametrize("kind", ["key", "password", "company"])
def test_same_installation_again_is_200_without_a_second_seat(
    client: FlaskClient, admin: AdminClient, factory: Factory, kind: str
) -> None:
    lic = _company_license(factory, seats=2)
    first = activated(client, _creds(kind, lic), iid="install-0001")

    r = activate(client, _creds(kind, lic), iid="install-0001")

    assert r.status_code == 200, r.get_json()
    again = r.get_json()
    assert ACTIVATION_FIELDS <= set(again)
    assert again["activation_id"] == first["activation_id"]
    assert again["license_id"] == lic.id
    assert again["activated_at"] == first["activated_at"]
    assert again["activation_token"] != first["activation_token"]
    assert certificate_claims(client, again["certificate"])["aid"] == first["activation_id"]
    assert license_view(admin, lic.id)["seats_used"] == 1
    assert len(activations(admin, lic.id, "all")) == 1


def test_reactivation_issues_a_fresh_token_and_the_old_one_stops_working(
    client: FlaskClient, factory: Factory
) -> None:
    lic = factory.license()
    first = activated(client, by_key(lic))
    again = activated(client, by_key(lic))

    old = checkin(client, first["activation_id"], first["activation_token"])
    new = checkin(client, again["activation_id"], again["activation_token"])

    assert_problem(old, 401, "INVALID_CREDENTIALS")
    assert new.status_code == 200
    assert new.get_json()["certificate"].startswith("AC1.")


def test_reactivation_with_a_new_machine_name_keeps_the_seat_and_renames(
    client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    lic = factory.license(seats=1)
    activated(client, by_key(lic), mn="OLD-NAME")

    again = activated(client, by_key(lic), mn="NEW-NAME")

    assert again["machine_name"] == "NEW-NAME"
    assert certificate_claims(client, again["certificate"])["mn"] == "NEW-NAME"
    (row,) = activations(admin, lic.id, "all")
    assert row["machine_name"] == "NEW-NAME"
    assert license_view(admin, lic.id)["seats_used"] == 1


# ---- seats ------------------------------------------------------------------


def test_seat_limit_reached_with_409(
    client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    lic = factory.license(seats=2)
    activated(client, by_key(lic), iid="install-0001")
    activated(client, by_key(lic), iid="install-0002")

    r = activate(client, by_key(lic), iid="install-0003")

    assert_problem(r, 409, "SEAT_LIMIT_REACHED")
    assert license_view(admin, lic.id)["seats_used"] == 2
    assert {a["installation_id"] for a in activations(admin, lic.id, "all")} == {
        "install-0001",
        "install-0002",
    }


@pytest.mark.parametrize("kind", ["key", "password", "company"])
def test_reactivation_on_a_full_licence_still_succeeds(
    client: FlaskClient, factory: Factory, kind: str
) -> None:
    lic = _company_license(factory, seats=1)
    first = activated(client, _creds(kind, lic), iid="install-0001")
    assert_problem(
        activate(client, _creds(kind, lic), iid="install-0002"), 409, "SEAT_LIMIT_REACHED"
    )

    r = activate(client, _creds(kind, lic), iid="install-0001")

    assert r.status_code == 200, r.get_json()
    assert r.get_json()["activation_id"] == first["activation_id"]


def test_seats_raised_by_admin_admit_another_installation(
    client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    lic = factory.license(seats=1)
    activated(client, by_key(lic), iid="install-0001")
    assert_problem(activate(client, by_key(lic), iid="install-0002"), 409, "SEAT_LIMIT_REACHED")

    assert admin.patch(f"/api/v1/licenses/{lic.id}", json={"seats": 2}).status_code == 200

    assert activate(client, by_key(lic), iid="install-0002").status_code == 201


# ---- company password: which licence ------------------------------------------


def test_company_password_prefers_the_licence_this_installation_is_active_on(
    client: FlaskClient, factory: Factory
) -> None:
    product = factory.product()
    customer = factory.customer(company_password=COMPANY_PASSWORD)
    later = factory.license(product=product, customer=customer, expires_at=_in_days(300))
    factory.license(product=product, customer=customer, expires_at=_in_days(30))
    activated(client, by_key(later), iid="install-0001")

    r = activate(client, by_company(later, COMPANY_PASSWORD), iid="install-0001")

    assert r.status_code == 200, r.get_json()
    assert r.get_json()["license_id"] == later.id


def test_company_password_picks_free_seat_expiring_first_then_perpetual_then_oldest(
    client: FlaskClient, factory: Factory
) -> None:
    product = factory.product()
    customer = factory.customer(company_password=COMPANY_PASSWORD)
    perpetual_old = factory.license(product=product, customer=customer, seats=1, expires_at=None)
    far = factory.license(product=product, customer=customer, seats=1, expires_at=_in_days(300))
    perpetual_new = factory.license(product=product, customer=customer, seats=1, expires_at=None)
    near = factory.license(product=product, customer=customer, seats=1, expires_at=_in_days(30))
    creds = by_company(near, COMPANY_PASSWORD)

    picked = [activated(client, creds, iid=f"install-000{n}")["license_id"] for n in range(1, 5)]

    assert picked == [near.id, far.id, perpetual_old.id, perpetual_new.id]
    assert_problem(activate(client, creds, iid="install-0005"), 409, "SEAT_LIMIT_REACHED")


def test_company_password_skips_licences_that_are_not_usable(
    client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    product = factory.product()
    customer = factory.customer(company_password=COMPANY_PASSWORD)
    suspended = factory.license(product=product, customer=customer, expires_at=_in_days(10))
    expired = factory.license(product=product, customer=customer, expires_at=_in_days(20))
    usable = factory.license(product=product, customer=customer, expires_at=_in_days(300))
    assert admin.post(f"/api/v1/licenses/{suspended.id}/suspend").status_code == 200
    past = _iso(_in_days(-1))
    assert (
        admin.patch(f"/api/v1/licenses/{expired.id}", json={"expires_at": past}).status_code == 200
    )

    r = activate(client, by_company(usable, COMPANY_PASSWORD))

    assert r.status_code == 201, r.get_json()
    assert r.get_json()["license_id"] == usable.id


def test_company_password_ignores_other_products_and_other_customers(
    client: FlaskClient, factory: Factory
) -> None:
    product, other_product = factory.product(), factory.product()
    customer = factory.customer(company_password=COMPANY_PASSWORD)
    other_customer = factory.customer(company_password=COMPANY_PASSWORD)
    factory.license(product=other_product, customer=customer, expires_at=_in_days(5))
    factory.license(product=product, customer=other_customer, expires_at=_in_days(5))
    mine = factory.license(product=product, customer=customer, expires_at=_in_days(100))

    assert activated(client, by_company(mine, COMPANY_PASSWORD))["license_id"] == mine.id


def test_company_password_all_full_is_409(client: FlaskClient, factory: Factory) -> None:
    product = factory.product()
    customer = factory.customer(company_password=COMPANY_PASSWORD)
    a = factory.license(product=product, customer=customer, seats=1)
    b = factory.license(product=product, customer=customer, seats=1)
    activated(client, by_key(a), iid="install-0001")
    activated(client, by_key(b), iid="install-0002")

    r = activate(client, by_company(a, COMPANY_PASSWORD), iid="install-0003")

    assert_problem(r, 409, "SEAT_LIMIT_REACHED")


def test_company_password_without_a_licence_of_the_product_is_404(
    client: FlaskClient, factory: Factory
) -> None:
    lic = _company_license(factory)
    factory.product("other-product")

    for product in ("other-product", "no-such-product"):
        r = activate(client, {**by_company(lic, COMPANY_PASSWORD), "product": product})
        assert_problem(r, 404, "NOT_FOUND")


@pytest.mark.parametrize(
    ("action", "code"),
    [
        ("suspend", "LICENSE_SUSPENDED"),
        ("revoke", "LICENSE_REVOKED"),
        ("expire", "LICENSE_EXPIRED"),
    ],
)
def test_company_password_with_no_usable_licence_gets_its_own_403(
    client: FlaskClient, admin: AdminClient, factory: Factory, action: str, code: str
) -> None:
    lic = _company_license(factory)
    _make_unusable(admin, lic.id, action)

    assert_problem(activate(client, by_company(lic, COMPANY_PASSWORD)), 403, code)


def test_company_password_usable_but_full_beats_unusable(
    client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    product = factory.product()
    customer = factory.customer(company_password=COMPANY_PASSWORD)
    full = factory.license(product=product, customer=customer, seats=1)
    suspended = factory.license(product=product, customer=customer, seats=5)
    activated(client, by_key(full), iid="install-0001")
    _make_unusable(admin, suspended.id, "suspend")

    r = activate(client, by_company(full, COMPANY_PASSWORD), iid="install-0002")

    assert_problem(r, 409, "SEAT_LIMIT_REACHED")


# ---- wrong credentials: one answer --------------------------------------------


def _flip(text: str, index: int) -> str:
    ch = text[index]
    return text[:index] + ("B" if ch != "B" else "C") + text[index + 1 :]


def _forged_key(lic: IssuedLicense) -> str:
    """The real payload (real kid, real licence) signed by another key."""
    prefix, payload, _ = lic.key.split(".")
    sig = Ed25519PrivateKey.generate().sign(f"{prefix}.{payload}".encode())
    return f"{prefix}.{payload}.{b64u(sig)}"


def _tampered_payload_key(lic: IssuedLicense) -> str:
    """The payload edited (the next key serial), the old signature kept."""
    prefix, payload, sig = lic.key.split(".")
    claims = json.loads(b64u_decode(payload))
    claims["ser"] += 1
    body = b64u(json.dumps(claims, sort_keys=True, separators=(",", ":")).encode())
    return f"{prefix}.{body}.{sig}"


WRONG_CREDENTIALS = [
    "unknown key",
    "forged key",
    "tampered payload",
    "truncated key",
    "one character changed in the payload",
    "one character changed in the signature",
    "certificate offered as a key",
    "superseded key",
    "wrong activation password",
    "old activation password",
    "unknown licence id",
    "wrong company password",
    "company password not set",
    "unknown customer number",
]


def _wrong_credentials(
    case: str, client: FlaskClient, admin: AdminClient, factory: Factory
) -> dict[str, str]:
    lic = _company_license(factory)
    if case == "unknown key":
        return {"license_key": "LK1.eyJ2IjoxfQ.c2lnbmF0dXJl"}
    if case == "forged key":
        return {"license_key": _forged_key(lic)}
    if case == "tampered payload":
        return {"license_key": _tampered_payload_key(lic)}
    if case == "truncated key":
        return {"license_key": lic.key[:-12]}
    if case == "one character changed in the payload":
        return {"license_key": _flip(lic.key, len("LK1.") + 10)}
    if case == "one character changed in the signature":
        return {"license_key": _flip(lic.key, len(lic.key) - 20)}
    if case == "certificate offered as a key":
        return {"license_key": activated(client, by_key(lic), iid="install-9999")["certificate"]}
    if case == "superseded key":
        assert admin.post(f"/api/v1/licenses/{lic.id}/key").status_code == 200
        return by_key(lic)
    if case == "wrong activation password":
        return {"license_id": lic.id, "activation_password": lic.activation_password + "X"}
    if case == "old activation password":
        r = admin.post(f"/api/v1/licenses/{lic.id}/activation-password")
        assert r.status_code == 200
        assert r.get_json()["activation_password"] != lic.activation_password
        return by_password(lic)
    if case == "unknown licence id":
        return {"license_id": "L-ZZZZ-ZZZZ", "activation_password": lic.activation_password}
    if case == "wrong company password":
        return by_company(lic, COMPANY_PASSWORD + "!")
    if case == "company password not set":
        other = factory.license(customer=factory.customer(company_password=None))
        return by_company(other, "anything-at-all")
    if case == "unknown customer number":
        return {**by_company(lic, COMPANY_PASSWORD), "customer_number": "C-ZZZZZZ"}
    raise AssertionError(case)


@pytest.mark.parametrize("case", WRONG_CREDENTIALS)
def test_wrong_credentials_get_one_and_the_same_401(
    client: FlaskClient, admin: AdminClient, factory: Factory, case: str
) -> None:
    creds = _wrong_credentials(case, client, admin, factory)

    body = assert_problem(activate(client, creds), 401, "INVALID_CREDENTIALS")

    assert body == {
        "type": "about:blank",
        "title": "Invalid credentials",
        "status": 401,
        "code": "INVALID_CREDENTIALS",
        "detail": INVALID_CREDENTIALS_DETAIL,
    }


def test_new_key_and_new_password_work_after_reissue(
    client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    lic = factory.license()
    new_key = admin.post(f"/api/v1/licenses/{lic.id}/key").get_json()["key"]
    new_pw = admin.post(f"/api/v1/licenses/{lic.id}/activation-password").get_json()[
        "activation_password"
    ]

    assert activate(client, {"license_key": new_key}, iid="install-0001").status_code == 201
    r = activate(client, {"license_id": lic.id, "activation_password": new_pw}, iid="install-0002")
    assert r.status_code == 201


# ---- the licence's condition --------------------------------------------------


def _make_unusable(admin: AdminClient, license_id: str, action: str) -> None:
    if action == "expire":
        r = admin.patch(f"/api/v1/licenses/{license_id}", json={"expires_at": _iso(_in_days(-1))})
    else:
        r = admin.post(f"/api/v1/licenses/{license_id}/{action}")
    assert r.status_code == 200, r.get_json()


@pytest.mark.parametrize("kind", ["key", "password", "company"])
@pytest.mark.parametrize(
    ("action", "code"),
    [
        ("suspend", "LICENSE_SUSPENDED"),
        ("revoke", "LICENSE_REVOKED"),
        ("expire", "LICENSE_EXPIRED"),
    ],
)
def test_unusable_licence_refuses_activation_with_403(
    client: FlaskClient, admin: AdminClient, factory: Factory, kind: str, action: str, code: str
) -> None:
    lic = _company_license(factory)
    _make_unusable(admin, lic.id, action)

    assert_problem(activate(client, _creds(kind, lic)), 403, code)
    assert license_view(admin, lic.id)["seats_used"] == 0


def test_unusable_licence_refuses_even_the_installation_already_on_it(
    client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    lic = factory.license()
    activated(client, by_key(lic))
    _make_unusable(admin, lic.id, "suspend")

    assert_problem(activate(client, by_key(lic)), 403, "LICENSE_SUSPENDED")


def test_reinstated_licence_activates_again(
    client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    lic = factory.license()
    _make_unusable(admin, lic.id, "suspend")
    assert_problem(activate(client, by_key(lic)), 403, "LICENSE_SUSPENDED")

    assert admin.post(f"/api/v1/licenses/{lic.id}/reinstate").status_code == 200

    assert activate(client, by_key(lic)).status_code == 201


# ---- precedence -------------------------------------------------------------


def test_wrong_password_on_a_suspended_licence_is_401_not_403(
    client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    lic = factory.license()
    _make_unusable(admin, lic.id, "suspend")

    creds = {"license_id": lic.id, "activation_password": "wrong-password"}
    assert_problem(activate(client, creds), 401, "INVALID_CREDENTIALS")


def test_full_and_suspended_licence_is_403_not_409(
    client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    lic = factory.license(seats=1)
    activated(client, by_key(lic), iid="install-0001")
    _make_unusable(admin, lic.id, "suspend")

    assert_problem(activate(client, by_key(lic), iid="install-0002"), 403, "LICENSE_SUSPENDED")


def test_wrong_company_password_is_401_before_the_product_is_looked_up(
    client: FlaskClient, factory: Factory
) -> None:
    lic = _company_license(factory)
    creds = {**by_company(lic, "wrong"), "product": "no-such-product"}

    assert_problem(activate(client, creds), 401, "INVALID_CREDENTIALS")


# ---- history ----------------------------------------------------------------


def _assert_client_event(event: dict[str, Any], iid: str, mn: str) -> None:
    assert RFC3339_UTC.match(event["at"])
    assert event["actor"]["type"] == "client"
    assert event["installation_id"] == iid
    assert event["machine_name"] == mn
    assert event["ip"] == "127.0.0.1"


def test_activation_and_reactivation_are_in_the_history(
    client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    lic = factory.license()
    first = activated(client, by_key(lic), iid="install-0001", mn="PC-1")
    activated(client, by_key(lic), iid="install-0001", mn="PC-1")

    (created,) = events(admin, lic.id, "activation.created")
    (reused,) = events(admin, lic.id, "activation.reused")
    _assert_client_event(created, "install-0001", "PC-1")
    _assert_client_event(reused, "install-0001", "PC-1")
    assert created["activation_id"] == reused["activation_id"] == first["activation_id"]
    kinds = [e["kind"] for e in events(admin, lic.id)]
    assert kinds.index("activation.created") < kinds.index("activation.reused")


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("wrong password", "INVALID_CREDENTIALS"),
        ("superseded key", "INVALID_CREDENTIALS"),
        ("seat limit", "SEAT_LIMIT_REACHED"),
        ("suspended", "LICENSE_SUSPENDED"),
        ("revoked", "LICENSE_REVOKED"),
        ("expired", "LICENSE_EXPIRED"),
    ],
)
def test_refusals_are_in_the_history_with_the_reason(
    client: FlaskClient, admin: AdminClient, factory: Factory, case: str, code: str
) -> None:
    lic = factory.license(seats=1)
    creds = by_key(lic)
    if case == "wrong password":
        creds = {"license_id": lic.id, "activation_password": "not-the-password"}
    elif case == "superseded key":
        assert admin.post(f"/api/v1/licenses/{lic.id}/key").status_code == 200
    elif case == "seat limit":
        activated(client, by_key(lic), iid="install-0000", mn="FIRST")
    else:
        _make_unusable(
            admin, lic.id, {"suspended": "suspend", "revoked": "revoke"}.get(case, "expire")
        )

    r = activate(client, creds, iid="install-0001", mn="REFUSED-PC")

    body = assert_problem(
        r, {"INVALID_CREDENTIALS": 401, "SEAT_LIMIT_REACHED": 409}.get(code, 403), code
    )
    (refused,) = events(admin, lic.id, "activation.refused")
    _assert_client_event(refused, "install-0001", "REFUSED-PC")
    assert refused["reason"] == code
    # Staff see why; the client's answer carries nothing of it.
    why = refused["data"].get("why")
    if code == "INVALID_CREDENTIALS":
        assert why and why not in body["detail"]
        assert body["detail"] == INVALID_CREDENTIALS_DETAIL
    assert license_view(admin, lic.id)["seats_used"] == (1 if case == "seat limit" else 0)


def test_refusal_of_a_company_password_activation_names_the_licence_for_staff(
    client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    lic = _company_license(factory, seats=1)
    activated(client, by_key(lic), iid="install-0000")

    r = activate(client, by_company(lic, COMPANY_PASSWORD), iid="install-0001", mn="PC-2")

    assert_problem(r, 409, "SEAT_LIMIT_REACHED")
    (refused,) = events(admin, lic.id, "activation.refused")
    assert refused["reason"] == "SEAT_LIMIT_REACHED"
    _assert_client_event(refused, "install-0001", "PC-2")


def test_client_info_is_kept_with_the_activation(
    client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    lic = factory.license()
    info = {"app_version": "4.2.1", "os": "Windows 11 23H2", "hostname": "design-07.corp"}

    activated(client, by_key(lic), info=info)

    (row,) = activations(admin, lic.id)
    assert row["client"] == info
