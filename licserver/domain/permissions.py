"""What each admin token scope may do. One table, checked on every admin route."""

from __future__ import annotations

from licserver.domain.errors import Forbidden

# Abilities an endpoint can require.
READ = "read"  # every GET of the admin API
LICENSES = "licenses"  # customers, users, licences, activations: create, change, deactivate
CATALOG = "catalog"  # products
WEBHOOKS = "webhooks"  # webhook endpoints: register, change, remove, test, retry
STORES = "stores"  # store integrations: every admin route, reads included

SCOPES: dict[str, frozenset[str]] = {
    "read": frozenset({READ}),
    "licenses": frozenset({READ, LICENSES}),
    "full": frozenset({READ, LICENSES, CATALOG, WEBHOOKS, STORES}),
}


def check_scope(scope: str, ability: str) -> None:
    if ability not in SCOPES.get(scope, frozenset()):
        raise Forbidden(f"This token's scope '{scope}' does not allow '{ability}'.")
