"""The SDK against a live server with a deactivation budget: the refusal is a
DeactivationLimitReached carrying the server's explanation, and the local
activation is kept (the installation is still active on the server)."""

from __future__ import annotations

from pathlib import Path

import pytest
from licclient import DeactivationLimitReached, LicenseClient, LicenseError

from tests.live import LiveServer
from tests.support.factory import Factory
from tests.support.sdk import fetch_public_keys


def test_the_sdk_raises_deactivation_limit_reached_and_keeps_the_activation(
    live: LiveServer, factory: Factory, tmp_path: Path
) -> None:
    lic = factory.license(seats=1)
    keys = fetch_public_keys(live.url)

    def machine(n: int) -> LicenseClient:
        return LicenseClient(
            live.url,
            product=lic.product,
            public_keys=keys,
            state_dir=tmp_path / f"m{n}",
            installation_id=f"sdk-machine-{n:04d}",
            retries=1,
        )

    first = machine(1)
    first.activate(license_key=lic.key)
    first.deactivate()  # the budget: one per day
    second = machine(2)
    assert second.activate(license_key=lic.key).valid
    with pytest.raises(DeactivationLimitReached) as caught:
        second.deactivate()
    err = caught.value
    assert isinstance(err, LicenseError)
    assert (err.code, err.status) == ("DEACTIVATION_LIMIT_REACHED", 409)
    assert "your vendor can deactivate it sooner" in err.detail
    assert err.retry_after is not None and 86000 < err.retry_after <= 86401
    # still active, here and on the server
    assert second.status().valid
    assert second.checkin().valid
