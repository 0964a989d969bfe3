"""HTTP only: schemas, routes, authentication, problem+json."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_limiter import Limiter
from flask_smorest import Api as _Api
from flask_smorest.utils import prepare_response

from licserver.api import problem


class Api(_Api):  # type: ignore[misc]
    """flask-smorest's Api with our error shape: problem+json everywhere."""

    ERROR_SCHEMA = problem.ProblemSchema

    def _register_error_handlers(self) -> None:
        problem.register(self._app)

    def _register_responses(self) -> None:
        import http

        for status in http.HTTPStatus:
            if status < 400:
                continue
            response: dict[str, Any] = {"description": status.phrase, "schema": self.ERROR_SCHEMA}
            prepare_response(response, self.spec, problem.PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Error", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, problem.PROBLEM_JSON)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


def register_blueprints(api: Api, app: Flask, limiter: Limiter) -> None:
    api.spec.components.security_scheme(
        "bearerAuth",
        {"type": "http", "scheme": "bearer", "description": "Admin token: lsa_<id>_<secret>"},
    )
    from licserver.api import admin, answers, client, feeds, health, updates

    for bp in (health.blp, client.blp, updates.blp, feeds.blp, *admin.blueprints()):
        api.register_blueprint(bp)
    _state_credentials_rule(api)
    answers.init_app(app)
    from licserver.api import browse

    app.register_blueprint(browse.blp)
    # Per source IP, one allowance shared by every client-API route (not one per
    # route); off with RATE_LIMITS=off.
    limiter.shared_limit(app.config["CLIENT_RATE_LIMIT"], scope="client-api")(client.blp)
    limiter.shared_limit(app.config["CLIENT_RATE_LIMIT"], scope="client-api")(updates.blp)
    limiter.shared_limit(app.config["CLIENT_RATE_LIMIT"], scope="client-api")(feeds.blp)


def _state_credentials_rule(api: Api) -> None:
    """Say in the OpenAPI document what CredentialsMixin enforces (exactly one
    kind of credentials), so generated clients and fuzzers send valid bodies."""
    from licserver.api.schemas.client import credentials_one_of

    schemas = api.spec.components.schemas
    for name in ("ActivateIn", "ValidateIn"):
        schemas[name]["oneOf"] = credentials_one_of()
