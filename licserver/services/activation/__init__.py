"""Activation, check-in, deactivation and validation: the client API's use cases.

One use case per module (``activate``, ``checkin``, ``deactivate``,
``validate``); ``certificates`` issues AC1 certificates, ``fast_path`` holds
PostgreSQL's one-statement paths, ``snapshots`` the SQLAlchemy Core reads,
``results`` what the use cases take and answer. The test-only fault point is ``licserver.faults``.

The seat rule runs in one write transaction that holds the licence: on
PostgreSQL the licence rows are locked with SELECT ... FOR UPDATE; on SQLite
the transaction is opened with BEGIN IMMEDIATE. The partial unique index on
live (licence, installation) pairs backs it up in the database.

These are the server's hot paths, so they are written for few round trips and
no ORM objects (docs/performance.md has the measurements):

- The full path, on both databases: one transaction in which one SELECT reads
  the licence with its product, customer and this installation's live
  activation (and locks the licence); the credentials are checked against that
  row; ``licserver.domain`` decides; the writes follow; a refusal writes its
  event instead (nothing else was written before it). The certificate is signed
  after the commit, from the values read under the lock, so that the lock is
  held for the database work only.
- PostgreSQL, the common cases (a new activation by licence key on a usable
  licence with a free seat; a check-in of a live activation): one statement in
  autocommit that locks, checks, writes and records at once: one round trip.
  When its conditions do not all hold it writes nothing and returns no row, and
  the full path takes over, to decide and explain with the domain's functions.
- Validation reads with one statement (PostgreSQL: in autocommit).

Licence models (docs/licence-models.md): the snapshot carries the licence's
policy settings and overrides, ``licserver.domain.policy`` turns them into the
effective settings, and the full path applies them (floating leases, heartbeat
deadlines, expiry from the first activation, maintained access, trials,
report-only enforcement, licensed sites, fingerprint continuity). The PostgreSQL
fast paths are taken only for licences whose effective settings are plain
(``Settings.plain``: no overrides, and no policy or a plain one).
"""

from __future__ import annotations

from licserver.services.activation.activate import activate
from licserver.services.activation.certificates import Terms, issue_certificate
from licserver.services.activation.checkin import check_in
from licserver.services.activation.deactivate import deactivate, deactivate_reporting
from licserver.services.activation.entitlements import (
    licence_features,
    licence_settings,
    settings_of,
)
from licserver.services.activation.results import (
    NO_REQUEST,
    ActivationResult,
    CheckinResult,
    LicenseSummary,
    PolicyWarning,
    Request,
    ValidationResult,
)
from licserver.services.activation.validate import FEATURE_MISSING, validate

__all__ = [
    "FEATURE_MISSING",
    "NO_REQUEST",
    "ActivationResult",
    "CheckinResult",
    "LicenseSummary",
    "PolicyWarning",
    "Request",
    "Terms",
    "ValidationResult",
    "activate",
    "check_in",
    "deactivate",
    "deactivate_reporting",
    "issue_certificate",
    "licence_features",
    "licence_settings",
    "settings_of",
    "validate",
]
