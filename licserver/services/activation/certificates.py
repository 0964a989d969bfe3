"""AC1 certificates: what an activation or a check-in hands the client, signed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from licserver import signing
from licserver.domain import policy as rules
from licserver.services.activation.entitlements import features, settings_of


@dataclass(frozen=True)
class Terms:
    """What a certificate says beyond the licence row it is made from."""

    settings: rules.Settings
    expires_at: datetime | None
    lease_expires_at: datetime | None = None
    warn: tuple[str, ...] = ()
    site: str | None = None


def _ts(value: datetime | None) -> int | None:
    return int(value.timestamp()) if value is not None else None


def issue_certificate(
    signer: tuple[str, Ed25519PrivateKey],
    lic: Any,
    activation_id: str,
    installation_id: str,
    machine_name: str,
    now: datetime,
    terms: Terms | None = None,
) -> str:
    """An AC1 certificate. ``lic`` carries the licence's ``public_id``, ``product``
    (code), ``customer`` (number), ``seats``, ``features``, ``expires_at`` and
    ``grace_days`` (the product's offline grace), and its policy's settings and
    overrides when it has them; ``terms`` what this request decided beyond them."""
    kid, key = signer
    if terms is None:
        terms = Terms(settings_of(lic), lic.expires_at, getattr(lic, "lease_expires_at", None))
    s = terms.settings
    until = rules.certificate_until(s, now, lic.grace_days)
    if terms.lease_expires_at is not None:
        until = min(until, terms.lease_expires_at)
    payload = signing.certificate_payload(
        aid=activation_id,
        lid=lic.public_id,
        prod=lic.product,
        cust=lic.customer,
        iid=installation_id,
        mn=machine_name,
        seats=lic.seats,
        features=features(s, lic.features),
        iat=int(now.timestamp()),
        exp=_ts(terms.expires_at),
        until=int(until.timestamp()),
        model=rules.FLOATING if s.floating else None,
        lease=_ts(terms.lease_expires_at) if s.floating else None,
        hb=s.heartbeat_interval if s.heartbeat_required else None,
        acc=rules.MAINTAIN_ACCESS if s.expired_access == rules.MAINTAIN_ACCESS else None,
        warn=list(terms.warn) or None,
        site=terms.site,
    )
    return signing.encode(signing.CERTIFICATE_PREFIX, payload, kid, key)
