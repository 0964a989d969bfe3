"""Admin API: releases of a product (the portal's downloads)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import marshmallow as ma
from flask import request

from licserver.api.auth import admin_actor, require
from licserver.api.blueprint import Blueprint
from licserver.api.docs import errors
from licserver.api.parser import flatten, parse_json_object
from licserver.api.schemas.common import PageArgs
from licserver.api.schemas.releases import (
    ArtifactUploadIn,
    ArtifactUrlIn,
    PublishIn,
    ReleaseOut,
    ReleasePage,
    ReleaseUploadIn,
    ReleaseUrlIn,
)
from licserver.domain.errors import LicenseServerError, ValidationFailed
from licserver.domain.permissions import CATALOG, READ, check_scope
from licserver.models import utcnow
from licserver.models.release import Release
from licserver.models.update import ReleaseArtifact
from licserver.runtime import context, origin, storage
from licserver.services import release_artifacts as artifacts
from licserver.services import releases as svc
from licserver.services import tokens as token_service
from licserver.services.pagination import PageRequest

F = TypeVar("F", bound=Callable[..., Any])

blp = Blueprint(
    "releases",
    __name__,
    url_prefix="/api/v1/products",
    description="Admin: product releases, offered to customers as downloads",
)


def artifact_view(a: ReleaseArtifact) -> dict[str, Any]:
    return {
        "id": a.id,
        "platform": a.platform,
        "arch": a.arch,
        "source": "url" if a.storage == "url" else "file",
        "url": a.url,
        "filename": a.filename,
        "sha256": a.sha256,
        "size": a.size,
    }


def release_view(r: Release) -> dict[str, Any]:
    return {
        "channel": r.channel,
        "status": r.status,
        "yanked_at": r.yanked_at,
        "min_version": r.min_version,
        "requires_features": list(r.requires_features or []),
        "artifacts": [artifact_view(a) for a in r.artifacts],
        "product": r.product.code,
        "version": r.version,
        "notes": r.notes,
        "released_at": r.released_at,
        "filename": r.filename,
        "source": "file" if r.storage_path is not None else "url",
        "url": r.url,
        "sha256": r.sha256,
        "size": r.size,
        "created_at": r.created_at,
        "published": r.published_at is not None,
        "published_at": r.published_at,
        "notified_at": r.notified_at,
        "notified_count": r.notified_count,
    }


@blp.before_request
def _upload_limit() -> None:
    """Uploads may be larger than MAX_CONTENT_LENGTH, but only for a token that
    may make releases: anyone else's large body is refused (413) unread."""
    uploads = ("releases.create", "releases.add_artifact")
    if request.endpoint not in uploads or request.mimetype != "multipart/form-data":
        return
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return
    ctx = context()
    try:
        ident = token_service.authenticate(ctx, token.strip())
        check_scope(ident.scope, CATALOG)
    except LicenseServerError:
        return  # answered by `require` (401/403) once the body's format is checked
    request.max_content_length = ctx.settings.release_max_upload_bytes + 1024**2


def _load(schema: ma.Schema, data: Any) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = schema.load(data)
    except ma.ValidationError as exc:
        raise ValidationFailed(flatten(exc.messages)) from None
    return loaded


def _file_or_url_body(upload_schema: type[ma.Schema], url_schema: type[ma.Schema]) -> Any:
    """JSON (a URL and its SHA-256) or multipart/form-data (a file): checked for
    format before the token, as every admin endpoint's body is."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if request.mimetype == "multipart/form-data":
                fields: dict[str, Any] = request.form.to_dict()
                fields.update(request.files.to_dict())
                data = _load(upload_schema(), fields)
            else:
                data = _load(url_schema(), parse_json_object(request.get_data(cache=True)))
            return func(data, *args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


_release_body = _file_or_url_body(ReleaseUploadIn, ReleaseUrlIn)
_artifact_body = _file_or_url_body(ArtifactUploadIn, ArtifactUrlIn)


_BODY = {
    "required": True,
    "description": "JSON with `url` and `sha256` for a file hosted elsewhere, or "
    "multipart/form-data with `file` for a file this server keeps (its SHA-256 and "
    "size are computed; a `sha256` field, if sent, must match).",
    "content": {
        "application/json": {"schema": ReleaseUrlIn},
        "multipart/form-data": {"schema": ReleaseUploadIn},
    },
}


@blp.post("/<code>/releases")
@blp.doc(requestBody=_BODY)
@blp.response(201, ReleaseOut)
@errors(blp, 400, 413, 422, 401, 403, 404, 409, 503)
@_release_body
@require(CATALOG)
def create(data: dict[str, Any], code: str) -> dict[str, Any]:
    """Attach a release to a product (unpublished until published)."""
    upload = data.pop("file", None)
    released_at = data.pop("released_at", None) or utcnow()
    meta = svc.ReleaseMeta(
        channel=data.pop("channel"),
        min_version=data.pop("min_version"),
        requires_features=tuple(data.pop("requires_features")),
        platform=data.pop("platform"),
        arch=data.pop("arch"),
    )
    release = svc.add(
        context(),
        product_code=code,
        released_at=released_at,
        upload=svc.Upload(upload.stream, upload.filename or "") if upload is not None else None,
        origin=origin(admin_actor()),
        meta=meta,
        **data,
    )
    return release_view(svc.get(context(), code, release.version))


@blp.get("/<code>/releases")
@blp.arguments(PageArgs, location="query")
@blp.response(200, ReleasePage)
@errors(blp, 422, 401, 403, 404, 503)
@require(READ)
def index(args: dict[str, Any], code: str) -> dict[str, Any]:
    """A product's releases, oldest first, published or not."""
    found = svc.releases_page(context(), code, PageRequest(args["limit"], args["cursor"]))
    return {"items": [release_view(r) for r in found.items], "next_cursor": found.next_cursor}


@blp.get("/<code>/releases/<version>")
@blp.response(200, ReleaseOut)
@errors(blp, 401, 403, 404, 503)
@require(READ)
def show(code: str, version: str) -> dict[str, Any]:
    """One release."""
    return release_view(svc.get(context(), code, version))


@blp.post("/<code>/releases/<version>/publish")
@blp.arguments(PublishIn, required=False)
@blp.response(200, ReleaseOut)
@errors(blp, 400, 413, 422, 401, 403, 404, 503)
@require(CATALOG)
def publish(data: dict[str, Any], code: str, version: str) -> dict[str, Any]:
    """Publish a release: customers holding an active licence of the product see
    it in the portal's Downloads, and (unless `notify` is false) the users who
    want product updates get one email. Publishing again changes nothing and
    sends nothing."""
    done = svc.publish_and_notify(
        context(), origin(admin_actor()), code, version, notify=data["notify"]
    )
    return release_view(done.release)


_ARTIFACT_BODY = {
    "required": True,
    "description": "JSON with `url`, `sha256` and `size` for a file hosted elsewhere, or "
    "multipart/form-data with `file` for a file this server keeps (in RELEASES_STORAGE). "
    "`platform` and `arch` name the target (none: every one).",
    "content": {
        "application/json": {"schema": ArtifactUrlIn},
        "multipart/form-data": {"schema": ArtifactUploadIn},
    },
}


@blp.post("/<code>/releases/<version>/artifacts")
@blp.doc(requestBody=_ARTIFACT_BODY)
@blp.response(201, ReleaseOut)
@errors(blp, 400, 413, 422, 401, 403, 404, 409, 503)
@_artifact_body
@require(CATALOG)
def add_artifact(data: dict[str, Any], code: str, version: str) -> dict[str, Any]:
    """Add a file for one platform and arch to a release."""
    upload = data.pop("file", None)
    art = artifacts.ArtifactIn(
        upload=svc.Upload(upload.stream, upload.filename or "") if upload is not None else None,
        **data,
    )
    ctx = context()
    artifacts.add_artifact(
        ctx, storage(), product_code=code, version=version, art=art, origin=origin(admin_actor())
    )
    return release_view(svc.get(ctx, code, version))


@blp.post("/<code>/releases/<version>/yank")
@blp.response(200, ReleaseOut)
@errors(blp, 401, 403, 404, 503)
@require(CATALOG)
def yank(code: str, version: str) -> dict[str, Any]:
    """Withdraw a release for good: never offered as an update or a download again."""
    done = artifacts.yank(context(), code, version, now=utcnow(), origin=origin(admin_actor()))
    return release_view(done)
