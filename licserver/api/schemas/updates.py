"""Schemas of the update endpoints of the client API."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from licserver.api.schemas.common import Strict, Text, UTCDateTime
from licserver.domain import updates


class UpdateIn(Strict):
    activation_id = Text(required=True, validate=validate.Length(1, 64))
    activation_token = Text(required=True, validate=validate.Length(1, 256))
    current_version = Text(
        required=True,
        validate=validate.Length(1, 64),
        metadata={
            "description": "A semantic version (422 when it cannot be read).",
            "example": "1.1.0",
        },
    )
    channel = Text(load_default=updates.STABLE, validate=validate.Length(1, 32))
    platform = Text(load_default=None, allow_none=True, validate=validate.OneOf(updates.PLATFORMS))
    arch = Text(load_default=None, allow_none=True, validate=validate.OneOf(updates.ARCHES))


class UpdateInfo(ma.Schema):
    version = fields.String()
    channel = fields.String()
    released_at = UTCDateTime()
    notes = fields.String(allow_none=True)
    download_url = fields.String(
        metadata={"description": "Absolute; no other credential needed for at least 10 minutes."}
    )
    size = fields.Integer()
    sha256 = fields.String()
    manifest = fields.String(metadata={"description": "The UP1 update manifest."})


class UpdateOut(ma.Schema):
    update = fields.Nested(UpdateInfo, allow_none=True)


class FeedTokenIn(Strict):
    activation_token = Text(required=True, validate=validate.Length(1, 256))


class FeedUrls(ma.Schema):
    sparkle = fields.String(metadata={"description": "Sparkle's SUFeedURL (add ?channel=...)."})
    electron = fields.String(
        metadata={"description": "electron-updater's generic provider `url` (a folder)."}
    )
    tauri = fields.String(
        metadata={"description": "Tauri's `endpoints` entry, with its variables."}
    )


class FeedTokenOut(ma.Schema):
    feed_token = fields.String(
        metadata={"description": "The same for as long as the activation token is."}
    )
    feeds = fields.Nested(FeedUrls)


class FeedArgs(ma.Schema):
    """A feed's query: unknown parameters (a framework's cache buster) are ignored."""

    class Meta:
        unknown = ma.EXCLUDE

    channel = Text(load_default=updates.STABLE, validate=validate.Length(1, 32))
    platform = Text(load_default=None, validate=validate.OneOf(updates.PLATFORMS))
    arch = Text(load_default=None, validate=validate.OneOf(updates.ARCHES))
    current_version = Text(load_default=None, validate=validate.Length(1, 64))
