"""Schemas of the releases (downloads) endpoints of the admin API."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import marshmallow as ma
from marshmallow import fields, validate

from licserver.api.schemas.common import Strict, Text, UTCDateTime, page_of

VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")
SHA256_RE = re.compile(r"^[0-9A-Fa-f]{64}$")

_version = {
    "validate": validate.Regexp(
        VERSION_RE, error="1 to 64 characters of A-Z a-z 0-9 . _ + -, starting with A-Z a-z 0-9."
    ),
    "metadata": {"example": "3.1.0"},
}
_sha256 = {
    "validate": validate.Regexp(SHA256_RE, error="64 hexadecimal characters."),
    "metadata": {"description": "SHA-256 of the file, hexadecimal."},
}


class HttpUrl(Text):
    def _deserialize(self, value: object, attr: str | None, data: object, **kw: object) -> str:
        text = super()._deserialize(value, attr, data, **kw)
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.netloc or " " in text:
            raise ma.ValidationError("An http:// or https:// URL.")
        return text


class _ReleaseFields(Strict):
    version = Text(required=True, **_version)  # type: ignore[arg-type]
    notes = Text(load_default=None, allow_none=True, validate=validate.Length(max=20000))
    released_at = UTCDateTime(
        load_default=None, allow_none=True, metadata={"description": "Default: now."}
    )
    filename = Text(
        load_default=None,
        allow_none=True,
        validate=validate.Length(1, 255),
        metadata={
            "description": "The name the download is saved as (default: from the file or URL)."
        },
    )


class ReleaseUrlIn(_ReleaseFields):
    """A release hosted elsewhere: its URL and SHA-256 (JSON body)."""

    url = HttpUrl(required=True, validate=validate.Length(max=2000))
    sha256 = Text(required=True, **_sha256)  # type: ignore[arg-type]
    size = fields.Integer(
        strict=True, load_default=None, allow_none=True, validate=validate.Range(0, 2**62)
    )


class ReleaseUploadIn(_ReleaseFields):
    """A release uploaded as a file (multipart/form-data); the server computes
    its SHA-256 and size, and checks ``sha256`` against it when given."""

    sha256 = Text(load_default=None, **_sha256)  # type: ignore[arg-type]
    file = fields.Raw(
        required=True, load_only=True, metadata={"type": "string", "format": "binary"}
    )


class PublishIn(Strict):
    notify = fields.Boolean(
        load_default=True,
        metadata={
            "description": "Email the users who want product updates (once, ever). "
            "false: publish quietly, and never email this release."
        },
    )


class ReleaseOut(ma.Schema):
    product = fields.String()
    version = fields.String()
    notes = fields.String(allow_none=True)
    released_at = UTCDateTime()
    filename = fields.String()
    source = fields.String(metadata={"description": "'file' (kept by this server) or 'url'"})
    url = fields.String(allow_none=True)
    sha256 = fields.String()
    size = fields.Integer(allow_none=True)
    created_at = UTCDateTime()
    published = fields.Boolean()
    published_at = UTCDateTime(allow_none=True)
    notified_at = UTCDateTime(
        allow_none=True, metadata={"description": "When the update email went out (or was waived)."}
    )
    notified_count = fields.Integer(allow_none=True)


ReleasePage = page_of(ReleaseOut, "ReleasePage")
