"""Licence keys of another licensing system, kept so that installed products
keep working after the move: stored as a keyed hash (HMAC-SHA-256 under the
data key), looked up by the hash of the key a client sends. The client API
takes a legacy key where it takes an LK1 key (``license_key``): an LK1 key is
verified as such; any other key is looked up here, and an unknown one gets the
answer every wrong credential gets."""

from __future__ import annotations

import dataclasses

from sqlalchemy import select

from licserver.domain.imports import LEGACY_KEY_PURPOSE, looks_like_lk1
from licserver.models import License
from licserver.models.imports import LegacyKey
from licserver.services.context import Context
from licserver.services.credentials import LEGACY_KEY, LICENSE_KEY, Credentials


def key_hash(ctx: Context, key: str) -> str:
    return ctx.box.keyed_hash(key.strip(), LEGACY_KEY_PURPOSE)


def resolve(ctx: Context, creds: Credentials) -> Credentials:
    """``creds`` unchanged, unless they are a ``license_key`` that is not an LK1
    key and is a legacy key of a licence: then credentials of kind LEGACY_KEY
    naming that licence (already authenticated by the lookup). A key that is
    neither stays as it is, and fails as any wrong key does."""
    if creds.kind != LICENSE_KEY or creds.license_key is None:
        return creds
    if looks_like_lk1(creds.license_key):
        return creds
    public_id = ctx.session.scalars(
        select(License.public_id)
        .join(LegacyKey, LegacyKey.license_id == License.id)
        .where(LegacyKey.key_hash == key_hash(ctx, creds.license_key))
    ).first()
    if public_id is None:
        return creds
    return dataclasses.replace(creds, kind=LEGACY_KEY, license_id=public_id)
