"""Schemas of the webhook admin API. The signing secret is dumped only by the
create and rotate answers (WebhookSecretOut)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from licserver.api.schemas.common import PageArgs, Strict, Text, UTCDateTime, page_of
from licserver.domain import webhooks as rules

_EVENTS_HELP = (
    "What to send: event kinds (activation.created), prefixes (activation.*) or '*' for all."
)


def _events(**kw: object) -> fields.List[str]:
    return fields.List(
        Text(validate=validate.Length(1, 100)),
        validate=validate.Length(1, 50),
        metadata={"description": _EVENTS_HELP, "example": ["activation.*", "license.revoked"]},
        **kw,  # type: ignore[arg-type]
    )


def _url(**kw: object) -> Text:
    return Text(
        validate=validate.Length(1, rules.MAX_URL_LENGTH),
        metadata={
            "description": "http:// or https://; redirects are not followed.",
            "example": "https://crm.example.com/hooks/licserver",
        },
        **kw,  # type: ignore[arg-type]
    )


class WebhookIn(Strict):
    url = _url(required=True)
    events = _events(required=True)
    description = Text(load_default=None, allow_none=True, validate=validate.Length(max=200))
    enabled = fields.Boolean(load_default=True)
    include_ip = fields.Boolean(
        load_default=False,
        metadata={"description": "Put the client's IP address in event data (personal data)."},
    )


class WebhookPatch(Strict):
    url = _url()
    events = _events()
    description = Text(allow_none=True, validate=validate.Length(max=200))
    enabled = fields.Boolean()
    include_ip = fields.Boolean()


class WebhookOut(ma.Schema):
    id = fields.String(metadata={"example": "W-3K9Q7ZTB"})
    url = fields.String()
    description = fields.String(allow_none=True)
    events = fields.List(fields.String())
    enabled = fields.Boolean()
    include_ip = fields.Boolean()
    created_at = UTCDateTime()
    updated_at = UTCDateTime()


class WebhookSecretOut(WebhookOut):
    secret = fields.String(
        metadata={"description": "Signs every delivery. Shown only in this answer: keep it."}
    )


WebhookPage = page_of(WebhookOut, "WebhookPage")


class AttemptOut(ma.Schema):
    number = fields.Integer()
    at = UTCDateTime()
    status_code = fields.Integer(allow_none=True)
    error = fields.String(allow_none=True)
    duration_ms = fields.Integer()
    response_excerpt = fields.String(allow_none=True)


class DeliveryOut(ma.Schema):
    id = fields.Integer()
    event_id = fields.Integer(allow_none=True, metadata={"description": "None for a ping."})
    type = fields.String(metadata={"example": "activation.created"})
    status = fields.String(validate=validate.OneOf(["pending", "delivered", "failed"]))
    attempts = fields.Integer()
    max_attempts = fields.Integer()
    next_attempt_at = UTCDateTime(allow_none=True)
    last_attempt_at = UTCDateTime(allow_none=True)
    last_status_code = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    last_duration_ms = fields.Integer(allow_none=True)
    delivered_at = UTCDateTime(allow_none=True)
    created_at = UTCDateTime()
    attempt_log = fields.List(fields.Nested(AttemptOut))


DeliveryPage = page_of(DeliveryOut, "WebhookDeliveryPage")


class DeliveryListArgs(PageArgs):
    status = Text(validate=validate.OneOf(["pending", "delivered", "failed"]))
