"""Fields and helpers every schema uses."""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import UTC, datetime
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

INSTALLATION_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")


class Strict(ma.Schema):
    """Unknown fields are refused."""

    class Meta:
        unknown = ma.RAISE


class Text(fields.String):
    """A string that is safe to store on every database: no NUL or other control
    characters (tab excepted) and no unpaired surrogates. Everything else,
    any script or emoji, is kept exactly as sent. ``multiline=True`` (release
    notes): line breaks too, ``\r\n`` and a lone ``\r`` read as ``\n``."""

    def __init__(self, *args: Any, multiline: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.allowed = "\t\n" if multiline else "\t"

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\n" in self.allowed:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        for ch in text:
            cat = unicodedata.category(ch)
            if (cat == "Cc" and ch not in self.allowed) or cat == "Cs":
                raise ma.ValidationError("Contains a control character or an invalid code point.")
        return text


class UTCDateTime(fields.DateTime):
    """RFC 3339 in UTC, second precision: ``2026-11-22T10:00:00Z``. Input must
    carry a timezone (``Z`` or an offset) and is converted to UTC."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        return str(value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        if not isinstance(value, str) or len(value) > 64:
            raise ma.ValidationError("Not a valid RFC 3339 date-time.")
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise ma.ValidationError("Not a valid RFC 3339 date-time.") from None
        if parsed.tzinfo is None:
            raise ma.ValidationError("Give a timezone: 'Z' or an offset such as +02:00.")
        if not 1970 <= parsed.year <= 9998:
            raise ma.ValidationError("The year must be between 1970 and 9998.")
        return parsed.astimezone(UTC)


def installation_id_field(**kwargs: Any) -> fields.String:
    return Text(
        validate=validate.Regexp(
            INSTALLATION_ID_RE, error="8 to 128 characters of A-Z a-z 0-9 . _ : -"
        ),
        metadata={"example": "3f2a9c0e7d5b41a8", "pattern": INSTALLATION_ID_RE.pattern},
        **kwargs,
    )


def json_size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


class PageArgs(Strict):
    limit = fields.Integer(
        load_default=50, validate=validate.Range(1, 200), metadata={"description": "1..200"}
    )
    cursor = Text(load_default=None, validate=validate.Length(max=200))


def page_of(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """``{"items": [...], "next_cursor": str | null}`` for an item schema."""
    return ma.Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item_schema)),
            "next_cursor": fields.String(allow_none=True),
        },
        name=name,
    )
