"""Schemas of the orders endpoint (the billing system's payment history)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from licserver.api.schemas.common import PageArgs, Strict, Text, UTCDateTime, page_of
from licserver.domain.ids import CURRENCY_RE, ORDER_NUMBER_RE


def _amount(**kw: Any) -> fields.Decimal:
    # The range (under 10^12 either way) is checked by services.orders: apispec
    # would write a Decimal range into the document as strings.
    return fields.Decimal(
        metadata={
            "description": "Exact amount, at most two decimal places (a number, or a "
            'string such as "1200.00" to avoid binary floating point).',
            "example": 1200.0,
        },
        **kw,
    )


class OrderItemIn(Strict):
    description = Text(required=True, validate=validate.Length(1, 500))
    amount = _amount(required=True)
    license_id = Text(
        load_default=None,
        allow_none=True,
        validate=validate.Length(1, 64),
        metadata={"description": "The customer's licence this line is for, if any."},
    )


class OrderIn(Strict):
    customer = Text(
        required=True, validate=validate.Length(1, 64), metadata={"example": "C-4F7K2Q"}
    )
    number = Text(
        required=True,
        validate=validate.Regexp(
            ORDER_NUMBER_RE, error="1 to 64 of A-Z a-z 0-9 . _ -, starting with a letter or digit."
        ),
        metadata={"description": "The invoice/order number; unique.", "example": "INV-2026-0042"},
    )
    date = fields.Date(required=True, metadata={"example": "2026-11-22"})
    amount = _amount(required=True)
    currency = Text(
        required=True,
        validate=validate.Regexp(CURRENCY_RE, error="A three-letter ISO 4217 code."),
        metadata={"example": "EUR"},
    )
    po_number = Text(load_default=None, allow_none=True, validate=validate.Length(1, 100))
    items = fields.List(
        fields.Nested(OrderItemIn),
        required=True,
        validate=validate.Length(1, 200),
        metadata={"description": "The lines of the order; they add up to amount."},
    )


class OrderItemOut(ma.Schema):
    description = fields.String()
    amount = fields.String()
    license_id = fields.String(allow_none=True)


class OrderOut(ma.Schema):
    customer = fields.String()
    number = fields.String()
    date = fields.Date()
    amount = fields.String(metadata={"example": "1200.00"})
    currency = fields.String()
    po_number = fields.String(allow_none=True)
    items = fields.List(fields.Nested(OrderItemOut))
    created_at = UTCDateTime()


OrderPage = page_of(OrderOut, "OrderPage")


class OrderListArgs(PageArgs):
    customer = Text(validate=validate.Length(1, 64))
