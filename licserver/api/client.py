"""Client API: what products call. Thin: parse, call the service, shape the answer."""

from __future__ import annotations

from typing import Any

from flask import request

from licserver.api.blueprint import Blueprint
from licserver.api.docs import errors
from licserver.api.schemas.client import (
    ActivateIn,
    ActivationOut,
    CertificateOut,
    CheckinIn,
    DeactivatedOut,
    KeysOut,
    ValidateIn,
    ValidateOut,
)
from licserver.domain.errors import InvalidCredentials
from licserver.runtime import context, origin
from licserver.services import CLIENT
from licserver.services import activation as svc
from licserver.services.keys import KeyInfo

blp = Blueprint("client", __name__, url_prefix="/api/v1", description="Client API (products)")
# Schema instances, not classes: webargs would build a new schema (a deep copy of
# every field) for each request from a class. They keep no state between loads.
ACTIVATE_IN, CHECKIN_IN, VALIDATE_IN = ActivateIn(), CheckinIn(), ValidateIn()


@blp.post("/activations")
@blp.arguments(ACTIVATE_IN)
@blp.response(201, ActivationOut, description="A new activation took a seat.")
@blp.alt_response(
    200,
    schema=ActivationOut,
    success=True,
    description="This installation was already active: no second seat.",
)
@errors(blp, 400, 413, 422, 429, 401, 403, 404, 409, 503)
def activate(data: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Activate an installation on a licence."""
    result = svc.activate(
        context(),
        data["credentials"],
        data["installation_id"],
        data["machine_name"],
        data.get("client"),
        origin(CLIENT),
        request=svc.Request(
            site_url=data.get("site_url"),
            fingerprints=data.get("fingerprints"),
            release_date=data.get("release_date"),
        ),
    )
    body = {
        "activation_id": result.activation_id,
        "license_id": result.license_id,
        "installation_id": result.installation_id,
        "machine_name": result.machine_name,
        "activated_at": result.activated_at,
        "certificate": result.certificate,
        "activation_token": result.activation_token,
        "model": result.model,
        "lease_expires_at": result.lease_expires_at,
        "features": result.features,
        "warnings": [w.to_json() for w in result.warnings],
        "moved_from": result.moved_from,
    }
    return body, 201 if result.created else 200


@blp.post("/activations/<activation_id>/checkin")
@blp.arguments(CHECKIN_IN)
@blp.response(200, CertificateOut)
@errors(blp, 400, 413, 422, 401, 410, 403, 503)
def checkin(data: dict[str, Any], activation_id: str) -> dict[str, Any]:
    """Refresh the certificate of a live activation (floating: renew its lease)."""
    result = svc.check_in(
        context(),
        activation_id,
        data["activation_token"],
        origin(CLIENT),
        release_date=data.get("release_date"),
    )
    return {
        "certificate": result.certificate,
        "lease_expires_at": result.lease_expires_at,
        "warnings": [w.to_json() for w in result.warnings],
    }


@blp.delete("/activations/<activation_id>")
@blp.response(200, DeactivatedOut)
@blp.doc(
    parameters=[
        {
            "in": "header",
            "name": "Authorization",
            "required": True,
            "schema": {"type": "string"},
            "description": "Activation <activation_token>",
        }
    ]
)
@errors(blp, 401, 409, 503)
def deactivate(activation_id: str) -> dict[str, Any]:
    """Deactivate this installation (the client's own call; floating: release its
    lease); repeating it is harmless."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "activation" or not token.strip():
        raise InvalidCredentials("Send 'Authorization: Activation <activation_token>'.")
    act, warnings = svc.deactivate_reporting(
        context(), activation_id, origin(CLIENT), activation_token=token.strip()
    )
    return {"deactivated_at": act.deactivated_at, "warnings": [w.to_json() for w in warnings]}


@blp.post("/validate")
@blp.arguments(VALIDATE_IN)
@blp.response(200, ValidateOut)
@errors(blp, 400, 413, 422, 429, 401, 404, 503)
def validate(data: dict[str, Any]) -> dict[str, Any]:
    """Is this installation licensed now? Read-only; answers with a code."""
    request = svc.Request(
        site_url=data.get("site_url"),
        release_date=data.get("release_date"),
        features=tuple(data["features"]) if data.get("features") is not None else None,
    )
    result = svc.validate(
        context(), data["credentials"], data["installation_id"], origin(CLIENT), request=request
    )
    lic = result.license
    body: dict[str, Any] = {
        "valid": result.valid,
        "code": result.code,
        "license": {
            "id": lic.id,
            "product": lic.product,
            "seats": lic.seats,
            "seats_used": lic.seats_used,
            "expires_at": lic.expires_at,
            "status": result.status,
            "features": lic.features,
            "model": lic.model,
        },
        "warnings": [w.to_json() for w in result.warnings],
    }
    if result.missing_features is not None:
        body["missing_features"] = result.missing_features
    return body


@blp.get("/keys")
@blp.response(200, KeysOut)
@errors(blp, 503)
def keys() -> dict[str, Any]:
    """The public keys that verify LK1 keys and AC1 certificates."""
    d = context()
    infos: list[KeyInfo] = d.keyring.infos(d.session)
    return {
        "keys": [
            {
                "kid": k.kid,
                "alg": "Ed25519",
                "public_key": k.public_key,
                # API.md's statuses: a staged key is one to trust already
                "status": "retired" if k.status == "retired" else "active",
                "signs": k.status == "active",
            }
            for k in infos
        ]
    }
