"""PostgreSQL's one-statement paths: the common activation and the common check-in.

Each is one hand-written statement in autocommit that locks, checks, writes and
records at once: one round trip, the licence lock held only inside it. When its
conditions do not all hold it writes nothing and returns no row (``None`` here),
and the full path takes over, to decide and explain with the domain's functions.
They are taken only for licences whose effective settings are plain
(``Settings.plain``: no overrides, and no policy or a plain one).
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import JSON, bindparam, text
from sqlalchemy.exc import IntegrityError

from licserver import signing
from licserver.crypto import random_token, token_hash
from licserver.database import begin_autocommit
from licserver.domain import history as chain
from licserver.domain.ids import new_activation_id
from licserver.faults import fault
from licserver.models import utcnow
from licserver.models.base import UTCDateTime
from licserver.services import Origin
from licserver.services.activation.certificates import Terms, issue_certificate
from licserver.services.activation.entitlements import features, settings_of
from licserver.services.activation.results import ActivationResult, CheckinResult, Request
from licserver.services.context import Context
from licserver.services.credentials import Attempt
from licserver.services.history import pg_hash_sql, tail_first

# PostgreSQL: the common activation (a verified key, a usable licence with a free
# seat, this installation not active on it) as one statement in autocommit: lock,
# check, insert, count and record in one round trip, the lock held only inside it.
# The conditions are the seat rule of ``licserver.domain`` for one licence, seen
# from the side that may pass; anything else returns no row and takes the full
# path, which decides (and explains) with the domain's own functions. The licence
# row is its latest version even after a wait for the lock; the activations it is
# checked against may be older, and the partial unique index stops the rest.
# The event is chained into the licence's history in the statement (h: the hash
# computed in SQL from the locked head; services.history).
_PG_ACTIVATE_CHAIN = {
    "seq": "CAST(ok.history_seq + 1 AS text)",
    "license_id": "CAST(ok.id AS text)",
    "customer_id": "CAST(ok.customer_id AS text)",
}
_PG_ACTIVATE = (
    text(
        """
WITH lic AS (
    SELECT l.id, l.public_id, l.customer_id, l.seats, l.seats_used, l.status,
           l.expires_at, l.features, l.key_serial, l.history_seq, l.history_head,
           l.policy_overrides, pol.settings AS policy_settings, pol.plain AS policy_plain,
           l.policy_id,
           p.code AS product, p.offline_grace_days AS grace_days, c.number AS customer
    FROM licenses l
    JOIN products p ON p.id = l.product_id
    JOIN customers c ON c.id = l.customer_id
    LEFT JOIN policies pol ON pol.id = l.policy_id
    WHERE l.public_id = :lid
    FOR UPDATE OF l
), ok AS (
    SELECT lic.* FROM lic
    WHERE lic.key_serial = :ser AND lic.product = :prod AND lic.customer = :cust
      AND lic.status = 'active' AND (lic.expires_at IS NULL OR lic.expires_at > :now)
      AND lic.seats_used < lic.seats
      AND COALESCE(CAST(lic.policy_overrides AS text), 'null') IN ('null', '{}')
      AND (lic.policy_id IS NULL OR lic.policy_plain)
      AND NOT EXISTS (
          SELECT 1 FROM activations a
          WHERE a.license_id = lic.id AND a.installation_id = :iid
            AND a.deactivated_at IS NULL)
), h AS (
    SELECT ok.id, ok.history_seq + 1 AS seq, ok.history_head AS prev,
           """
        + pg_hash_sql("ok.history_head", _PG_ACTIVATE_CHAIN, "chain_tail")
        + """ AS hash
    FROM ok
), act AS (
    INSERT INTO activations (public_id, license_id, installation_id, machine_name, client,
                             token_hash, ip, activated_at, site_url)
    SELECT :aid, ok.id, :iid, :mn, :client, :th, :ip, :now, :site FROM ok
    RETURNING license_id
), seat AS (
    UPDATE licenses SET seats_used = licenses.seats_used + 1, updated_at = :now,
                        first_activated_at = COALESCE(licenses.first_activated_at, :now),
                        history_seq = h.seq, history_head = h.hash
    FROM h
    WHERE licenses.id = (SELECT license_id FROM act) AND h.id = licenses.id
), ev AS (
    INSERT INTO events (at, kind, license_id, customer_id, activation_id, actor_type,
                        actor_id, installation_id, machine_name, ip, data,
                        chain_seq, chain_prev, chain_hash)
    SELECT :now, 'activation.created', ok.id, ok.customer_id, :aid, :actor_type,
           :actor_id, :iid, :mn, :ip, :data, h.seq, h.prev, h.hash
    FROM ok JOIN h ON h.id = ok.id
)
SELECT ok.* FROM ok
"""
    )
    .bindparams(
        bindparam("now", type_=UTCDateTime()),
        bindparam("client", type_=JSON()),
        bindparam("data", type_=JSON()),
    )
    .columns(
        expires_at=UTCDateTime(), features=JSON(), policy_overrides=JSON(), policy_settings=JSON()
    )
)

# PostgreSQL: a check-in of a live activation on a usable licence with its right
# token, in one statement; anything else returns no row and takes the full path.
# It locks the licence (only while it runs) to chain its event into the licence's
# history, as every writer of a licence's events does.
_PG_CHECKIN_CHAIN = {
    "seq": "CAST(act.history_seq + 1 AS text)",
    "license_id": "CAST(act.id AS text)",
    "customer_id": "CAST(act.customer_id AS text)",
    "activation_id": "act.activation_id",
    "installation_id": "act.installation_id",
    "machine_name": "act.machine_name",
}
_PG_CHECKIN = (
    text(
        """
WITH act AS (
    SELECT a.id AS activation_row_id, a.public_id AS activation_id, a.installation_id,
           a.machine_name, a.site_url, l.id, l.public_id, l.customer_id, l.seats,
           l.expires_at, l.features, l.history_seq, l.history_head,
           l.policy_overrides, pol.settings AS policy_settings,
           p.code AS product, p.offline_grace_days AS grace_days, c.number AS customer
    FROM activations a
    JOIN licenses l ON l.id = a.license_id
    JOIN products p ON p.id = l.product_id
    JOIN customers c ON c.id = l.customer_id
    LEFT JOIN policies pol ON pol.id = l.policy_id
    WHERE a.public_id = :aid AND a.token_hash = :th AND a.deactivated_at IS NULL
      AND a.inactive_since IS NULL
      AND l.status = 'active' AND (l.expires_at IS NULL OR l.expires_at > :now)
      AND COALESCE(CAST(l.policy_overrides AS text), 'null') IN ('null', '{}')
      AND (l.policy_id IS NULL OR pol.plain)
    FOR UPDATE OF l
), upd AS (
    UPDATE activations SET last_checkin_at = :now
    WHERE activations.id = (SELECT activation_row_id FROM act)
      AND activations.deactivated_at IS NULL
    RETURNING activations.id
), h AS (
    SELECT act.id, act.history_seq + 1 AS seq, act.history_head AS prev,
           """
        + pg_hash_sql("act.history_head", _PG_CHECKIN_CHAIN, "chain_tail")
        + """ AS hash
    FROM act JOIN upd ON upd.id = act.activation_row_id
), mv AS (
    UPDATE licenses SET history_seq = h.seq, history_head = h.hash
    FROM h WHERE licenses.id = h.id
), ev AS (
    INSERT INTO events (at, kind, license_id, customer_id, activation_id, actor_type,
                        actor_id, installation_id, machine_name, ip, data,
                        chain_seq, chain_prev, chain_hash)
    SELECT :now, 'activation.checked_in', act.id, act.customer_id, act.activation_id,
           :actor_type, :actor_id, act.installation_id, act.machine_name, :ip, '{}',
           h.seq, h.prev, h.hash
    FROM act JOIN h ON h.id = act.id
)
SELECT act.* FROM act JOIN upd ON upd.id = act.activation_row_id
"""
    )
    .bindparams(bindparam("now", type_=UTCDateTime()))
    .columns(
        expires_at=UTCDateTime(), features=JSON(), policy_overrides=JSON(), policy_settings=JSON()
    )
)


def _chain_tail(params: dict[str, Any], kind: str, head: dict[str, str]) -> str:
    """The canonical form's fields a PostgreSQL fast path's event takes from its
    parameters (``services.history``), the fields before them made in SQL."""
    event = {
        "activation_id": params.get("aid"),
        "installation_id": params.get("iid"),
        "machine_name": params.get("mn"),
        "at": params["now"],
        "kind": kind,
        "actor_type": params["actor_type"],
        "actor_id": params["actor_id"],
        "ip": params["ip"],
        "reason": None,
        "data": params.get("data", {}),
    }
    return chain.canonical_tail(event, tail_first(head))


def activate(
    ctx: Context,
    attempt: Attempt,
    claims: signing.LicenseKeyClaims,
    client: dict[str, Any] | None,
    signer: tuple[str, Ed25519PrivateKey],
    event_data: dict[str, Any] | None,
    request: Request,
) -> ActivationResult | None:
    """The common activation in one statement (``_PG_ACTIVATE``), or None for the full path."""
    session = ctx.session
    installation_id, machine_name = attempt.installation_id, attempt.machine_name
    assert installation_id is not None and machine_name is not None
    now, token, activation_id = utcnow(), random_token(), new_activation_id()
    params = {
        "lid": claims.lid,
        "ser": claims.ser,
        "prod": claims.prod,
        "cust": claims.cust,
        "iid": installation_id,
        "mn": machine_name,
        "client": client,
        "aid": activation_id,
        "th": token_hash(token),
        "ip": attempt.origin.ip,
        "now": now,
        "site": request.site_url,
        "actor_type": attempt.origin.actor.type,
        "actor_id": attempt.origin.actor.id,
        "data": {**({"client": client} if client else {}), **(event_data or {})},
    }
    params["chain_tail"] = _chain_tail(params, "activation.created", _PG_ACTIVATE_CHAIN)
    try:
        fault("before_commit")  # test-only; the statement commits on its own
        lic = begin_autocommit(session).execute(_PG_ACTIVATE, params).first()
        if lic is not None:
            fault("after_commit")  # test-only
    except IntegrityError:
        lic = None  # this installation activated meanwhile: the full path re-activates it
    finally:
        session.rollback()  # ends the session's (autocommit) work; nothing to undo
    if lic is None:
        return None
    terms = Terms(settings_of(lic), lic.expires_at, site=request.site_url)
    return ActivationResult(
        activation_id=activation_id,
        license_id=lic.public_id,
        installation_id=installation_id,
        machine_name=machine_name,
        activated_at=now,
        certificate=issue_certificate(
            signer, lic, activation_id, installation_id, machine_name, now, terms
        ),
        activation_token=token,
        created=True,
        features=features(terms.settings, lic.features),
    )


def check_in(
    ctx: Context,
    activation_id: str,
    activation_token: str,
    origin: Origin,
    signer: tuple[str, Ed25519PrivateKey],
) -> CheckinResult | None:
    """The common check-in in one statement (``_PG_CHECKIN``), or None for the full path."""
    session = ctx.session
    now = utcnow()
    params = {
        "aid": activation_id,
        "th": token_hash(activation_token),
        "now": now,
        "actor_type": origin.actor.type,
        "actor_id": origin.actor.id,
        "ip": origin.ip,
    }
    params["chain_tail"] = _chain_tail(params, "activation.checked_in", _PG_CHECKIN_CHAIN)
    try:
        row = begin_autocommit(session).execute(_PG_CHECKIN, params).first()
    finally:
        session.rollback()  # ends the session's (autocommit) work; nothing to undo
    if row is None:
        return None
    terms = Terms(settings_of(row), row.expires_at, site=row.site_url)
    cert = issue_certificate(
        signer, row, row.activation_id, row.installation_id, row.machine_name, now, terms
    )
    return CheckinResult(cert)
