"""Schemas of the admin API. Output schemas are split so that secrets (key,
activation password) are dumped only by the endpoints allowed to show them."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from licserver.api.schemas.common import PageArgs, Strict, Text, UTCDateTime, page_of
from licserver.domain.email import EMAIL_RE
from licserver.domain.ids import PRODUCT_CODE_RE
from licserver.domain.permissions import SCOPES
from licserver.domain.roles import ROLES
from licserver.domain.status import ALL as LICENSE_STATUSES

FEATURE = Text(validate=validate.Length(1, 64))


def _email(**kw: Any) -> Text:
    return Text(
        validate=[
            validate.Length(3, 254),
            validate.Regexp(EMAIL_RE, error="Not a valid email address."),
        ],
        **kw,
    )


# ---- products ---------------------------------------------------------------


class ProductIn(Strict):
    code = Text(
        required=True,
        validate=validate.Regexp(
            PRODUCT_CODE_RE,
            error="1 to 64 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit.",
        ),
        metadata={"example": "cad-pro"},
    )
    name = Text(required=True, validate=validate.Length(1, 200))
    default_seats = fields.Integer(
        strict=True, load_default=1, validate=validate.Range(1, 1_000_000)
    )
    default_duration_days = fields.Integer(
        strict=True, load_default=None, allow_none=True, validate=validate.Range(1, 36500)
    )
    offline_grace_days = fields.Integer(
        strict=True, load_default=14, validate=validate.Range(1, 3650)
    )
    checkout_url = Text(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=500),
        metadata={
            "description": "The store's checkout page for more seats or a renewal: "
            "the portal links there instead of its request form."
        },
    )


class ProductOut(ma.Schema):
    code = fields.String()
    name = fields.String()
    default_seats = fields.Integer()
    default_duration_days = fields.Integer(allow_none=True)
    offline_grace_days = fields.Integer()
    checkout_url = fields.String(allow_none=True)
    created_at = UTCDateTime()


ProductPage = page_of(ProductOut, "ProductPage")


# ---- customers and users ----------------------------------------------------


class CustomerIn(Strict):
    name = Text(required=True, validate=validate.Length(1, 200))
    email = _email(required=True)
    company_password = Text(validate=validate.Length(8, 256), load_default=None, allow_none=True)


class CustomerPatch(Strict):
    name = Text(validate=validate.Length(1, 200))
    email = _email()
    company_password = Text(
        validate=validate.Length(8, 256),
        allow_none=True,
        metadata={"description": "A new company password; null turns it off."},
    )


class CustomerOut(ma.Schema):
    number = fields.String(metadata={"example": "C-4F7K2Q"})
    name = fields.String()
    email = fields.String()
    company_password_set = fields.Boolean()
    created_at = UTCDateTime()
    invitation_sent = fields.Boolean(
        metadata={"description": "On create: whether the owner's invitation email went out."}
    )


CustomerPage = page_of(CustomerOut, "CustomerPage")


class CustomerListArgs(PageArgs):
    email = Text(validate=validate.Length(1, 254))


class UserIn(Strict):
    email = _email(required=True)
    name = Text(required=True, validate=validate.Length(1, 200))
    role = Text(required=True, validate=validate.OneOf(ROLES))
    licenses = fields.List(
        Text(validate=validate.Length(1, 64)), validate=validate.Length(max=1000), load_default=None
    )


class UserOut(ma.Schema):
    email = fields.String()
    name = fields.String()
    role = fields.String()
    licenses = fields.List(fields.String(), metadata={"description": "Empty: all licences."})
    invited = fields.Boolean(metadata={"description": "True until the user has set a password."})
    invitation_sent = fields.Boolean()
    created_at = UTCDateTime()


class UserList(ma.Schema):
    items = fields.List(fields.Nested(UserOut))
    next_cursor = fields.String(allow_none=True)


# ---- licences ---------------------------------------------------------------


class LicenseIn(Strict):
    product = Text(required=True, validate=validate.Length(1, 64))
    customer = Text(required=True, validate=validate.Length(1, 64))
    seats = fields.Integer(
        strict=True,
        validate=validate.Range(1, 1_000_000),
        metadata={"description": "Default: the product's default_seats."},
    )
    expires_at = UTCDateTime(
        allow_none=True,
        metadata={
            "description": "null: perpetual. Absent: the product's default duration, if any."
        },
    )
    features = fields.List(FEATURE, validate=validate.Length(max=100), load_default=list)
    policy = Text(
        validate=validate.Length(1, 64),
        metadata={"description": "One of the product's policies: its id (P-...) or name."},
    )
    policy_overrides = fields.Dict(
        keys=fields.String(),
        allow_none=True,
        metadata={"description": "This licence's own values of some policy settings."},
    )


class LicensePatch(Strict):
    seats = fields.Integer(strict=True, validate=validate.Range(1, 1_000_000))
    expires_at = UTCDateTime(allow_none=True)
    features = fields.List(FEATURE, validate=validate.Length(max=100))
    policy = Text(
        validate=validate.Length(1, 64),
        allow_none=True,
        metadata={"description": "A policy id or name of the product; null: no policy."},
    )
    policy_overrides = fields.Dict(
        keys=fields.String(),
        allow_none=True,
        metadata={"description": "Replaces the licence's overrides; null or {}: none."},
    )


class LicenseOut(ma.Schema):
    id = fields.String(metadata={"example": "L-7K3M-9QX2"})
    product = fields.String()
    customer = fields.String()
    seats = fields.Integer()
    seats_used = fields.Integer()
    expires_at = UTCDateTime(allow_none=True)
    features = fields.List(fields.String())
    status = fields.String(validate=validate.OneOf(LICENSE_STATUSES))
    created_at = UTCDateTime()
    policy = fields.String(allow_none=True, metadata={"description": "The policy's id."})
    policy_name = fields.String(allow_none=True)
    policy_overrides = fields.Dict(allow_none=True)
    settings = fields.Dict(metadata={"description": "The effective policy settings."})
    model = fields.String()
    trial = fields.Boolean()
    entitlements = fields.List(
        fields.String(), metadata={"description": "The policy's and the licence's features."}
    )
    first_activated_at = UTCDateTime(allow_none=True)
    converted_at = UTCDateTime(allow_none=True)


class LicenseSecretOut(LicenseOut):
    key = fields.String(metadata={"description": "LK1 licence key"})
    activation_password = fields.String()


LicensePage = page_of(LicenseOut, "LicensePage")


class LicenseListArgs(PageArgs):
    customer = Text(validate=validate.Length(1, 64))
    product = Text(validate=validate.Length(1, 64))
    status = Text(validate=validate.OneOf(LICENSE_STATUSES))


class StatusChangeIn(Strict):
    reason = Text(validate=validate.Length(1, 500))


class PasswordOut(ma.Schema):
    activation_password = fields.String()


class LicenseKeyOut(ma.Schema):
    key = fields.String()


# ---- activations and history -----------------------------------------------


class ActorOut(ma.Schema):
    type = fields.String(validate=validate.OneOf(["client", "admin", "user", "system"]))
    id = fields.String(allow_none=True)


class ActivationAdminOut(ma.Schema):
    id = fields.String(metadata={"example": "A-5TQ0V8M3R7K2X9W4"})
    license_id = fields.String()
    installation_id = fields.String()
    machine_name = fields.String()
    client = fields.Dict(allow_none=True)
    ip = fields.String(allow_none=True)
    state = fields.String(validate=validate.OneOf(["active", "deactivated"]))
    activated_at = UTCDateTime()
    last_checkin_at = UTCDateTime(allow_none=True)
    deactivated_at = UTCDateTime(allow_none=True)
    deactivated_by = fields.Nested(ActorOut, allow_none=True)
    deactivation_reason = fields.String(allow_none=True)
    site_url = fields.String(allow_none=True, metadata={"description": "A licensed site."})
    lease_expires_at = UTCDateTime(allow_none=True, metadata={"description": "Floating."})
    inactive_since = UTCDateTime(allow_none=True, metadata={"description": "Heartbeat missed."})


ActivationPage = page_of(ActivationAdminOut, "ActivationPage")


class ActivationListArgs(PageArgs):
    state = Text(load_default="active", validate=validate.OneOf(["active", "all"]))


class ActivationSearchArgs(PageArgs):
    installation_id = Text(validate=validate.Length(1, 128))
    machine_name = Text(validate=validate.Length(1, 255))

    @ma.validates_schema
    def _one(self, data: dict[str, object], **_: object) -> None:
        if not data.get("installation_id") and not data.get("machine_name"):
            raise ma.ValidationError(
                "Give installation_id or machine_name (or both).", field_name="query"
            )


class DeactivateIn(Strict):
    reason = Text(
        required=True, validate=validate.Length(1, 500), metadata={"example": "Laptop stolen"}
    )


class EventOut(ma.Schema):
    id = fields.Integer()
    at = UTCDateTime()
    kind = fields.String()
    actor = fields.Nested(ActorOut)
    license_id = fields.String(allow_none=True)
    activation_id = fields.String(allow_none=True)
    installation_id = fields.String(allow_none=True)
    machine_name = fields.String(allow_none=True)
    ip = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    data = fields.Dict()


EventPage = page_of(EventOut, "EventPage")


class TokenIn(Strict):
    name = Text(required=True, validate=validate.Length(1, 100))
    scope = Text(load_default="full", validate=validate.OneOf(list(SCOPES)))
