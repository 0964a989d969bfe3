"""The permission matrix, enforced: every role (and the company login) against
every portal route and action, allowed and refused.

Expected answers come from ``licserver.domain.portal.MATRIX`` — the one
table — and each case checks what the page answered AND whether anything
changed (history, users, account, licence secrets): a refused action leaves
everything as it was, an allowed one that writes leaves a trace.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from licserver.domain import portal as rules
from licserver.extensions import db
from licserver.models import Customer, Event, User
from licserver.models.license_request import LicenseRequest
from licserver.runtime import context
from licserver.services import customers as customer_service
from licserver.services import orders as order_service
from tests.support.portal import (
    COMPANY_PASSWORD,
    PASSWORD,
    ROLES,
    Account,
    AccountMaker,
    Browser,
    text_of,
)


@dataclass
class Ctx:
    acc: Account
    order_id: int
    target_id: int  # a basic user that managers and owners may change
    invitee_id: int  # an invited user who has not set a password

    @property
    def lic(self) -> str:
        return self.acc.licenses[0].id

    @property
    def act(self) -> str:
        return str(self.acc.activations[0]["activation_id"])


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    path: str  # {lic} {act} {order} {target} {invitee} are filled from the Ctx
    action: str | None  # None: any logged-in user
    data: dict[str, str] | None = None
    person: bool = False  # a named user only (not the company login)
    writes: bool = False  # an allowed call changes something visible
    ok: int = 200  # the answer when allowed

    def url(self, ctx: Ctx) -> str:
        return self.path.format(
            lic=ctx.lic,
            act=ctx.act,
            order=ctx.order_id,
            target=ctx.target_id,
            invitee=ctx.invitee_id,
        )

    def rule(self) -> str:
        """The Flask URL rule this route is (query string left off)."""
        return (
            self.path.split("?")[0]
            .replace("{lic}", "<public_id>")
            .replace("{act}", "<activation_id>")
            .replace("{order}", "<int:order_id>")
            .replace("{target}", "<int:user_id>")
            .replace("{invitee}", "<int:user_id>")
        )


LIC = "/portal/licenses/{lic}"
DEACTIVATE = LIC + "/installations/{act}/deactivate"
NEW_PASSWORD = "a brand new password"

ROUTES = [
    Route("licenses", "GET", "/portal/licenses", rules.VIEW),
    Route("license", "GET", LIC, rules.VIEW),
    Route("license-all", "GET", LIC + "?all=1", rules.VIEW),
    Route("history", "GET", "/portal/history", rules.VIEW),
    Route("history-csv", "GET", "/portal/history.csv", rules.VIEW),
    Route("reveal", "POST", LIC + "/reveal", rules.SECRETS, writes=True),
    Route("password-confirm", "GET", LIC + "/activation-password", rules.REGENERATE),
    Route("password", "POST", LIC + "/activation-password", rules.REGENERATE, writes=True),
    Route("key-confirm", "GET", LIC + "/key", rules.REGENERATE),
    Route("key", "POST", LIC + "/key", rules.REGENERATE, writes=True),
    Route("deactivate-confirm", "GET", DEACTIVATE, rules.DEACTIVATE),
    Route(
        "deactivate",
        "POST",
        DEACTIVATE,
        rules.DEACTIVATE,
        {"reason": "laptop stolen"},
        writes=True,
        ok=302,
    ),
    Route("more-form", "GET", LIC + "/more", rules.REQUEST),
    Route(
        "more",
        "POST",
        LIC + "/more",
        rules.REQUEST,
        {"kind": "seats", "seats": "1"},
        writes=True,
        ok=302,
    ),
    Route("downloads", "GET", "/portal/downloads", rules.DOWNLOADS),
    # a link that is not valid: 404 for those allowed, 403 before it is read for the rest
    Route("download", "GET", "/portal/downloads/file/<token>", rules.DOWNLOADS, ok=404),
    Route("offline", "GET", LIC + "/offline", rules.OFFLINE),
    Route(
        "offline-request", "POST", LIC + "/offline", rules.OFFLINE, {"request": "LOR1.x"}, ok=422
    ),
    Route(
        "offline-download",
        "POST",
        LIC + "/offline/certificate",
        rules.OFFLINE,
        {"certificate": "LOC1.x.y"},
        ok=422,
    ),
    Route("offline-deactivate-form", "GET", LIC + "/offline/deactivate", rules.OFFLINE),
    Route(
        "offline-deactivate",
        "POST",
        LIC + "/offline/deactivate",
        rules.OFFLINE,
        {"code": "LOD1.x"},
        ok=422,
    ),
    Route("payments", "GET", "/portal/payments", rules.PAYMENTS),
    Route("invoice", "GET", "/portal/payments/{order}", rules.PAYMENTS),
    Route("users", "GET", "/portal/users", rules.USERS),
    Route("invite-form", "GET", "/portal/users/new", rules.USERS),
    Route(
        "invite",
        "POST",
        "/portal/users/new",
        rules.USERS,
        {"name": "New Person", "email": "new.person@elsewhere.test", "role": "basic"},
        writes=True,
        ok=302,
    ),
    Route("user-form", "GET", "/portal/users/{target}", rules.USERS),
    Route(
        "change-role",
        "POST",
        "/portal/users/{target}",
        rules.USERS,
        {"role": "billing"},
        writes=True,
        ok=302,
    ),
    Route("remove-confirm", "GET", "/portal/users/{target}/remove", rules.USERS),
    Route("remove", "POST", "/portal/users/{target}/remove", rules.USERS, writes=True, ok=302),
    Route(
        "reinvite", "POST", "/portal/users/{invitee}/invitation", rules.USERS, writes=True, ok=302
    ),
    Route("account", "GET", "/portal/account", None),
    Route(
        "profile",
        "POST",
        "/portal/account/profile",
        None,
        {"profile-name": "Renamed Person", "profile-notify_updates": "y"},
        person=True,
        writes=True,
        ok=302,
    ),
    Route(
        "email",
        "POST",
        "/portal/account/email",
        None,
        {"email-email": "moved@elsewhere.test", "email-password": PASSWORD},
        person=True,
        writes=True,
        ok=302,
    ),
    Route(
        "password-change",
        "POST",
        "/portal/account/password",
        None,
        {
            "password-current": PASSWORD,
            "password-password": NEW_PASSWORD,
            "password-confirm": NEW_PASSWORD,
        },
        person=True,
        writes=True,
        ok=302,
    ),
    Route(
        "company",
        "POST",
        "/portal/account/company",
        rules.ACCOUNT,
        {"company-name": "Renamed Ltd", "company-email": "contact@acme.test"},
        writes=True,
        ok=302,
    ),
    Route(
        "company-login",
        "POST",
        "/portal/account/company-login",
        rules.ACCOUNT,
        {"login-enabled": "y", "login-role": "basic"},
        writes=True,
        ok=302,
    ),
]

PRINCIPALS = [*ROLES, "company"]


def test_every_route_names_a_matrix_action(app: Flask) -> None:
    """No portal page slips past the matrix: each view is wrapped by ``requires``
    (or is one of the pages for logged-out visitors), and the table above
    covers every route that needs a log-in."""
    public = {
        "portal.static",
        "portal.index",
        "portal.login",
        "portal.logout",
        "portal.forgot",
        "portal.invitation",
        "portal.reset",
    }
    guarded = {}
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("portal.") or rule.endpoint in public:
            continue
        view = app.view_functions[rule.endpoint]
        assert hasattr(view, "__wrapped__"), f"{rule.endpoint} is not guarded"
        action = getattr(view.__wrapped__, "portal_action", "missing")
        assert action == "missing" or action is None or action in rules.MATRIX
        assert action != "missing", f"{rule.endpoint} does not name a matrix action"
        guarded[rule.rule] = rule.methods
    covered = {(r.method, r.rule()) for r in ROUTES}
    for rule, methods in guarded.items():
        for method in methods & {"GET", "POST"}:
            assert (method, rule) in covered, f"{method} {rule} is not in the matrix test"


def _expected(principal: str, route: Route) -> bool:
    role = "technical" if principal == "company" else principal
    if route.person and principal == "company":
        return False
    return route.action is None or rules.role_allows(role, route.action)


def _snapshot(ctx: Ctx) -> Any:
    """Everything a user, staff or the API could see changed: the account's
    history, its users (and their logins), the customer's details, its
    requests for more."""
    db.session.rollback()  # a fresh look: end the test's own read transaction
    events = db.session.execute(
        select(Event.kind, Event.activation_id, Event.actor_id)
        .where(Event.customer_id == ctx.acc.customer_id)
        .order_by(Event.id)
    ).all()
    users = db.session.execute(
        select(
            User.email, User.name, User.role, User.password_hash, User.invite_token_hash
        ).order_by(User.id)
    ).all()
    cust = db.session.get(Customer, ctx.acc.customer_id)
    assert cust is not None
    customer = (
        cust.name,
        cust.email,
        cust.company_login_role,
        cust.company_login_enabled,
        cust.company_password_hash,
    )
    asked = db.session.execute(
        select(LicenseRequest.kind, LicenseRequest.seats, LicenseRequest.requested_by_email)
        .where(LicenseRequest.customer_id == ctx.acc.customer_id)
        .order_by(LicenseRequest.id)
    ).all()
    return (
        [tuple(e) for e in events],
        [tuple(u) for u in users],
        customer,
        [tuple(a) for a in asked],
    )


@pytest.fixture
def ctx(make_account: AccountMaker) -> Ctx:
    acc = make_account("acme")
    order = order_service.create(
        context(),
        customer=acc.number,
        number="INV-1",
        date=date(2026, 11, 1),
        amount=Decimal("100.00"),
        currency="EUR",
        po_number=None,
        items=[order_service.ItemIn("Seats", Decimal("100.00"), acc.licenses[0].id)],
    )
    target = customer_service.add_user(
        context(),
        acc.number,
        email="target@acme.test",
        name="Target",
        role="basic",
        licenses=None,
        invitation_ttl_hours=72,
    )
    target.user.password_hash = db.session.scalars(
        select(User.password_hash).where(User.email == acc.emails["basic"])
    ).one()
    db.session.commit()
    invitee = customer_service.add_user(
        context(),
        acc.number,
        email="invitee@acme.test",
        name="Invitee",
        role="basic",
        licenses=None,
        invitation_ttl_hours=72,
    )
    return Ctx(acc, order.id, target.user.id, invitee.user.id)


def _log_in(browser: Browser, principal: str, ctx: Ctx) -> None:
    if principal == "company":
        r = browser.login(ctx.acc.number, COMPANY_PASSWORD)
    else:
        r = browser.login(ctx.acc.emails[principal])
    assert r.status_code == 302


def _check(principal: str, route: Route, ctx: Ctx, browser: Browser) -> None:
    """One case of the matrix: the answer, and what changed (or did not)."""
    before = _snapshot(ctx)

    if route.method == "GET":
        resp = browser.get(route.url(ctx))
    else:
        resp = browser.post(route.url(ctx), route.data or {})

    after = _snapshot(ctx)
    body = text_of(resp)
    if _expected(principal, route):
        assert resp.status_code == route.ok, body[:2000]
        if route.writes:
            assert after != before, "an allowed action changed nothing"
        else:
            assert after == before
        if route.name == "reveal":
            assert ctx.acc.licenses[0].activation_password in body
    else:
        assert resp.status_code == 403, body[:2000]
        assert "Not allowed" in body
        assert after == before, "a refused action changed something"
        assert ctx.acc.licenses[0].activation_password not in body
        assert ctx.acc.licenses[0].key not in body


@pytest.mark.parametrize("principal", PRINCIPALS)
def test_matrix_without_a_change(principal: str, ctx: Ctx, browser: Browser) -> None:
    """Every case that must leave everything as it was — each refused action,
    each allowed one that writes nothing — one after the other on one account
    and one log-in: each checks that nothing changed, so the next finds the
    account as the first did. (A case of its own costs a whole account.)"""
    _log_in(browser, principal, ctx)
    failed = []
    for route in ROUTES:
        if route.writes and _expected(principal, route):
            continue  # test_matrix_allowed_writes
        try:
            _check(principal, route, ctx, browser)
        except AssertionError as exc:
            failed.append(f"{principal} {route.name}: {exc}")
    assert not failed, "\n\n".join(failed)


WRITES = [(p, r) for p in PRINCIPALS for r in ROUTES if r.writes and _expected(p, r)]


@pytest.mark.parametrize(("principal", "route"), WRITES, ids=[f"{p}-{r.name}" for p, r in WRITES])
def test_matrix_allowed_writes(principal: str, route: Route, ctx: Ctx, browser: Browser) -> None:
    """Every allowed action that writes, on an account of its own."""
    _log_in(browser, principal, ctx)
    _check(principal, route, ctx, browser)


def test_logged_out_visitors_are_sent_to_log_in(ctx: Ctx, browser: Browser) -> None:
    for route in ROUTES:
        if route.method == "GET":
            resp = browser.get(route.url(ctx))
        else:
            resp = browser.post(route.url(ctx), route.data or {})
        assert resp.status_code == 302, (route.name, resp.status_code)
        assert resp.headers["Location"].startswith("/portal/login?next="), route.name
