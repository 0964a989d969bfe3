"""Store integration fixtures: a product, an integration per provider with
its secret set, and a sender that signs bodies the store's way."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.stores import fixtures as f
from tests.stores.helpers import SECRET
from tests.support.factory import Factory


@pytest.fixture
def product(factory: Factory) -> str:
    return factory.product("ruler", name="Ruler")


@pytest.fixture
def send(client: Any) -> Callable[[dict[str, Any], dict[str, Any]], Any]:
    def _send(
        integ: dict[str, Any],
        payload: Any,
        *,
        secret: str = SECRET,
        at: int | None = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        body = raw if raw is not None else f.dumps(payload)
        hdrs = headers if headers is not None else f.headers(integ["provider"], secret, body, at)
        return client.post(f"/api/v1/integrations/{integ['id']}/events", data=body, headers=hdrs)

    return _send  # type: ignore[return-value]
