"""The admin token permission matrix: every scope against every ability."""

from __future__ import annotations

import pytest

from licserver.domain.errors import Forbidden
from licserver.domain.permissions import (
    CATALOG,
    LICENSES,
    READ,
    SCOPES,
    STORES,
    WEBHOOKS,
    check_scope,
)

# The whole matrix, written out: read < licenses < full.
ALLOWED = {
    ("read", READ): True,
    ("read", LICENSES): False,
    ("read", CATALOG): False,
    ("read", WEBHOOKS): False,
    ("read", STORES): False,
    ("licenses", READ): True,
    ("licenses", LICENSES): True,
    ("licenses", CATALOG): False,
    ("licenses", WEBHOOKS): False,
    ("licenses", STORES): False,
    ("full", READ): True,
    ("full", LICENSES): True,
    ("full", CATALOG): True,
    ("full", WEBHOOKS): True,
    ("full", STORES): True,
}


def test_the_matrix_covers_every_scope_and_ability() -> None:
    assert set(SCOPES) == {"read", "licenses", "full"}
    abilities = set().union(*SCOPES.values())
    assert abilities == {READ, LICENSES, CATALOG, WEBHOOKS, STORES}
    assert set(ALLOWED) == {(s, a) for s in SCOPES for a in abilities}


@pytest.mark.parametrize(("scope", "ability"), sorted(ALLOWED))
def test_scope_and_ability(scope: str, ability: str) -> None:
    if ALLOWED[scope, ability]:
        check_scope(scope, ability)
        return
    with pytest.raises(Forbidden) as info:
        check_scope(scope, ability)
    assert (info.value.code, info.value.status) == ("FORBIDDEN", 403)
    assert scope in info.value.detail and ability in info.value.detail


@pytest.mark.parametrize("scope", ["", "admin", "FULL", "Full", "root", "full "])
@pytest.mark.parametrize("ability", [READ, LICENSES, CATALOG])
def test_unknown_scope_may_do_nothing(scope: str, ability: str) -> None:
    with pytest.raises(Forbidden):
        check_scope(scope, ability)


@pytest.mark.parametrize("scope", ["read", "licenses", "full"])
@pytest.mark.parametrize("ability", ["", "write", "READ", "admin"])
def test_unknown_ability_is_never_granted(scope: str, ability: str) -> None:
    with pytest.raises(Forbidden):
        check_scope(scope, ability)
