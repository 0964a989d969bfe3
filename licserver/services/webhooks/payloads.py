"""The JSON bodies webhook deliveries carry (README, "Webhooks")."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from licserver.domain import webhooks as rules
from licserver.models.webhook import WebhookEndpoint


def _rfc3339(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _dumps(body: Mapping[str, Any]) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def event_body(row: Any, include_ip: bool) -> str:
    """The JSON body of an event delivery (README, "Webhooks")."""
    data: dict[str, Any] = {
        "license_id": row.license_public_id,
        "product": row.product_code,
        "customer": row.customer_number,
        "activation_id": row.activation_id,
        "installation_id": row.installation_id,
        "machine_name": row.machine_name,
        "actor": {"type": row.actor_type, "id": row.actor_id},
        "reason": row.reason,
        "data": row.data or {},
    }
    if include_ip:
        data["ip"] = row.ip
    return _dumps({"id": row.id, "type": row.kind, "created_at": _rfc3339(row.at), "data": data})


def ping_body(endpoint: WebhookEndpoint, now: datetime) -> str:
    return _dumps(
        {
            "id": None,
            "type": rules.PING,
            "created_at": _rfc3339(now),
            "data": {"webhook_id": endpoint.public_id, "url": endpoint.url},
        }
    )
