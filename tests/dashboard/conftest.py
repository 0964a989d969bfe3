"""A small, known world for the dashboard: licences of two products,
activations and refusals through the real services, then moved to chosen days
(as a clock moved forward would see them)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import update

from licserver.domain.errors import LicenseServerError
from licserver.extensions import db
from licserver.models import Activation, Event, License
from licserver.runtime import context
from licserver.services import activation as activation_service
from licserver.services.context import Context
from licserver.services.credentials import ACTIVATION_PASSWORD, LICENSE_KEY, Credentials
from tests.support.factory import TEST_ORIGIN, Factory, IssuedLicense

# The test clock: every service call of the dashboard sees this as now.
NOW = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)


def at(days_ago: float) -> datetime:
    return NOW - timedelta(days=days_ago)


def clock_context() -> Context:
    return replace(context(), clock=lambda: NOW)


@dataclass
class World:
    a1: IssuedLicense
    a2: IssuedLicense
    b1: IssuedLicense
    full_code: str  # the refusal code of an activation on a full licence


def _activate(lic: IssuedLicense, iid: str) -> str:
    result = activation_service.activate(
        context(),
        Credentials(kind=LICENSE_KEY, license_key=lic.key),
        iid,
        f"PC {iid}",
        {"os": "Linux"},
        TEST_ORIGIN,
    )
    return result.activation_id


def _move(table: Any, where: Any, **values: Any) -> None:
    session = db.session()
    session.execute(update(table).where(where).values(**values))
    session.commit()


def _refuse(creds: Credentials, iid: str) -> str:
    try:
        activation_service.activate(context(), creds, iid, "PC", None, TEST_ORIGIN)
    except LicenseServerError as exc:
        db.session.rollback()
        return exc.code
    raise AssertionError("activation was not refused")


@pytest.fixture
def world(app: Flask, factory: Factory) -> World:
    """Product Alpha (14 days' grace), product Beta (3 days):

    - A1, 4 seats: machines m1 (seen 2 days ago) and m2 (20 days ago), both
      activated 3 days ago; A2, 2 seats (full), expires in 10 days: two machines
      activated and seen 10 days ago; A5, 3 seats, none used; A3 suspended and
      A4 expired, not active.
    - B1, 1 seat (full): one machine activated today, seen 5 days ago (sic:
      check-in times are set, not earned), refused a second machine 1 day ago.
    - An activation password of an unknown licence, refused 1 day ago.
    """
    alpha = factory.product("alpha", name="Alpha", offline_grace_days=14)
    beta = factory.product("beta", name="Beta", offline_grace_days=3)
    a1 = factory.license(alpha, seats=4)
    a2 = factory.license(alpha, seats=2, expires_at=NOW + timedelta(days=10))
    factory.license(alpha, seats=3)
    a3 = factory.license(alpha, seats=2)
    a4 = factory.license(alpha, seats=2)
    b1 = factory.license(beta, seats=1)
    _move(License, License.public_id == a3.id, status="suspended")
    m1, m2 = _activate(a1, "m1"), _activate(a1, "m2")
    a2m = [_activate(a2, "n1"), _activate(a2, "n2")]
    b = _activate(b1, "b1")
    full = _refuse(Credentials(kind=LICENSE_KEY, license_key=b1.key), "b2")
    bad = Credentials(kind=ACTIVATION_PASSWORD, license_id="L-ZZZZ-ZZZZ", activation_password="x")
    unknown = _refuse(bad, "x1")
    assert unknown == "INVALID_CREDENTIALS"
    _move(License, License.public_id == a4.id, expires_at=at(1))
    for aid, activated, seen in (
        (m1, 3, 2),
        (m2, 3, 20),
        (a2m[0], 10, 10),
        (a2m[1], 10, 10),
        (b, 0, 5),
    ):
        _move(
            Activation,
            Activation.public_id == aid,
            activated_at=at(activated),
            last_checkin_at=at(seen),
        )
        _move(Event, Event.activation_id == aid, at=at(activated))
    _move(Event, Event.kind.like("%refused"), at=at(1))
    db.session.remove()
    return World(a1, a2, b1, full)
