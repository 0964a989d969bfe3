"""Admin API: a product's policies (licence models)."""

from __future__ import annotations

from licserver.api.blueprint import Blueprint

blp = Blueprint("policies", __name__, url_prefix="/api/v1", description="Policies (licence models)")
