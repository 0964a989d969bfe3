"""Licence-model helpers shared by the tests/policies/test_client_*.py modules:
policies and licences made in the database, rows read back, times."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from licserver.domain import policy as rules
from licserver.extensions import db
from licserver.models import Activation, License, Product
from licserver.models.policy import Policy
from tests.support.factory import Factory, IssuedLicense


def make_policy(product: str, name: str | None = None, **settings: Any) -> str:
    """A policy row of ``product`` with these settings (checked as the admin API
    checks them); its public id."""
    session = db.session()
    try:
        pid = session.scalars(select(Product.id).where(Product.code == product)).one()
        checked = rules.check(settings)
        stored = rules.settings_json(checked)
        public_id = "P-" + secrets.token_hex(4).upper()
        session.add(
            Policy(
                public_id=public_id,
                product_id=pid,
                name=name or f"policy-{secrets.token_hex(3)}",
                settings=stored,
                plain=rules.resolve(stored, None).plain,
            )
        )
        session.commit()
    finally:
        session.rollback()
    return public_id


def assign(lic: IssuedLicense, policy: str | None, overrides: dict[str, Any] | None = None) -> None:
    """Put the licence under ``policy`` (a public id), with ``overrides``."""
    session = db.session()
    try:
        pol_id = (
            session.scalars(select(Policy.id).where(Policy.public_id == policy)).one()
            if policy
            else None
        )
        values: dict[str, Any] = {"policy_id": pol_id}
        if overrides is not None:
            values["policy_overrides"] = rules.settings_json(rules.check(overrides, partial=True))
        session.execute(update(License).where(License.public_id == lic.id).values(**values))
        session.commit()
    finally:
        session.rollback()


def licence_with(
    factory: Factory,
    seats: int = 2,
    overrides: dict[str, Any] | None = None,
    product: str | None = None,
    **settings: Any,
) -> IssuedLicense:
    """A licence of a new (or the given) product under a new policy with ``settings``."""
    product = product or factory.product()
    lic = factory.license(product=product, seats=seats)
    assign(lic, make_policy(product, **settings), overrides)
    return lic


def set_licence(lic: IssuedLicense, **values: Any) -> None:
    session = db.session()
    try:
        session.execute(update(License).where(License.public_id == lic.id).values(**values))
        session.commit()
    finally:
        session.rollback()


def set_activation(activation_id: str, **values: Any) -> None:
    """Move an activation's times back: the clock moved forward, as seen by the server."""
    session = db.session()
    try:
        session.execute(
            update(Activation).where(Activation.public_id == activation_id).values(**values)
        )
        session.commit()
    finally:
        session.rollback()


def row(activation_id: str) -> Activation:
    session = db.session()
    try:
        act = session.scalars(select(Activation).where(Activation.public_id == activation_id)).one()
        session.expunge(act)
        return act
    finally:
        session.rollback()


def licence_row(lic: IssuedLicense) -> License:
    session = db.session()
    try:
        found = session.scalars(select(License).where(License.public_id == lic.id)).one()
        session.expunge(found)
        return found
    finally:
        session.rollback()


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def now() -> datetime:
    return datetime.now(UTC)


def ago(seconds: float) -> datetime:
    return now() - timedelta(seconds=seconds)


# ---- a licence without a policy answers as before, plus the new fields ---------
