"""Update checks counted per release and platform for the console: counted in
the worker's memory and written in batches (services.check_counts), yet every
check answered shows in the counts staff read, and the counts add up across
writes (every worker adds its own)."""

from __future__ import annotations

import io
import secrets
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from licserver.extensions import db
from licserver.models.release import Release
from licserver.runtime import context
from licserver.services import release_artifacts
from tests.support.factory import Factory


def _post(client: FlaskClient, path: str, token: str, **kw: Any) -> dict[str, Any]:
    r = client.post(path, headers={"Authorization": f"Bearer {token}"}, **kw)
    assert r.status_code in (200, 201), r.get_data(as_text=True)
    body: dict[str, Any] = r.get_json()
    return body


def _check(client: FlaskClient, machine: dict[str, Any], platform: str) -> str:
    r = client.post(
        "/api/v1/updates",
        json={
            "activation_id": machine["activation_id"],
            "activation_token": machine["activation_token"],
            "current_version": "1.0.0",
            "platform": platform,
        },
    )
    assert r.status_code == 200, r.get_data(as_text=True)
    return str(r.get_json()["update"]["version"])


@pytest.fixture
def app_config(app_config: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    # written only when staff read them (or an hour has passed): the reads below
    app_config["UPDATE_COUNT_FLUSH_SECONDS"] = 3600
    app_config["RELEASES_DIR"] = str(tmp_path / "releases")
    return app_config


def test_checks_are_counted_per_release_and_platform_across_batched_writes(
    client: FlaskClient, admin_token: str, factory: Factory
) -> None:
    product = factory.product("APP")
    lic = factory.license(product)
    path = f"/api/v1/products/{product}/releases"
    data = {"version": "1.1.0", "file": (io.BytesIO(b"app " * 100), "app-1.1.0.zip")}
    made = _post(client, path, admin_token, data=data, content_type="multipart/form-data")
    _post(client, f"{path}/1.1.0/publish", admin_token, json={})
    install = {
        "license_key": lic.key,
        "installation_id": secrets.token_hex(16),
        "machine_name": "pc",
    }
    machine = _post(client, "/api/v1/activations", "", json=install)
    assert [_check(client, machine, p) for p in ("windows", "windows", "linux")] == ["1.1.0"] * 3
    rid = db.session.scalars(select(Release.id).where(Release.version == made["version"])).one()
    assert release_artifacts.check_counts(context(), [rid]) == {rid: {"linux": 1, "windows": 2}}
    # more checks: added to what was written, not written over it
    assert _check(client, machine, "windows") == "1.1.0"
    assert release_artifacts.check_counts(context(), [rid]) == {rid: {"linux": 1, "windows": 3}}
