from __future__ import annotations

from flask_smorest import Blueprint as _Blueprint

from licserver.api.parser import Parser


class Blueprint(_Blueprint):  # type: ignore[misc]
    """flask-smorest's Blueprint with our request parser (problem+json errors)."""

    ARGUMENTS_PARSER = Parser()
