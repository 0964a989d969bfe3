"""Schemas of the client API (called by products)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from licserver.api.schemas.common import Strict, Text, UTCDateTime, installation_id_field, json_size
from licserver.services.credentials import (
    ACTIVATION_PASSWORD,
    COMPANY_PASSWORD,
    LICENSE_KEY,
    Credentials,
)

_SETS = {
    LICENSE_KEY: ("license_key",),
    ACTIVATION_PASSWORD: ("license_id", "activation_password"),
    COMPANY_PASSWORD: ("customer_number", "company_password", "product"),
}
_FIELD_TO_SET = {name: kind for kind, names in _SETS.items() for name in names}
CLIENT_INFO_MAX_BYTES = 1024


class CredentialsMixin(Strict):
    """Exactly one of: license_key · license_id + activation_password ·
    customer_number + company_password + product."""

    license_key = Text(validate=validate.Length(1, 4096))
    license_id = Text(validate=validate.Length(1, 64), metadata={"example": "L-7K3M-9QX2"})
    activation_password = Text(validate=validate.Length(1, 256))
    customer_number = Text(validate=validate.Length(1, 64), metadata={"example": "C-4F7K2Q"})
    company_password = Text(validate=validate.Length(1, 256))
    product = Text(validate=validate.Length(1, 64), metadata={"example": "cad-pro"})

    @ma.validates_schema
    def _one_kind(self, data: dict[str, Any], **_: Any) -> None:
        kinds = {_FIELD_TO_SET[name] for name in data if name in _FIELD_TO_SET}
        if not kinds:
            raise ma.ValidationError(
                "Give credentials: license_key, or license_id and activation_password, "
                "or customer_number, company_password and product.",
                field_name="credentials",
            )
        if len(kinds) > 1:
            raise ma.ValidationError(
                "Give exactly one kind of credentials, not a mix.", field_name="credentials"
            )
        (kind,) = kinds
        missing = [name for name in _SETS[kind] if name not in data]
        if missing:
            raise ma.ValidationError(
                {name: ["Missing data for required field."] for name in missing}
            )

    @ma.post_load
    def _credentials(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        kind = next(_FIELD_TO_SET[name] for name in data if name in _FIELD_TO_SET)
        creds = Credentials(kind=kind, **{n: data.pop(n) for n in list(data) if n in _FIELD_TO_SET})
        data["credentials"] = creds
        return data


class ClientInfo(Strict):
    app_version = Text(validate=validate.Length(max=100))
    os = Text(validate=validate.Length(max=200))
    hostname = Text(validate=validate.Length(max=255))

    @ma.validates_schema
    def _size(self, data: dict[str, Any], **_: Any) -> None:
        if json_size(data) > CLIENT_INFO_MAX_BYTES:
            raise ma.ValidationError(f"At most {CLIENT_INFO_MAX_BYTES} bytes.")


class ActivateIn(CredentialsMixin):
    installation_id = installation_id_field(required=True)
    machine_name = Text(
        required=True, validate=validate.Length(1, 255), metadata={"example": "DESIGN-PC-07"}
    )
    client = fields.Nested(ClientInfo, load_default=None)


class ActivationOut(ma.Schema):
    activation_id = fields.String()
    license_id = fields.String()
    installation_id = fields.String()
    machine_name = fields.String()
    activated_at = UTCDateTime()
    certificate = fields.String(metadata={"description": "AC1 activation certificate"})
    activation_token = fields.String(
        metadata={"description": "Secret; authenticates later calls of this installation."}
    )


class CheckinIn(Strict):
    activation_token = Text(required=True, validate=validate.Length(1, 256))


class CertificateOut(ma.Schema):
    certificate = fields.String()


class DeactivatedOut(ma.Schema):
    deactivated_at = UTCDateTime()


class ValidateIn(CredentialsMixin):
    installation_id = installation_id_field(required=True)


class LicenseSummary(ma.Schema):
    id = fields.String()
    product = fields.String()
    seats = fields.Integer()
    seats_used = fields.Integer()
    expires_at = UTCDateTime(allow_none=True)
    status = fields.String()


class ValidateOut(ma.Schema):
    valid = fields.Boolean()
    code = fields.String(
        validate=validate.OneOf(
            ["VALID", "NOT_ACTIVATED", "LICENSE_EXPIRED", "LICENSE_SUSPENDED", "LICENSE_REVOKED"]
        )
    )
    license = fields.Nested(LicenseSummary)


class KeyOut(ma.Schema):
    kid = fields.String()
    alg = fields.String(metadata={"example": "Ed25519"})
    public_key = fields.String(metadata={"description": "base64url of the 32 raw bytes"})
    status = fields.String(validate=validate.OneOf(["active", "retired"]))


class KeysOut(ma.Schema):
    keys = fields.List(fields.Nested(KeyOut))


class HealthOut(ma.Schema):
    status = fields.String()
