"""config.example.toml documents every setting, and only real ones."""

from __future__ import annotations

import tomllib
from pathlib import Path

from licserver.config import DEFAULTS

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"


def test_example_lists_every_setting_with_its_default() -> None:
    data = tomllib.loads(EXAMPLE.read_text())
    assert {k.upper() for k in data} == set(DEFAULTS)
    for key, value in data.items():
        default = DEFAULTS[key.upper()]
        assert value == default, f"{key}: example says {value!r}, default is {default!r}"
