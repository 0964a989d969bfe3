"""Portal users ask for more (more seats, a renewal); staff approve or decline
in the console's queue. Approving applies the change through the licence
services with the staff user as the actor; both answers are emailed to the
requester (after the commit: a message that cannot be handed over is logged
and never undoes the decision). Rules: ``licserver.domain.requests``."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update

from licserver.database import begin_write
from licserver.domain import portal as portal_rules
from licserver.domain import requests as rules
from licserver.domain.errors import NotFound
from licserver.domain.portal import Principal
from licserver.models import Customer, License, User, utcnow
from licserver.models.license_request import LicenseRequest
from licserver.services import Origin, license_changes, portal_licenses
from licserver.services import policies as policy_service
from licserver.services.context import Context

QUEUE_LIMIT = 200


@dataclass(frozen=True)
class Offer:
    """What the portal offers on a licence: the store's checkout page (the
    product names one) or the request form, and the requests still open."""

    license: License
    checkout_url: str | None
    pending: list[LicenseRequest]


def offer(ctx: Context, principal: Principal, public_id: str) -> Offer:
    portal_rules.check(principal, portal_rules.REQUEST)
    lic = portal_licenses.get(ctx, principal, public_id)
    pending = ctx.session.scalars(
        select(LicenseRequest)
        .where(LicenseRequest.license_id == lic.id, LicenseRequest.status == rules.PENDING)
        .order_by(LicenseRequest.id)
    ).all()
    return Offer(lic, lic.product.checkout_url, list(pending))


def _requester(ctx: Context, principal: Principal) -> tuple[str, str]:
    """Email and name of who asks: the user, or for the company login the
    account's contact."""
    session = ctx.session
    if principal.user_id is not None:
        user = session.get(User, principal.user_id)
        if user is not None:
            return user.email, user.name
    cust = session.get(Customer, principal.customer_id)
    if cust is None:
        raise NotFound("No such account.")
    return cust.email, cust.name


def submit(
    ctx: Context,
    principal: Principal,
    public_id: str,
    *,
    kind: str,
    seats: int | None,
    note: str | None,
) -> LicenseRequest:
    """A request for the staff's queue (refused for roles below manager)."""
    portal_rules.check(principal, portal_rules.REQUEST)
    seats, note = rules.check_request(kind, seats, note)
    session = ctx.session
    begin_write(session)
    try:
        lic = portal_licenses.get(ctx, principal, public_id)
        email, name = _requester(ctx, principal)
        req = LicenseRequest(
            license_id=lic.id,
            customer_id=lic.customer_id,
            kind=kind,
            seats=seats,
            note=note,
            requested_by_email=email,
            requested_by_name=name,
            status=rules.PENDING,
            created_at=utcnow(),
        )
        session.add(req)
        session.commit()
        return req
    except BaseException:
        session.rollback()
        raise


def queue(ctx: Context, status: str = rules.PENDING) -> list[LicenseRequest]:
    """The requests of one status: pending ones oldest first, decided newest first."""
    if status not in rules.STATUSES:
        status = rules.PENDING
    order = LicenseRequest.id if status == rules.PENDING else LicenseRequest.id.desc()
    q = select(LicenseRequest).where(LicenseRequest.status == status).order_by(order)
    return list(ctx.session.scalars(q.limit(QUEUE_LIMIT)).unique().all())


def _claim(ctx: Context, origin: Origin, request_id: int, status: str, reason: str | None) -> None:
    """Decide a pending request, once: of two staff clicking at the same time
    one wins, the other hears it is already decided."""
    session = ctx.session
    begin_write(session)
    try:
        done = session.execute(
            update(LicenseRequest)
            .where(LicenseRequest.id == request_id, LicenseRequest.status == rules.PENDING)
            .values(status=status, decided_at=utcnow(), decided_by=origin.actor.id, reason=reason)
        )
        if not done.rowcount:  # type: ignore[attr-defined]
            found = session.get(LicenseRequest, request_id)
            if found is None:
                raise NotFound("No such request.")
            rules.check_open(found.status)
        session.commit()
    except BaseException:
        session.rollback()
        raise


def _reopen(ctx: Context, request_id: int) -> None:
    session = ctx.session
    begin_write(session)
    session.execute(
        update(LicenseRequest)
        .where(LicenseRequest.id == request_id)
        .values(status=rules.PENDING, decided_at=None, decided_by=None, reason=None)
    )
    session.commit()


def _apply(ctx: Context, origin: Origin, req: LicenseRequest) -> License:
    lic = req.license
    if req.kind == rules.SEATS:
        return license_changes.add_seats(ctx, origin, lic.public_id, req.seats or 0)
    days = rules.renewal_days(
        policy_service.effective(lic).duration_days, lic.product.default_duration_days
    )
    return license_changes.renew(ctx, origin, lic.public_id, days)


def approve(ctx: Context, origin: Origin, request_id: int) -> LicenseRequest:
    """Apply the request (seats or expiry, the staff user as the actor) and
    tell the requester. Should the change be refused, the request stays pending."""
    _claim(ctx, origin, request_id, rules.APPROVED, None)
    req = _load(ctx, request_id)
    try:
        lic = _apply(ctx, origin, req)
    except BaseException:
        ctx.session.rollback()
        _reopen(ctx, request_id)
        raise
    expiry = lic.expires_at.strftime("%Y-%m-%d") if lic.expires_at else "never"
    _tell(
        ctx,
        req,
        "approved",
        f"It is done: the licence now has {lic.seats} seats and expires {expiry}.",
    )
    return req


def decline(ctx: Context, origin: Origin, request_id: int, reason: str | None) -> LicenseRequest:
    text = rules.check_reason(reason)
    _claim(ctx, origin, request_id, rules.DECLINED, text)
    req = _load(ctx, request_id)
    _tell(ctx, req, "declined", f"The reason given:\n\n  {text}")
    return req


def _load(ctx: Context, request_id: int) -> LicenseRequest:
    req = ctx.session.get(LicenseRequest, request_id, populate_existing=True)
    if req is None:
        raise NotFound("No such request.")
    return req


def _tell(ctx: Context, req: LicenseRequest, answer: str, detail: str) -> bool:
    lic = req.license
    what = rules.describe(req.kind, req.seats)
    body = (
        f"Hello {req.requested_by_name},\n\n"
        f"Your request for {what} on licence {lic.public_id} ({lic.product.name}) "
        f"was {answer}.\n{detail}\n\n"
        f"See the licence: {ctx.mailer.link(f'/portal/licenses/{lic.public_id}')}\n"
        "-- \nThis message was sent by the licence portal. Do not reply to it.\n"
    )
    subject = f"Licence portal: your request for {what} was {answer}"
    return ctx.mailer.send(req.requested_by_email, subject, body)
