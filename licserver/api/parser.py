"""Request parsing for flask-smorest: JSON bodies are read whatever the
Content-Type (clients forget it), must be an object (else 400
MALFORMED_REQUEST), and validation errors become 422 VALIDATION_FAILED with
per-field messages."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, NoReturn

import marshmallow as ma
from flask import Request
from webargs.flaskparser import FlaskParser

from licserver.domain.errors import MalformedRequest, ValidationFailed


def _no_constants(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def parse_json_object(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        raise MalformedRequest("The request body must be a JSON object; it is empty.")
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_no_constants)
    except (ValueError, UnicodeDecodeError):
        raise MalformedRequest("The request body is not valid JSON (UTF-8).") from None
    except RecursionError:
        # "[[[[..." within the size limit nests deeper than the decoder can go
        raise MalformedRequest("The request body nests too deeply.") from None
    if not isinstance(data, dict):
        raise MalformedRequest("The request body must be a JSON object.")
    return data


def flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """{"client": {"os": ["Too long."]}} -> {"client.os": ["Too long."]};
    schema-level messages go to the object's own name ("body" for the body)."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            if key == "_schema":
                # a message about the object as a whole: "client", or "body" at the top
                out.update(flatten(value, prefix))
            else:
                out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        out[prefix or "body"] = list(messages)
    elif isinstance(messages, list):
        for item in messages:
            out.update(flatten(item, prefix))
    else:
        out[prefix or "body"] = [str(messages)]
    return out


class Parser(FlaskParser):
    DEFAULT_VALIDATION_STATUS = 422

    def load_json(self, req: Request, schema: ma.Schema) -> Any:
        raw = req.get_data(cache=True)
        if not raw.strip() and not any(f.required for f in schema.fields.values()):
            return {}  # an optional body (suspend's reason, say) may be left out
        return parse_json_object(raw)

    def handle_error(
        self,
        error: ma.ValidationError,
        req: Request,
        schema: ma.Schema,
        *,
        error_status_code: int | None,
        error_headers: Mapping[str, str] | None,
    ) -> NoReturn:
        messages = error.messages
        if isinstance(messages, dict) and len(messages) == 1:
            ((location, inner),) = messages.items()
            if location in ("json", "query", "view_args", "headers") and isinstance(inner, dict):
                messages = inner
        raise ValidationFailed(flatten(messages))
