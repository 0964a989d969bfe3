"""Admin API authentication: ``Authorization: Bearer lsa_…`` and the scope check."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import g, request

from licserver.domain.errors import Unauthorized
from licserver.domain.permissions import check_scope
from licserver.runtime import context
from licserver.services import Actor
from licserver.services import tokens as token_service

F = TypeVar("F", bound=Callable[..., Any])


def require(ability: str) -> Callable[[F], F]:
    """Innermost decorator of an admin view: body and query are checked for
    format first (400/422), then the token (401), then its scope (403)."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            header = request.headers.get("Authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthorized("Send 'Authorization: Bearer <admin token>'.")
            ident = token_service.authenticate(context(), token.strip())
            check_scope(ident.scope, ability)
            g.admin_actor = Actor("admin", f"token:{ident.public_id}")
            return func(*args, **kwargs)

        # flask-smorest reads this: the operation needs the bearer token.
        wrapper._apidoc = {"manual_doc": {"security": [{"bearerAuth": []}]}}  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def admin_actor() -> Actor:
    actor: Actor = g.admin_actor
    return actor
