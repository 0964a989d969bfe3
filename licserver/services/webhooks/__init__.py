"""Webhooks: endpoints staff register, and the worker that sends them events.

``endpoints`` holds the endpoints and their delivery logs, ``payloads`` the JSON
bodies, ``fanout`` turns new events into delivery rows, ``delivery`` claims,
sends (through ``licserver.outbound``, the pinned HTTP client) and records
them. Nothing here runs on the request path of the client API: an activation
writes its event row and nothing else; ``deliver`` (``licserver webhooks
deliver``) does the rest, out of band.
"""

from __future__ import annotations

from licserver.outbound import Outcome, post
from licserver.services.webhooks.delivery import (
    USER_AGENT,
    PassResult,
    deliver,
    retry_now,
    send_ping,
)
from licserver.services.webhooks.endpoints import (
    SECRET_PURPOSE,
    STATUSES,
    attempts_of,
    create,
    delete_endpoint,
    deliveries_page,
    get,
    get_delivery,
    page,
    rotate_secret,
    secret_of,
    status_counts,
    update_endpoint,
)
from licserver.services.webhooks.fanout import fan_out
from licserver.services.webhooks.payloads import event_body, ping_body

__all__ = [
    "SECRET_PURPOSE",
    "STATUSES",
    "USER_AGENT",
    "Outcome",
    "PassResult",
    "attempts_of",
    "create",
    "delete_endpoint",
    "deliver",
    "deliveries_page",
    "event_body",
    "fan_out",
    "get",
    "get_delivery",
    "page",
    "ping_body",
    "post",
    "retry_now",
    "rotate_secret",
    "secret_of",
    "send_ping",
    "status_counts",
    "update_endpoint",
]
