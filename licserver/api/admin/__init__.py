"""Admin API (``Authorization: Bearer <token>``)."""

from __future__ import annotations

from licserver.api.blueprint import Blueprint


def blueprints() -> list[Blueprint]:
    from licserver.api.admin import (
        activations,
        customers,
        integrations,
        licenses,
        orders,
        policies,
        products,
        releases,
        webhooks,
    )

    return [
        products.blp,
        policies.blp,
        customers.blp,
        licenses.blp,
        activations.blp,
        orders.blp,
        releases.blp,
        webhooks.blp,
        integrations.blp,
    ]
