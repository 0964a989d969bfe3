"""Schemas of store integrations. ``signing_secret`` is load-only: no answer
ever holds it."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from licserver.api.schemas.common import Strict, Text, UTCDateTime, page_of
from licserver.domain.stores import ON_REFUND, PROVIDERS


def _secret() -> Text:
    return Text(
        load_only=True,
        allow_none=True,
        validate=validate.Length(1, 500),
        metadata={"description": "The store's webhook signing secret (write-only)."},
    )


class ItemIn(Strict):
    store_item = Text(
        required=True,
        validate=validate.Length(1, 200),
        metadata={
            "description": "Stripe/Paddle price id, FastSpring product path, or generic item."
        },
    )
    product = Text(required=True, validate=validate.Length(1, 64))
    policy = Text(load_default=None, allow_none=True, validate=validate.Length(1, 64))
    seats_per_unit = fields.Integer(load_default=1, validate=validate.Range(1, 100_000))
    duration_days = fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(1, 36_500)
    )


class IntegrationIn(Strict):
    provider = Text(required=True, validate=validate.OneOf(PROVIDERS))
    name = Text(required=True, validate=validate.Length(1, 200))
    signing_secret = _secret()
    on_refund = Text(load_default="revoke", validate=validate.OneOf(ON_REFUND))
    items = fields.List(fields.Nested(ItemIn), load_default=list, validate=validate.Length(max=200))


class IntegrationPatch(Strict):
    name = Text(validate=validate.Length(1, 200))
    signing_secret = _secret()
    on_refund = Text(validate=validate.OneOf(ON_REFUND))
    items = fields.List(fields.Nested(ItemIn), validate=validate.Length(max=200))


class ItemOut(ma.Schema):
    store_item = fields.String()
    product = fields.String()
    policy = fields.String(allow_none=True)
    seats_per_unit = fields.Integer()
    duration_days = fields.Integer(allow_none=True)


class IntegrationOut(ma.Schema):
    id = fields.String(metadata={"example": "I-7QK2M9TB"})
    provider = fields.String()
    name = fields.String()
    webhook_url = fields.String(metadata={"description": "Paste this into the store."})
    on_refund = fields.String()
    items = fields.List(fields.Nested(ItemOut))
    signing_secret_set = fields.Boolean()
    created_at = UTCDateTime()
    updated_at = UTCDateTime()


class StoreEventOut(ma.Schema):
    event_id = fields.String()
    type = fields.String()
    received_at = UTCDateTime()
    outcome = fields.String(metadata={"description": "applied | ignored | failed"})
    detail = fields.String(allow_none=True)
    licenses = fields.List(fields.String())


class ReceivedOut(ma.Schema):
    event_id = fields.String()
    type = fields.String()
    outcome = fields.String()
    detail = fields.String()
    repeat = fields.Boolean()


class ReceiveOut(ma.Schema):
    received = fields.List(fields.Nested(ReceivedOut))


IntegrationPage = page_of(IntegrationOut, "IntegrationPage")
StoreEventPage = page_of(StoreEventOut, "StoreEventPage")
