from __future__ import annotations

from flask.testing import FlaskClient

from tests.conftest import Factory


def test_activate_with_key_then_checkin(client: FlaskClient, factory: Factory) -> None:
    lic = factory.license(seats=1)
    r = client.post(
        "/api/v1/activations",
        json={"license_key": lic.key, "installation_id": "install-0001", "machine_name": "PC-1"},
    )
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["license_id"] == lic.id
    r2 = client.post(
        f"/api/v1/activations/{body['activation_id']}/checkin",
        json={"activation_token": body["activation_token"]},
    )
    assert r2.status_code == 200
    assert r2.get_json()["certificate"].startswith("AC1.")
