"""Schemas of the admin API's policies. The settings are one object whose keys
and values ``licserver.domain.policy.check`` validates (so the rules live in one
place); the OpenAPI document lists them from the domain's defaults."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from licserver.api.schemas.common import Strict, Text, UTCDateTime, page_of
from licserver.domain import policy as rules

_SETTINGS_DOC = (
    "Policy settings (docs/licence-models.md): "
    + ", ".join(f"`{k}` (default {v!r})" for k, v in rules.DEFAULTS.to_json().items())
    + ". Unknown names are refused."
)


class _SettingsField(fields.Dict):
    """A JSON object; its keys and values are checked by the domain."""

    def __init__(self, *, metadata: dict[str, Any] | None = None, **kw: Any) -> None:
        doc = " ".join(x for x in ((metadata or {}).get("description"), _SETTINGS_DOC) if x)
        super().__init__(keys=fields.String(), metadata={"description": doc}, **kw)


class PolicyIn(Strict):
    name = Text(
        required=True,
        validate=validate.Regexp(rules.POLICY_NAME_RE, error="1 to 64 of a-z 0-9 . _ -"),
        metadata={"example": "floating-5"},
    )
    settings = _SettingsField(load_default=dict)


class PolicyPatch(Strict):
    name = Text(validate=validate.Regexp(rules.POLICY_NAME_RE, error="1 to 64 of a-z 0-9 . _ -"))
    settings = _SettingsField(
        metadata={"description": "A partial change; null resets a setting to its default."}
    )


class PolicyPatchArgs(Strict):
    dry_run = fields.Boolean(
        load_default=False,
        metadata={"description": "true: answer what the change would do; save nothing."},
    )


class PolicyOut(ma.Schema):
    id = fields.String(metadata={"example": "P-4K7M-2QX9"})
    product = fields.String()
    name = fields.String()
    settings = fields.Dict(metadata={"description": "Every setting, effective values."})
    licenses = fields.Integer(metadata={"description": "Licences following this policy."})
    created_at = UTCDateTime()
    updated_at = UTCDateTime()


PolicyPage = page_of(PolicyOut, "PolicyPage")


class AffectedOut(ma.Schema):
    activation_id = fields.String()
    license_id = fields.String()
    installation_id = fields.String()
    machine_name = fields.String()
    last_seen_at = UTCDateTime()
    effect = fields.String(
        validate=validate.OneOf([rules.LEASE_EXPIRED, rules.MARK_INACTIVE, rules.FREE_SEAT])
    )


class AffectedList(ma.Schema):
    count = fields.Integer()
    items = fields.List(fields.Nested(AffectedOut))


class PolicyChangeOut(ma.Schema):
    policy = fields.Nested(PolicyOut)
    changed = fields.List(fields.String(), metadata={"description": "Names of changed settings."})
    affected = fields.Nested(
        AffectedList,
        metadata={"description": "Live activations the new rules act on now."},
    )
    saved = fields.Boolean()
    dry_run = fields.Boolean()


class RenewIn(Strict):
    days = fields.Integer(
        strict=True,
        validate=validate.Range(1, 36500),
        metadata={"description": "Default: the policy's duration_days."},
    )


class ConvertIn(Strict):
    policy = Text(required=True, validate=validate.Length(1, 64))
    expires_at = UTCDateTime(
        allow_none=True,
        metadata={"description": "Absent: the new policy's rule from now; null: perpetual."},
    )
    seats = fields.Integer(strict=True, validate=validate.Range(1, 1_000_000))
