"""Schemas of the releases (downloads) endpoints of the admin API."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import marshmallow as ma
from marshmallow import fields, validate

from licserver.api.schemas.common import Strict, Text, UTCDateTime, page_of
from licserver.domain import updates

SHA256_RE = re.compile(r"^[0-9A-Fa-f]{64}$")


def _semver(value: str) -> None:
    try:
        updates.Version.parse(value)
    except updates.VersionError as exc:
        raise ma.ValidationError(str(exc)) from None


_version = {
    "validate": _semver,
    "metadata": {"example": "3.1.0", "description": "A semantic version (3.1 reads as 3.1.0)."},
}
_platform = {
    "load_default": None,
    "allow_none": True,
    "validate": validate.OneOf(updates.PLATFORMS),
    "metadata": {"description": "windows, macos or linux; none: every platform."},
}
_arch = {
    "load_default": None,
    "allow_none": True,
    "validate": validate.OneOf(updates.ARCHES),
    "metadata": {"description": "x86_64 or arm64; none: every arch."},
}


class FeatureList(fields.List):  # type: ignore[type-arg]
    """A list of entitlement names; in a form, one comma-separated field."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> Any:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        return super()._deserialize(value, attr, data, **kw)


class _Target(Strict):
    platform = Text(**_platform)  # type: ignore[arg-type]
    arch = Text(**_arch)  # type: ignore[arg-type]
    filename = Text(
        load_default=None,
        allow_none=True,
        validate=validate.Length(1, 255),
        metadata={
            "description": "The name the download is saved as (default: from the file or URL)."
        },
    )


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


class _ReleaseFields(_Target):
    version = Text(required=True, **_version)  # type: ignore[arg-type]
    notes = Text(
        load_default=None, allow_none=True, multiline=True, validate=validate.Length(max=20000)
    )
    released_at = UTCDateTime(
        load_default=None, allow_none=True, metadata={"description": "Default: now."}
    )
    channel = Text(
        load_default="stable",
        validate=validate.Regexp(updates.CHANNEL_RE, error="1 to 32 of a-z 0-9 _ -."),
        metadata={"description": "stable (default), rc, beta, alpha, dev or your own."},
    )
    min_version = Text(
        load_default=None,
        allow_none=True,
        validate=_semver,
        metadata={"description": "The oldest version that may update to this one directly."},
    )
    requires_features = FeatureList(
        Text(validate=validate.Length(1, 64)),
        load_default=list,
        metadata={"description": "Only licences with all these entitlements get it."},
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


class _ArtifactUrl(_Target):
    url = HttpUrl(required=True, validate=validate.Length(max=2000))
    sha256 = Text(required=True, **_sha256)  # type: ignore[arg-type]
    size = fields.Integer(strict=True, required=True, validate=validate.Range(0, 2**62))


class ArtifactUrlIn(_ArtifactUrl):
    """An artifact hosted elsewhere (JSON body)."""


class ArtifactUploadIn(_Target):
    """An artifact uploaded as a file (multipart/form-data)."""

    sha256 = Text(load_default=None, **_sha256)  # type: ignore[arg-type]
    file = fields.Raw(
        required=True, load_only=True, metadata={"type": "string", "format": "binary"}
    )


class ArtifactOut(ma.Schema):
    id = fields.Integer()
    platform = fields.String(allow_none=True)
    arch = fields.String(allow_none=True)
    source = fields.String(metadata={"description": "'file' (kept by this server) or 'url'"})
    url = fields.String(allow_none=True)
    filename = fields.String()
    sha256 = fields.String()
    size = fields.Integer()


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
    channel = fields.String()
    status = fields.String(metadata={"description": "draft, published or yanked"})
    yanked_at = UTCDateTime(allow_none=True)
    min_version = fields.String(allow_none=True)
    requires_features = fields.List(fields.String())
    artifacts = fields.List(fields.Nested(ArtifactOut))


ReleasePage = page_of(ReleaseOut, "ReleasePage")
