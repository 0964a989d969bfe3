"""Read models for the console's policy pages: a product's policies with their
settings and how many licences follow each, a policy's licences, and a
licence's model (its effective rules, entitlements and the product's policies).
Read only: the writes are ``services.policies``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import select

from licserver.domain import policy as rules
from licserver.models import License, Product
from licserver.models.policy import Policy
from licserver.services import policies
from licserver.services.context import Context


class PolicyRow(NamedTuple):
    policy: Policy
    settings: rules.Settings
    licences: int


@dataclass(frozen=True)
class LicenceModel:
    settings: rules.Settings
    entitlements: list[str]
    policies: list[Policy]
    paid: list[Policy]  # the product's policies a trial may be converted to


def products(ctx: Context) -> list[Product]:
    """Every product, by name: the pages' product picker (its first is the default)."""
    return list(ctx.session.scalars(select(Product).order_by(Product.name, Product.code)))


def product_policies(ctx: Context, product: str) -> list[PolicyRow]:
    """``product``'s policies (by code), each with its settings and licence count."""
    return [
        PolicyRow(pol, policies.settings_of(pol), policies.license_count(ctx, pol))
        for pol in policies.list_for_product(ctx, product)
    ]


def policy_licences(ctx: Context, pol: Policy) -> list[License]:
    """The licences that follow ``pol``, oldest first."""
    stmt = select(License).where(License.policy_id == pol.id).order_by(License.id)
    return list(ctx.session.scalars(stmt))


def licence_model(ctx: Context, lic: License) -> LicenceModel:
    s = policies.effective(lic)
    others = list(
        ctx.session.scalars(
            select(Policy).where(Policy.product_id == lic.product_id).order_by(Policy.name)
        )
    )
    return LicenceModel(
        settings=s,
        entitlements=rules.features(s, lic.features),
        policies=others,
        paid=[p for p in others if not policies.settings_of(p).trial],
    )
