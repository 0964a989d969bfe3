"""The lost-machine search of the admin API: activations across licences by
installation ID and/or machine name."""

from __future__ import annotations

from sqlalchemy import func, select

from licserver.models import Activation
from licserver.services.context import Context
from licserver.services.pagination import Page, PageRequest, fetch


def search(
    ctx: Context,
    req: PageRequest,
    *,
    installation_id: str | None = None,
    machine_name: str | None = None,
) -> Page[Activation]:
    """Installation ID exact, machine name exact but case-insensitive; newest first."""
    q = select(Activation)
    if installation_id:
        q = q.where(Activation.installation_id == installation_id)
    if machine_name:
        q = q.where(func.lower(Activation.machine_name) == machine_name.lower())
    return fetch(ctx.session, q, Activation.id, req, descending=True)
