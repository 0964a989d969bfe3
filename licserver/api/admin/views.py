"""Turning rows into the plain dicts the output schemas dump."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from licserver.domain import policy as policy_rules
from licserver.domain.status import effective_status
from licserver.models import Activation, Customer, Event, License, Product, User, utcnow
from licserver.services import policies as policy_service
from licserver.services.licenses import Secrets
from licserver.services.pagination import Page, PageRequest

T = TypeVar("T")


def page_request(args: dict[str, Any]) -> PageRequest:
    """``?limit=&cursor=``, as the list schemas load them."""
    return PageRequest(args["limit"], args["cursor"])


def page(p: Page[T], dump: Callable[[T], dict[str, Any]]) -> dict[str, Any]:
    return {"items": [dump(x) for x in p.items], "next_cursor": p.next_cursor}


def product(p: Product) -> dict[str, Any]:
    return {
        "code": p.code,
        "name": p.name,
        "default_seats": p.default_seats,
        "default_duration_days": p.default_duration_days,
        "offline_grace_days": p.offline_grace_days,
        "checkout_url": p.checkout_url,
        "created_at": p.created_at,
    }


def customer(c: Customer) -> dict[str, Any]:
    return {
        "number": c.number,
        "name": c.name,
        "email": c.email,
        "company_password_set": c.company_password_hash is not None,
        "created_at": c.created_at,
    }


def user(u: User, invitation_sent: bool | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "email": u.email,
        "name": u.name,
        "role": u.role,
        "licenses": [lic.public_id for lic in u.licenses],
        "invited": u.password_hash is None,
        "created_at": u.created_at,
    }
    if invitation_sent is not None:
        out["invitation_sent"] = invitation_sent
    return out


def license(lic: License, secrets: Secrets | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": lic.public_id,
        "product": lic.product.code,
        "customer": lic.customer.number,
        "seats": lic.seats,
        "seats_used": lic.seats_used,
        "expires_at": lic.expires_at,
        "features": list(lic.features or []),
        "status": effective_status(lic.status, lic.expires_at, utcnow()),
        "created_at": lic.created_at,
    }
    settings = policy_service.effective(lic)
    out.update(
        policy=lic.policy.public_id if lic.policy else None,
        policy_name=lic.policy.name if lic.policy else None,
        policy_overrides=lic.policy_overrides,
        settings=settings.to_json(),
        model=settings.model,
        trial=settings.trial,
        entitlements=policy_rules.features(settings, lic.features),
        first_activated_at=lic.first_activated_at,
        converted_at=lic.converted_at,
    )
    if secrets is not None:
        out["key"] = secrets.key
        out["activation_password"] = secrets.activation_password
    return out


def activation(a: Activation) -> dict[str, Any]:
    by = None
    if a.deactivated_by_type:
        by = {"type": a.deactivated_by_type, "id": a.deactivated_by_id}
    return {
        "id": a.public_id,
        "license_id": a.license.public_id,
        "installation_id": a.installation_id,
        "machine_name": a.machine_name,
        "client": a.client,
        "ip": a.ip,
        "state": "active" if a.deactivated_at is None else "deactivated",
        "activated_at": a.activated_at,
        "last_checkin_at": a.last_checkin_at,
        "deactivated_at": a.deactivated_at,
        "deactivated_by": by,
        "deactivation_reason": a.deactivation_reason,
        "site_url": a.site_url,
        "lease_expires_at": a.lease_expires_at,
        "inactive_since": a.inactive_since,
    }


def event(e: Event, license_public_id: str | None) -> dict[str, Any]:
    return {
        "id": e.id,
        "at": e.at,
        "kind": e.kind,
        "actor": {"type": e.actor_type, "id": e.actor_id},
        "license_id": license_public_id,
        "activation_id": e.activation_id,
        "installation_id": e.installation_id,
        "machine_name": e.machine_name,
        "ip": e.ip,
        "reason": e.reason,
        "data": e.data or {},
    }
