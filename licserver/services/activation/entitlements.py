"""A licence's effective settings and entitlements, from a snapshot row or the ORM.

The snapshot carries the licence's policy settings and overrides;
``licserver.domain.policy`` turns them into the effective settings
(docs/licence-models.md).
"""

from __future__ import annotations

from typing import Any

from licserver.domain import policy as rules
from licserver.models import License


def settings_of(row: Any) -> rules.Settings:
    """The effective settings of the licence a snapshot row describes."""
    return rules.resolve(
        getattr(row, "policy_settings", None), getattr(row, "policy_overrides", None)
    )


def features(s: rules.Settings, licence_features: list[Any] | None) -> list[Any]:
    """The entitlements: the policy's and the licence's, sorted
    (``policy.features``); a licence whose policy grants none keeps its own list
    as it always has."""
    if not s.features:
        return list(licence_features or [])
    return rules.features(s, licence_features)


def licence_settings(lic: License) -> rules.Settings:
    """The effective settings of a licence loaded with the ORM."""
    return rules.resolve(
        lic.policy.settings if lic.policy is not None else None, lic.policy_overrides
    )


def licence_features(lic: License) -> list[Any]:
    """The entitlements of a licence loaded with the ORM."""
    return features(licence_settings(lic), lic.features)
