"""Policies of a product: create, list, change (with a dry run of the change).

A policy's ``settings`` are stored as the values that differ from the defaults
(``licserver.domain.policy``); everything shown is the full effective settings.
Changing a policy re-derives the lease ends and heartbeat deadlines of the live
activations of its licences, so the sweeper acts on the new rules at once; the
dry run computes what the new rules would do to them now and saves nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from licserver.database import begin_write
from licserver.domain import policy as rules
from licserver.domain.errors import Conflict, NotFound, ValidationFailed
from licserver.domain.ids import new_policy_id
from licserver.models import Activation, License, utcnow
from licserver.models.policy import Policy
from licserver.services import Origin, events
from licserver.services import products as product_service
from licserver.services.context import Context
from licserver.services.pagination import Page, PageRequest, fetch


@dataclass(frozen=True)
class Affected:
    """A live activation the (new) rules act on now."""

    activation_id: str
    license_id: str
    installation_id: str
    machine_name: str
    last_seen_at: datetime
    effect: str  # rules.LEASE_EXPIRED | MARK_INACTIVE | FREE_SEAT


@dataclass
class PolicyChange:
    policy: Policy
    settings: rules.Settings  # effective, after the change
    changed: list[str]
    affected: list[Affected]
    saved: bool


def settings_of(policy: Policy | None) -> rules.Settings:
    return rules.resolve(policy.settings if policy is not None else None, None)


def effective(lic: License) -> rules.Settings:
    """The rules a licence follows: its policy's settings and its own overrides."""
    pol = lic.policy
    return rules.resolve(pol.settings if pol is not None else None, lic.policy_overrides)


def _checked(values: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    try:
        return rules.check(values, partial=partial)
    except rules.PolicyError as exc:
        raise ValidationFailed({f"settings.{k}": v for k, v in exc.errors.items()}) from None


def _stored(checked: dict[str, Any]) -> dict[str, Any]:
    """Only what differs from the defaults, as JSON."""
    merged = rules.resolve(rules.settings_json(checked), None)
    defaults = rules.DEFAULTS.to_json()
    full = merged.to_json()
    return {k: v for k, v in full.items() if v != defaults[k]}


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not rules.POLICY_NAME_RE.match(name):
        raise ValidationFailed(
            {"name": ["1 to 64 of a-z 0-9 . _ - (lower case), starting with a letter or digit."]}
        )


def get(ctx: Context, public_id: str) -> Policy:
    session = ctx.session
    pol = session.scalars(select(Policy).where(Policy.public_id == public_id)).first()
    if pol is None:
        raise NotFound(f"No policy with id '{public_id}'.")
    return pol


def find(ctx: Context, product_id: int, ref: str) -> Policy:
    """A product's policy by its id or its name."""
    session = ctx.session
    pol = session.scalars(
        select(Policy).where(
            Policy.product_id == product_id, (Policy.public_id == ref) | (Policy.name == ref)
        )
    ).first()
    if pol is None:
        raise NotFound(f"This product has no policy '{ref}'.")
    return pol


def list_for_product(ctx: Context, product: str) -> list[Policy]:
    session = ctx.session
    prod = product_service.get(ctx, product)
    return list(
        session.scalars(select(Policy).where(Policy.product_id == prod.id).order_by(Policy.id))
    )


def policies_page(ctx: Context, product: str, req: PageRequest) -> Page[Policy]:
    """The product's policies, oldest first."""
    prod = product_service.get(ctx, product)
    return fetch(ctx.session, select(Policy).where(Policy.product_id == prod.id), Policy.id, req)


def license_count(ctx: Context, policy: Policy) -> int:
    session = ctx.session
    return int(session.scalar(select(func.count()).where(License.policy_id == policy.id)) or 0)


def create(
    ctx: Context, origin: Origin, *, product: str, name: str, settings: dict[str, Any] | None
) -> Policy:
    session = ctx.session
    _check_name(name)
    checked = _checked(dict(settings or {}), partial=False)
    begin_write(session)
    try:
        prod = product_service.get(ctx, product)
        if session.scalars(
            select(Policy.id).where(Policy.product_id == prod.id, Policy.name == name)
        ).first():
            raise Conflict(f"Product '{prod.code}' already has a policy named '{name}'.")
        stored = _stored(checked)
        pol = Policy(
            public_id=new_policy_id(),
            product_id=prod.id,
            name=name,
            settings=stored,
            plain=rules.resolve(stored, None).plain,
        )
        pol.product = prod
        session.add(pol)
        session.flush()
        events.record(
            session,
            "policy.created",
            origin,
            data={"policy": pol.public_id, "product": prod.code, "name": name, "settings": stored},
        )
        session.commit()
        return pol
    except BaseException:
        session.rollback()
        raise


def _live_of_policy(session: Session, policy_id: int) -> list[tuple[Activation, License]]:
    rows = session.execute(
        select(Activation, License)
        .join(License, License.id == Activation.license_id)
        .where(License.policy_id == policy_id, Activation.deactivated_at.is_(None))
        .order_by(Activation.id)
    ).all()
    return [(a, lic) for a, lic in rows]


def affected_by(
    ctx: Context, policy: Policy, stored: dict[str, Any], now: datetime
) -> list[Affected]:
    """What the rules ``stored`` (a policy's settings) would do now to the live
    activations of the policy's licences (each with its own overrides)."""
    session = ctx.session
    out = []
    for act, lic in _live_of_policy(session, policy.id):
        s = rules.resolve(stored, lic.policy_overrides)
        last_seen = act.last_checkin_at or act.activated_at
        lease = act.lease_expires_at if s.floating else None
        effect = rules.overdue(
            s,
            rules.Seen(act.id, last_seen, lease, act.inactive_since is not None),
            now,
        )
        if effect is not None:
            out.append(
                Affected(
                    act.public_id,
                    lic.public_id,
                    act.installation_id,
                    act.machine_name,
                    last_seen,
                    effect,
                )
            )
    return out


def rederive_live(ctx: Context, lic: License, s: rules.Settings) -> None:
    """Set the lease ends and heartbeat deadlines of a licence's live activations
    from the rules ``s`` (after a change of policy or overrides)."""
    session = ctx.session
    for act in session.scalars(
        select(Activation).where(
            Activation.license_id == lic.id, Activation.deactivated_at.is_(None)
        )
    ):
        last_seen = act.last_checkin_at or act.activated_at
        if s.floating:
            if act.lease_expires_at is None:
                act.lease_expires_at = rules.lease_until(s, last_seen)
        else:
            act.lease_expires_at = None
        act.heartbeat_deadline = rules.heartbeat_deadline(s, last_seen)
        if act.heartbeat_deadline is None:
            act.inactive_since = None


def update(
    ctx: Context,
    origin: Origin,
    public_id: str,
    *,
    name: str | None = None,
    settings: dict[str, Any] | None = None,
    dry_run: bool = False,
) -> PolicyChange:
    """Change a policy's name and settings: ``settings`` is merged over the stored
    ones (null resets a setting to its default) and checked whole. With
    ``dry_run`` nothing is saved; the answer says what would change."""
    session = ctx.session
    begin_write(session)
    try:
        pol = get(ctx, public_id)
        if name is not None and name != pol.name:
            _check_new_name(ctx, pol, name)
        stored = _stored(_checked(_merged(pol.settings, settings), partial=False))
        before = rules.resolve(pol.settings, None).to_json()
        after_settings = rules.resolve(stored, None)
        after = after_settings.to_json()
        changed = sorted(k for k in after if after[k] != before[k])
        if name is not None and name != pol.name:
            changed.insert(0, "name")
        now = utcnow()
        affected = affected_by(ctx, pol, stored, now)
        if dry_run or not changed:
            view = _unsaved(pol, name, stored, after_settings)
            session.rollback()
            return PolicyChange(view, after_settings, changed, affected, False)
        diff = {k: {"from": before[k], "to": after[k]} for k in changed if k != "name"}
        if "name" in changed:
            diff["name"] = {"from": pol.name, "to": name}
            pol.name = name  # type: ignore[assignment]
        pol.settings = stored
        pol.plain = after_settings.plain
        pol.updated_at = now
        for lic in session.scalars(select(License).where(License.policy_id == pol.id)):
            rederive_live(ctx, lic, rules.resolve(stored, lic.policy_overrides))
        events.record(
            session,
            "policy.updated",
            origin,
            data={"policy": pol.public_id, "changes": diff, "affected": len(affected)},
        )
        session.commit()
        return PolicyChange(pol, after_settings, changed, affected, True)
    except BaseException:
        session.rollback()
        raise


def _check_new_name(ctx: Context, pol: Policy, name: str) -> None:
    _check_name(name)
    taken = ctx.session.scalars(
        select(Policy.id).where(
            Policy.product_id == pol.product_id, Policy.name == name, Policy.id != pol.id
        )
    )
    if taken.first():
        raise Conflict(f"This product already has a policy named '{name}'.")


def _merged(stored: dict[str, Any] | None, given: dict[str, Any] | None) -> dict[str, Any]:
    """``given`` over ``stored``; a null resets that setting to its default."""
    merged = dict(stored or {})
    for key, value in (given or {}).items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def _unsaved(pol: Policy, name: str | None, stored: dict[str, Any], s: rules.Settings) -> Policy:
    """What the policy would be (a dry run, or no change): a copy, not in the session."""
    view = Policy(
        public_id=pol.public_id,
        product_id=pol.product_id,
        name=name if name is not None else pol.name,
        settings=stored,
        plain=s.plain,
        created_at=pol.created_at,
        updated_at=pol.updated_at,
    )
    view.id, view.product = pol.id, pol.product
    return view


def view(ctx: Context, pol: Policy, s: rules.Settings | None = None) -> dict[str, Any]:
    """A policy as the API and the CLI show it."""
    return {
        "id": pol.public_id,
        "product": pol.product.code,
        "name": pol.name,
        "settings": (s or rules.resolve(pol.settings, None)).to_json(),
        "licenses": license_count(ctx, pol) if pol.id is not None else 0,
        "created_at": pol.created_at,
        "updated_at": pol.updated_at,
    }
