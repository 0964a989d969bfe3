"""The emails of store integrations, sent after the change they report has
been committed (a message that cannot be handed over is logged and never
undoes the change, like every notice)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from licserver.models.store import StoreIntegration
from licserver.services.notices import Mailer
from licserver.services.stores.lifecycle import Issued

_SIGNATURE = "\n-- \nThis message was sent by the licence server. Do not reply to it.\n"


def send_issued(mailer: Mailer, issued: list[Issued]) -> None:
    """One email per buyer, listing every licence the order issued."""
    by_buyer: dict[str, list[Issued]] = {}
    for item in issued:
        by_buyer.setdefault(item.email, []).append(item)
    for email, items in by_buyer.items():
        parts = [
            f"Hello {items[0].name},\n\nThank you for your purchase. Your licence"
            f"{'s' if len(items) > 1 else ''}:\n"
        ]
        for it in items:
            parts.append(
                f"\nProduct: {it.product}\nLicence id: {it.license_id}\n"
                f"Licence key: {it.key}\nActivation password: {it.password}\n"
            )
        token = items[0].invitation
        if token:
            parts.append(
                "\nSee your licences and invoices in the licence portal; set your "
                f"password here:\n{mailer.link(f'/portal/invitation/{token}')}\n"
            )
        mailer.send(email, "Your licence", "".join(parts) + _SIGNATURE)


def tell_staff(session: Session, mailer: Mailer, integ: StoreIntegration, notice: str) -> None:
    """Staff accounts that are enabled get the notice of an event that could
    not be applied and needs them (a quantity below the seats in use)."""
    from licserver.models.staff import StaffUser

    emails = list(session.scalars(select(StaffUser.email).where(StaffUser.disabled_at.is_(None))))
    session.rollback()
    body = (
        f"The store integration {integ.name} ({integ.public_id}) received an event it "
        f"could not apply:\n\n{notice}\n\nSee it in the staff console:\n"
        f"{mailer.link(f'/admin/integrations/{integ.public_id}')}\n" + _SIGNATURE
    )
    for to in emails:
        mailer.send(to, f"Store event not applied: {integ.name}", body)
