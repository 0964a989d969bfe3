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
