"""Who may do what in the customer portal: one table, and rules over plain values.

``MATRIX`` is the permission matrix of the portal (README, "Customer portal").
Every portal route names one action of it, and every action is checked
against it — through ``allowed`` — before anything is read or changed.
"""

from __future__ import annotations

from dataclasses import dataclass

from licserver.domain.errors import Conflict, Forbidden, ValidationFailed
from licserver.domain.roles import ROLES

# ---- actions -------------------------------------------------------------------

VIEW = "view"  # licences, seats, expiry, installations, activation history
SECRETS = "secrets"  # licence keys and activation passwords
DEACTIVATE = "deactivate"  # an installation (dead, lost, stolen machine)
REGENERATE = "regenerate"  # a new activation password, a reissued key
PAYMENTS = "payments"  # payment history and invoices
USERS = "users"  # invite users, change roles, remove users
ACCOUNT = "account"  # account details and contacts, the company password and its login
DOWNLOADS = "downloads"  # releases of the products the account holds an active licence of
OFFLINE = "offline"  # activate or deactivate an air-gapped machine with pasted codes
REQUEST = "request"  # ask for more seats or a renewal (or buy them in the store)

BASIC, BILLING, TECHNICAL, MANAGER, OWNER = ROLES

# The matrix: action -> (what it means, the roles that may do it).
MATRIX: dict[str, tuple[str, frozenset[str]]] = {
    VIEW: (
        "see licences, seats, expiry, installations, activation history",
        frozenset(ROLES),
    ),
    SECRETS: ("see licence keys and activation passwords", frozenset({TECHNICAL, MANAGER, OWNER})),
    DEACTIVATE: (
        "deactivate an installation (dead, lost, stolen machine)",
        frozenset({TECHNICAL, MANAGER, OWNER}),
    ),
    REGENERATE: ("regenerate an activation password, reissue a key", frozenset({MANAGER, OWNER})),
    PAYMENTS: ("payment history and invoices", frozenset({BILLING, MANAGER, OWNER})),
    USERS: ("invite users, change roles, remove users", frozenset({MANAGER, OWNER})),
    ACCOUNT: (
        "edit account details and contacts, set or disable the company password",
        frozenset({OWNER}),
    ),
    # Seeds: software download links go to IT/tech support, managers and owners.
    DOWNLOADS: (
        "download releases of the products held",
        frozenset({TECHNICAL, MANAGER, OWNER}),
    ),
    # Activating takes a seat and hands out a certificate: whoever may see the
    # licence key (which activates online) may do it offline too.
    OFFLINE: (
        "activate or deactivate an installation offline (air-gapped machine)",
        frozenset({TECHNICAL, MANAGER, OWNER}),
    ),
    # Seeds: "order additional computer licenses", for managers and owners.
    REQUEST: (
        "order additional computer licenses (more seats, a renewal)",
        frozenset({MANAGER, OWNER}),
    ),
}
ACTIONS = tuple(MATRIX)

# A user limited to chosen licences is an outside contact: they keep the
# licence actions of their role, on those licences only, and nothing account-wide.
LICENSE_ACTIONS = frozenset({VIEW, SECRETS, DEACTIVATE, REGENERATE, DOWNLOADS, OFFLINE})

# Managers manage users "up to manager": they neither make nor touch owners.
ASSIGNABLE: dict[str, tuple[str, ...]] = {
    OWNER: ROLES,
    MANAGER: (BASIC, BILLING, TECHNICAL, MANAGER),
}

# The company login ("customer number + company password") is shared by many
# people and also activates products: it may have any role but owner.
COMPANY_LOGIN_ROLES = (BASIC, BILLING, TECHNICAL, MANAGER)
COMPANY_LOGIN_DEFAULT_ROLE = TECHNICAL

# ---- notices -------------------------------------------------------------------

EXPIRY, DEACTIVATIONS, UPDATES = "expiry", "deactivations", "updates"
NOTICES: dict[str, str] = {
    EXPIRY: "Expiry reminders",
    DEACTIVATIONS: "Installations deactivated in the portal",
    UPDATES: "Product updates",
}
# What a user gets until they choose: expiry reminders go to owners and billing
# users (they renew), owners hear of every deactivation, everyone of updates.
NOTICE_DEFAULTS: dict[str, frozenset[str]] = {
    role: frozenset(
        {UPDATES}
        | ({EXPIRY} if role in (OWNER, BILLING) else set())
        | ({DEACTIVATIONS} if role == OWNER else set())
    )
    for role in ROLES
}


@dataclass(frozen=True)
class Principal:
    """Who is logged in, as the rules see them.

    ``licenses``: the licence row ids a limited user may see, or None for all.
    ``user_id`` is None for the company login (no person, no profile)."""

    customer_id: int
    role: str
    user_id: int | None = None
    licenses: frozenset[int] | None = None

    @property
    def is_company_login(self) -> bool:
        return self.user_id is None

    @property
    def limited(self) -> bool:
        return self.licenses is not None


def role_allows(role: str, action: str) -> bool:
    """The matrix itself: may ``role`` do ``action``?"""
    return role in MATRIX[action][1]


def allowed(principal: Principal, action: str) -> bool:
    """The matrix, narrowed for users limited to chosen licences."""
    if principal.limited and action not in LICENSE_ACTIONS:
        return False
    return role_allows(principal.role, action)


def check(principal: Principal, action: str) -> None:
    if not allowed(principal, action):
        raise Forbidden(f"Your role ({principal.role}) may not {MATRIX[action][0]}.")


def sees_company_contacts(principal: Principal) -> bool:
    """The company's contacts, address and phone are account-wide: a user
    limited to chosen licences (an outside contact) does not see them."""
    return not principal.limited


def sees_license(principal: Principal, license_row_id: int) -> bool:
    return principal.licenses is None or license_row_id in principal.licenses


def assignable_roles(role: str) -> tuple[str, ...]:
    """The roles a user of ``role`` may give (to new users or by a change)."""
    return ASSIGNABLE.get(role, ())


def check_manage(actor: Principal, target_role: str, new_role: str | None = None) -> None:
    """May ``actor`` change or remove a user who has ``target_role`` (giving
    them ``new_role``)? Managers neither touch owners nor make them."""
    check(actor, USERS)
    mine = assignable_roles(actor.role)
    if target_role not in mine:
        raise Forbidden(f"A {actor.role} may not change or remove a user who is {target_role}.")
    if new_role is not None and new_role not in mine:
        raise Forbidden(f"A {actor.role} may not make a user {new_role}.")


def check_invite(actor: Principal, role: str) -> None:
    check(actor, USERS)
    if role not in assignable_roles(actor.role):
        raise Forbidden(f"A {actor.role} may not invite a user as {role}.")


def check_owner_kept(owners: int, target_role: str, new_role: str | None) -> None:
    """The last owner can be neither removed (``new_role`` None) nor demoted."""
    if target_role == OWNER and new_role != OWNER and owners <= 1:
        raise Conflict(
            "The account's last owner cannot be removed or demoted; make another owner first."
        )


def check_limits(role: str, limited: bool) -> None:
    """Owners always see the whole account: they answer for it."""
    if limited and role == OWNER:
        raise ValidationFailed({"licenses": ["An owner cannot be limited to chosen licences."]})


def wants_notice(role: str, notice: str, choice: bool | None) -> bool:
    """Whether a user gets ``notice`` by email: their choice, else the role's default."""
    if choice is not None:
        return choice
    return notice in NOTICE_DEFAULTS.get(role, frozenset())


def matrix_markdown() -> str:
    """The matrix as the README prints it (a test keeps the two the same)."""
    head = "| what | " + " | ".join(ROLES) + " |"
    rule = "|---|" + "---|" * len(ROLES)
    rows = []
    for action, (what, roles) in MATRIX.items():
        cells = []
        for role in ROLES:
            mark = "✓" if role in roles else ""
            if mark and action == USERS and role == MANAGER:
                mark = "✓ (up to manager)"
            cells.append(mark)
        rows.append(f"| {what} (`{action}`) | " + " | ".join(cells) + " |")
    return "\n".join([head, rule, *rows])
