"""The security settings are checked at start-up, with a message naming them."""

from __future__ import annotations

from typing import Any

import pytest

from licserver import create_app
from licserver.config import ConfigError
from licserver.extensions import db
from licserver.runtime import runtime


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"DEACTIVATION_BUDGET": "3 per fortnight"}, "DEACTIVATION_BUDGET: not a budget"),
        ({"DEACTIVATION_BUDGET": "three"}, "e.g. '3 per 30 days'"),
        ({"HSTS": "sometimes"}, "HSTS must be true or false"),
    ],
)
def test_bad_security_settings_stop_start_up(
    app_config: dict[str, Any], settings: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        create_app({**app_config, **settings})


def test_the_environment_sets_the_deactivation_budget(
    app_config: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LICSERVER_DEACTIVATION_BUDGET", "10 per week")
    app = create_app({k: v for k, v in app_config.items() if k != "DEACTIVATION_BUDGET"})
    budget = runtime(app).settings.deactivation_budget
    assert budget is not None and (budget.count, budget.window.days) == (10, 7)
    with app.app_context():
        db.engine.dispose()
