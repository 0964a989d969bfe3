"""Schemas of the client API (called by products)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from licserver.api.schemas.common import (
    INSTALLATION_ID_RE,
    Strict,
    Text,
    UTCDateTime,
    json_size,
)
from licserver.domain import policy as rules
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


def credentials_one_of() -> list[dict[str, Any]]:
    """The OpenAPI statement of CredentialsMixin's rule: exactly one kind of
    credentials, all of its fields and none of another kind's (``oneOf``, each
    branch naming its fields as required and forbidding the others)."""
    out: list[dict[str, Any]] = []
    for kind, names in _SETS.items():
        others = [name for name in _FIELD_TO_SET if name not in names]
        out.append(
            {
                "title": kind,
                "required": list(names),
                "not": {"anyOf": [{"required": [name]} for name in others]},
            }
        )
    return out


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


def _fingerprints(value: Any) -> None:
    try:
        rules.check_fingerprints(value)
    except ValueError as exc:
        raise ma.ValidationError(str(exc)) from None


def _feature_names(value: list[str]) -> None:
    if len(value) > 100:
        raise ma.ValidationError("At most 100 features.")
    bad = [f for f in value if not rules.FEATURE_RE.match(f)]
    if bad:
        raise ma.ValidationError(f"Not a feature name (1-64 of A-Z a-z 0-9 . _ : -): {bad[0]!r}.")


class Installation(Strict):
    """``installation_id``, or ``site_url`` in its place (a licensed site: its
    installation ID is derived from the normalised URL, docs/licence-models.md)."""

    installation_id = Text(
        required=True,
        validate=validate.Regexp(
            INSTALLATION_ID_RE, error="8 to 128 characters of A-Z a-z 0-9 . _ : -"
        ),
        metadata={
            "example": "3f2a9c0e7d5b41a8",
            "pattern": INSTALLATION_ID_RE.pattern,
            "description": "Required unless site_url is given (it is then derived from it).",
        },
    )
    site_url = Text(
        validate=validate.Length(1, rules.MAX_SITE_URL),
        metadata={
            "example": "https://shop.example.com",
            "description": "A licensed site instead of installation_id (http/https).",
        },
    )
    release_date = fields.Date(
        metadata={
            "description": "YYYY-MM-DD: the release date of the calling version "
            "(maintained access after expiry)."
        },
    )

    @ma.pre_load
    def _site_installation(self, data: Any, **_: Any) -> Any:
        """A site stands for its installation: derive the ID before the fields load."""
        if isinstance(data, dict) and "site_url" in data and "installation_id" not in data:
            data = dict(data)
            try:
                site = rules.normalise_site(data["site_url"])
            except ValueError:
                site = ""  # _one_installation says what is wrong with it
            data["installation_id"] = rules.site_installation_id(site)
        return data

    @ma.validates_schema
    def _one_installation(self, data: dict[str, Any], **_: Any) -> None:
        if "site_url" not in data:
            return
        try:
            site = rules.normalise_site(data["site_url"])
        except ValueError as exc:
            raise ma.ValidationError([str(exc)], field_name="site_url") from None
        if data.get("installation_id") != rules.site_installation_id(site):
            raise ma.ValidationError(
                ["Give installation_id or site_url, not both."], field_name="site_url"
            )

    @ma.post_load
    def _site(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        if "site_url" in data:
            data["site_url"] = rules.normalise_site(data["site_url"])
        return data


class ActivateIn(Installation, CredentialsMixin):
    machine_name = Text(
        validate=validate.Length(1, 255),
        metadata={
            "example": "DESIGN-PC-07",
            "description": "Required with installation_id; with site_url it defaults to the site.",
        },
    )
    client = fields.Nested(ClientInfo, load_default=None)
    fingerprints = fields.Dict(
        keys=fields.String(),
        values=Text(),
        validate=_fingerprints,
        metadata={
            "description": "Secondary identifiers (name: hash), at most 8: fingerprint "
            "continuity moves this machine's activation to a new installation ID."
        },
    )

    @ma.validates_schema
    def _machine_name(self, data: dict[str, Any], **_: Any) -> None:
        if "machine_name" not in data and "site_url" not in data:
            raise ma.ValidationError(
                ["Missing data for required field."], field_name="machine_name"
            )

    @ma.post_load
    def _default_machine_name(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        if "machine_name" not in data:
            data["machine_name"] = rules.normalise_site(data["site_url"])[:255]
        return data


class WarningOut(ma.Schema):
    code = fields.String(metadata={"example": "SEAT_LIMIT_REACHED"})
    detail = fields.String()


_WARNINGS = {"description": "Report-only licences: what would have been refused (else empty)."}


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
    model = fields.String(validate=validate.OneOf(rules.MODELS))
    lease_expires_at = UTCDateTime(
        allow_none=True, metadata={"description": "Floating: the lease's end (else null)."}
    )
    features = fields.List(fields.String(), metadata={"description": "Entitlements."})
    warnings = fields.List(fields.Nested(WarningOut), metadata=_WARNINGS)
    moved_from = fields.String(
        allow_none=True,
        metadata={"description": "Fingerprint continuity: the installation ID it moved from."},
    )


class CheckinIn(Strict):
    activation_token = Text(required=True, validate=validate.Length(1, 256))
    release_date = fields.Date(metadata={"description": "YYYY-MM-DD"})


class CertificateOut(ma.Schema):
    certificate = fields.String()
    lease_expires_at = UTCDateTime(
        allow_none=True, metadata={"description": "Floating: the renewed lease's end."}
    )
    warnings = fields.List(fields.Nested(WarningOut), metadata=_WARNINGS)


class DeactivatedOut(ma.Schema):
    deactivated_at = UTCDateTime()
    warnings = fields.List(fields.Nested(WarningOut), metadata=_WARNINGS)


class ValidateIn(Installation, CredentialsMixin):
    features = fields.List(
        Text(),
        validate=_feature_names,
        metadata={
            "description": "Features the caller needs: FEATURE_MISSING when one is not granted."
        },
    )


class LicenseSummary(ma.Schema):
    id = fields.String()
    product = fields.String()
    seats = fields.Integer()
    seats_used = fields.Integer()
    expires_at = UTCDateTime(allow_none=True)
    status = fields.String()
    features = fields.List(
        fields.String(), metadata={"description": "The entitlements (policy and licence features)."}
    )
    model = fields.String(
        validate=validate.OneOf(rules.MODELS),
        metadata={"description": "node_locked or floating."},
    )


class ValidateOut(ma.Schema):
    valid = fields.Boolean()
    code = fields.String(
        validate=validate.OneOf(
            [
                "VALID",
                "NOT_ACTIVATED",
                "LICENSE_EXPIRED",
                "LICENSE_SUSPENDED",
                "LICENSE_REVOKED",
                "FEATURE_MISSING",
            ]
        )
    )
    license = fields.Nested(LicenseSummary)
    warnings = fields.List(fields.Nested(WarningOut), metadata=_WARNINGS)
    missing_features = fields.List(
        fields.String(), metadata={"description": "Only when features were asked for."}
    )


class KeyOut(ma.Schema):
    kid = fields.String()
    alg = fields.String(metadata={"example": "Ed25519"})
    public_key = fields.String(metadata={"description": "base64url of the 32 raw bytes"})
    status = fields.String(validate=validate.OneOf(["active", "retired"]))
    signs = fields.Boolean(
        metadata={
            "description": "true for the one key that signs now; false for retired keys "
            "and for a staged key (status active: pin it now, it signs once activated)"
        }
    )


class KeysOut(ma.Schema):
    keys = fields.List(fields.Nested(KeyOut))


class HealthOut(ma.Schema):
    status = fields.String()
