"""Documenting error answers in the OpenAPI document."""

from __future__ import annotations

import http
from collections.abc import Callable
from typing import Any, TypeVar

from flask_smorest import Blueprint

F = TypeVar("F", bound=Callable[..., Any])


def errors(blp: Blueprint, *statuses: int) -> Callable[[F], F]:
    """Declare the problem+json answers an endpoint can give, by status; each
    refers to the shared response component of that status (ProblemSchema)."""

    def decorate(func: F) -> F:
        for status in statuses:
            func = blp.alt_response(status, response=http.HTTPStatus(status).name)(func)
        return func

    return decorate


def answers(blp: Blueprint, status: int, description: str, *media: str) -> Callable[[F], F]:
    """Declare a success answer that is not one of our JSON schemas: a file or
    an updater framework's feed (``media``: its content types; none for a
    redirect or an empty answer)."""
    content = {m: {"schema": {"type": "string", "format": "binary"}} for m in media}
    response: dict[str, Any] = {"description": description}
    if content:
        response["content"] = content
    decorate: Callable[[F], F] = blp.doc(responses={str(status): response})
    return decorate
