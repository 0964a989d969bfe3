"""An imported licence's legacy keys activate it through the Python SDK, against
a real gunicorn: the customers' installed products keep working. Unknown keys get
the one answer every wrong credential gets."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from licclient import InvalidCredentials, LicenseClient
from sqlalchemy import select

from licserver.models import License
from licserver.models.imports import LegacyKey
from licserver.runtime import context
from licserver.services.imports import jobs
from tests.live import LiveServer
from tests.support import loopback
from tests.support.factory import TEST_ORIGIN, Factory

pytestmark = pytest.mark.e2e
LEGACY = "OLD-7QX2-K9ZP-4M3T-A1B2"


def _import(kind: str, text: str) -> None:
    ctx = context()
    job = jobs.create(ctx, kind, "f.csv", text.encode(), "tests")
    jobs.check(ctx, job.id, TEST_ORIGIN)
    jobs.start(ctx, job.id)
    assert jobs.run(ctx, job.id, TEST_ORIGIN).failed == 0


def _client(server: LiveServer, tmp_path: Path, iid: str) -> LicenseClient:
    keys = loopback.get(f"{server.url}/api/v1/keys", timeout=10).json()["keys"]
    return LicenseClient(
        server.url,
        product="cad-pro",
        public_keys={k["kid"]: k["public_key"] for k in keys},
        state_dir=tmp_path / iid,
        installation_id=iid,
        retries=1,
    )


def test_a_legacy_key_activates_its_imported_licence(
    app: Flask, factory: Factory, server: LiveServer, tmp_path: Path
) -> None:
    factory.product("cad-pro")
    _import("customers", "external_id,name,email\nC1,Acme,it@acme.example\n")
    _import(
        "licences",
        "external_id,customer_external_id,product,seats,features,legacy_keys\n"
        f"L1,C1,cad-pro,2,export,{LEGACY};OLD-SECOND-KEY-0001\n",
    )
    stored = list(context().session.scalars(select(LegacyKey.key_hash)))
    assert len(stored) == 2 and all(LEGACY not in h for h in stored)  # hashed only

    status = _client(server, tmp_path, "install-legacy-1").activate(
        license_key=LEGACY, machine_name="ANN-PC"
    )
    assert status.valid and status.code == "VALID"
    assert status.features == ("export",)
    again = _client(server, tmp_path, "install-legacy-2").activate(
        license_key=" OLD-SECOND-KEY-0001 ", machine_name="BOB-PC"
    )
    assert again.code == "VALID" and again.license_id == status.license_id

    with pytest.raises(InvalidCredentials) as unknown:
        _client(server, tmp_path, "install-legacy-3").activate(license_key="OLD-NOT-A-KEY-99")
    wrong_lk1 = factory.license(product="cad-pro").key[:-4] + "AAAA"
    with pytest.raises(InvalidCredentials) as forged:
        _client(server, tmp_path, "install-legacy-4").activate(license_key=wrong_lk1)
    assert unknown.value.code == forged.value.code == "INVALID_CREDENTIALS"
    assert str(unknown.value) == str(forged.value)


def test_an_imported_installation_activates_again_without_a_second_seat(
    app: Flask, factory: Factory, server: LiveServer, tmp_path: Path
) -> None:
    factory.product("cad-pro")
    _import("customers", "external_id,name,email\nC1,Acme,it@acme.example\n")
    _import(
        "licences",
        f"external_id,customer_external_id,product,seats,legacy_keys\nL1,C1,cad-pro,1,{LEGACY}\n",
    )
    _import(
        "activations",
        "external_id,licence_external_id,installation_id,machine_name,activated_at\n"
        "A1,L1,install-imported-1,ANN-PC,2025-03-01\n",
    )
    status = _client(server, tmp_path, "install-imported-1").activate(
        license_key=LEGACY, machine_name="ANN-PC"
    )
    assert status.code == "VALID"
    lic = context().session.scalars(select(License)).one()
    assert (lic.seats, lic.seats_used) == (1, 1)
