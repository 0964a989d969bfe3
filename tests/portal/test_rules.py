"""The portal's rules as plain functions (no app, no database), and the README
printing the matrix the code enforces."""

from __future__ import annotations

from pathlib import Path

import pytest

from licserver.domain import portal as rules
from licserver.domain.errors import Conflict, Forbidden, ValidationFailed
from licserver.domain.portal import Principal

README = Path(__file__).resolve().parents[2] / "README.md"

# The issue's table, written out independently of the code.
ISSUE = {
    rules.VIEW: {"basic", "billing", "technical", "manager", "owner"},
    rules.SECRETS: {"technical", "manager", "owner"},
    rules.DEACTIVATE: {"technical", "manager", "owner"},
    rules.REGENERATE: {"manager", "owner"},
    rules.PAYMENTS: {"billing", "manager", "owner"},
    rules.USERS: {"manager", "owner"},
    rules.ACCOUNT: {"owner"},
    rules.DOWNLOADS: {"technical", "manager", "owner"},
    rules.OFFLINE: {"technical", "manager", "owner"},
    # seed: "order additional computer licenses", for managers and owners
    rules.REQUEST: {"manager", "owner"},
}


@pytest.mark.parametrize("action", rules.ACTIONS)
@pytest.mark.parametrize("role", rules.ROLES)
def test_matrix_is_the_issues_table(role: str, action: str) -> None:
    assert rules.role_allows(role, action) is (role in ISSUE[action])
    assert rules.allowed(Principal(1, role, 7), action) is (role in ISSUE[action])


def test_limited_users_keep_licence_actions_only() -> None:
    limited = Principal(1, "manager", 7, frozenset({3}))
    assert [a for a in rules.ACTIONS if rules.allowed(limited, a)] == [
        rules.VIEW,
        rules.SECRETS,
        rules.DEACTIVATE,
        rules.REGENERATE,
        rules.DOWNLOADS,  # of the products of their licences
        rules.OFFLINE,  # on their licences
    ]
    assert rules.sees_license(limited, 3) and not rules.sees_license(limited, 4)
    assert rules.sees_license(Principal(1, "basic", 7), 4)
    with pytest.raises(Forbidden):
        rules.check(limited, rules.USERS)


def test_who_may_give_which_role() -> None:
    assert rules.assignable_roles("owner") == rules.ROLES
    assert rules.assignable_roles("manager") == ("basic", "billing", "technical", "manager")
    for role in ("basic", "billing", "technical"):
        assert rules.assignable_roles(role) == ()
    manager, owner = Principal(1, "manager", 1), Principal(1, "owner", 2)
    rules.check_invite(manager, "manager")
    rules.check_manage(manager, "technical", "manager")
    with pytest.raises(Forbidden):
        rules.check_invite(manager, "owner")
    with pytest.raises(Forbidden):
        rules.check_manage(manager, "owner", "basic")
    with pytest.raises(Forbidden):
        rules.check_manage(manager, "basic", "owner")
    with pytest.raises(Forbidden):
        rules.check_manage(Principal(1, "technical", 3), "basic")
    rules.check_manage(owner, "owner", "basic")


@pytest.mark.parametrize(
    ("owners", "target", "new", "refused"),
    [
        (1, "owner", None, True),  # remove the last owner
        (1, "owner", "manager", True),  # demote the last owner
        (1, "owner", "owner", False),  # keep them owner (limits change)
        (2, "owner", None, False),
        (2, "owner", "basic", False),
        (1, "manager", None, False),
        (0, "basic", "owner", False),
    ],
)
def test_last_owner_stays(owners: int, target: str, new: str | None, refused: bool) -> None:
    if refused:
        with pytest.raises(Conflict):
            rules.check_owner_kept(owners, target, new)
    else:
        rules.check_owner_kept(owners, target, new)


def test_owners_are_never_limited() -> None:
    with pytest.raises(ValidationFailed):
        rules.check_limits("owner", True)
    rules.check_limits("owner", False)
    rules.check_limits("manager", True)


def test_notice_defaults_and_choices() -> None:
    assert rules.wants_notice("owner", rules.DEACTIVATIONS, None)
    assert not rules.wants_notice("manager", rules.DEACTIVATIONS, None)
    assert rules.wants_notice("manager", rules.DEACTIVATIONS, True)
    assert not rules.wants_notice("owner", rules.DEACTIVATIONS, False)
    for role in rules.ROLES:
        # expiry reminders: owners and billing users (they renew), unless they opt out
        assert rules.wants_notice(role, rules.EXPIRY, None) == (role in ("owner", "billing"))
        assert rules.wants_notice(role, rules.UPDATES, None)
    assert rules.wants_notice("technical", rules.EXPIRY, True)


def test_company_login_roles_exclude_owner() -> None:
    assert "owner" not in rules.COMPANY_LOGIN_ROLES
    assert rules.COMPANY_LOGIN_DEFAULT_ROLE == "technical"
    assert Principal(1, "technical").is_company_login


def test_readme_prints_the_matrix_the_code_enforces() -> None:
    table = rules.matrix_markdown()
    assert table in README.read_text()
    assert table.count("\n") == len(rules.MATRIX) + 1
