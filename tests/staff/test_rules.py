"""The console's role matrix and TOTP, as plain functions (no app)."""

from __future__ import annotations

import base64

import pytest

from licserver.domain import staff as rules
from licserver.domain.errors import Forbidden

SUPPORT_MAY = {"view", "deactivate", "suspend", "regenerate_password", "reissue_key"}
ADMIN_ONLY = {"issue", "change_terms", "revoke", "tokens", "staff"}


@pytest.mark.parametrize("action", sorted(SUPPORT_MAY))
def test_support_does_the_day_to_day(action: str) -> None:
    assert rules.allowed("support", action)
    assert rules.allowed("admin", action)


@pytest.mark.parametrize("action", sorted(ADMIN_ONLY))
def test_only_admins_change_what_was_sold_and_who_has_access(action: str) -> None:
    assert rules.allowed("admin", action)
    assert not rules.allowed("support", action)
    with pytest.raises(Forbidden, match="support"):
        rules.check("support", action)


def test_unknown_roles_and_actions_may_do_nothing() -> None:
    assert not rules.allowed("root", "view")
    assert not rules.allowed("admin", "launch")
    assert not rules.at_least("root", "support")
    assert rules.at_least("admin", "support") and not rules.at_least("support", "admin")
    assert set(rules.MATRIX["admin"]) == SUPPORT_MAY | ADMIN_ONLY


def test_actor_id_is_the_email_or_the_public_id_when_too_long() -> None:
    assert rules.actor_id("ann@vendor.test", "abc") == "staff:ann@vendor.test"
    long = "a" * 60 + "@vendor.test"
    assert rules.actor_id(long, "k3j4h5g6f7") == "staff:k3j4h5g6f7"


# RFC 6238 appendix B (SHA-1 key "12345678901234567890"), last six digits.
RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()


@pytest.mark.parametrize(
    ("at", "code"),
    [(59, "287082"), (1111111109, "081804"), (1234567890, "005924"), (2000000000, "279037")],
)
def test_totp_matches_rfc_6238_vectors(at: int, code: str) -> None:
    assert rules.totp(RFC_SECRET, at) == code


def test_a_code_is_good_for_one_step_either_side_and_only_once() -> None:
    secret = rules.new_totp_secret()
    now = 1_800_000_000.0
    code = rules.totp(secret, now)
    step = rules.totp_match(secret, code, now)
    assert step == int(now) // 30
    assert rules.totp_match(secret, code, now + 30) == step  # a slow hand
    assert rules.totp_match(secret, code, now + 90) is None  # too late
    assert rules.totp_match(secret, code, now, after=step) is None  # replayed
    assert rules.totp_match(secret, "12345", now) is None
    assert rules.totp_match(secret, f"{code[:3]} {code[3:]}", now) == step


def test_otpauth_uri_names_the_issuer_and_account() -> None:
    uri = rules.otpauth_uri("JBSWY3DPEHPK3PXP", "ann@vendor.test", "licserver")
    assert uri.startswith("otpauth://totp/licserver%3Aann%40vendor.test?")
    assert "secret=JBSWY3DPEHPK3PXP" in uri and "issuer=licserver" in uri
