"""licserver.domain.policy: the rules of licence models as plain functions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from licserver.domain import policy as p
from licserver.domain.budget import Budget

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def test_defaults_are_the_node_locked_licence_of_old() -> None:
    s = p.resolve(None, None)
    assert s is p.DEFAULTS and s.model == p.NODE_LOCKED and s.plain
    assert s.enforcement == p.ENFORCE and not s.trial and s.features == ()


def test_check_normalises_and_refuses() -> None:
    out = p.check({"model": "floating", "features": ["b", "a", "a"], "transfer_budget": " OFF "})
    assert out["features"] == ("a", "b") and out["transfer_budget"] == "off"
    with pytest.raises(p.PolicyError) as err:
        p.check({"model": "rental", "colour": "red", "lease_ttl": 1, "trial": "yes"})
    assert set(err.value.errors) == {"model", "colour", "lease_ttl", "trial"}
    # combinations are checked only for whole settings, not for overrides
    with pytest.raises(p.PolicyError) as err:
        p.check({"expiry_basis": "from_issue"})
    assert "duration_days" in err.value.errors
    assert p.check({"expiry_basis": "from_issue"}, partial=True) == {"expiry_basis": "from_issue"}
    with pytest.raises(p.PolicyError):
        p.check({"trial": True, "duration_days": 14})  # a trial's expiry is relative
    with pytest.raises(p.PolicyError):
        p.check({"lease_ttl": True})  # a bool is not a number of seconds
    with pytest.raises(p.PolicyError):
        p.check({"fixed_expiry": "2027-01-01T00:00:00"})  # no timezone


def test_resolve_applies_overrides_over_the_policy() -> None:
    stored = p.settings_json(p.check({"model": "floating", "fixed_expiry": "2027-01-01T00:00:00Z"}))
    assert stored["fixed_expiry"] == "2027-01-01T00:00:00Z"
    s = p.resolve(stored, {"lease_ttl": 60, "model": "node_locked"})
    assert s.model == p.NODE_LOCKED and s.lease_ttl == 60
    assert s.fixed_expiry == datetime(2027, 1, 1, tzinfo=UTC)
    assert p.resolve(stored, None).to_json()["model"] == "floating"


def test_plain_is_false_for_anything_beyond_the_seat_rule() -> None:
    for settings in (
        {"model": "floating"},
        {"enforcement": "report_only"},
        {"trial": True, "expiry_basis": "from_issue", "duration_days": 7},
        {"expiry_basis": "from_first_activation", "duration_days": 7},
        {"heartbeat_required": True},
    ):
        assert not p.resolve(p.settings_json(p.check(settings)), None).plain, settings
    assert p.resolve({"features": ["x"], "transfer_budget": "3 per 30 days"}, None).plain


def test_budget_falls_back_to_the_servers() -> None:
    server = Budget(5, timedelta(days=1))
    assert p.DEFAULTS.budget(server) is server
    assert p.resolve({"transfer_budget": "off"}, None).budget(server) is None
    assert p.resolve({"transfer_budget": "3 per 30 days"}, None).budget(server) == Budget(
        3, timedelta(days=30)
    )


def test_features_and_missing() -> None:
    s = p.resolve({"features": ["render", "export"]}, None)
    assert p.features(s, ["cloud", "export"]) == ["cloud", "export", "render"]
    assert p.missing_features(["a", "b"], ["b", "c", "c"]) == ["c"]


def test_expiry_rules() -> None:
    fixed = p.resolve({"fixed_expiry": "2030-01-01T00:00:00Z"}, None)
    assert p.expiry_at_issue(fixed, NOW, None) == datetime(2030, 1, 1, tzinfo=UTC)
    issue = p.resolve({"expiry_basis": "from_issue", "duration_days": 30}, None)
    assert p.expiry_at_issue(issue, NOW, None) == NOW + timedelta(days=30)
    assert p.expiry_at_issue(p.DEFAULTS, NOW, NOW) == NOW
    first = p.resolve({"expiry_basis": "from_first_activation", "duration_days": 10}, None)
    assert p.expiry_at_first_activation(first, NOW, None, None) == NOW + timedelta(days=10)
    # only the first activation starts it
    assert p.expiry_at_first_activation(first, NOW, None, NOW - timedelta(days=1)) is None
    assert p.expiry_at_first_activation(issue, NOW, NOW, None) == NOW


def test_renewals() -> None:
    old = NOW - timedelta(days=5)
    from_expiry = p.resolve({"duration_days": 30}, None)
    assert p.renewed_expiry(from_expiry, old, NOW) == old + timedelta(days=30)
    assert p.renewed_expiry(from_expiry, None, NOW, 7) == NOW + timedelta(days=7)
    from_now = p.resolve({"duration_days": 30, "renewal_basis": "from_now"}, None)
    assert p.renewed_expiry(from_now, old, NOW) == NOW + timedelta(days=30)
    with pytest.raises(p.PolicyError):
        p.renewed_expiry(p.DEFAULTS, old, NOW)


def test_maintained_access_on_the_boundary_day() -> None:
    s = p.resolve({"expired_access": "maintain_access"}, None)
    ends = datetime(2026, 12, 31, 23, 0, tzinfo=UTC)
    assert p.access_after_expiry(s, ends, date(2026, 12, 31))
    assert not p.access_after_expiry(s, ends, date(2027, 1, 1))
    assert not p.access_after_expiry(s, ends, None)
    assert not p.access_after_expiry(p.DEFAULTS, ends, date(2020, 1, 1))


def test_leases_heartbeats_and_certificate_until() -> None:
    floating = p.resolve({"model": "floating", "lease_ttl": 600}, None)
    assert p.lease_until(floating, NOW) == NOW + timedelta(seconds=600)
    assert p.lease_until(p.DEFAULTS, NOW) is None
    assert p.certificate_until(floating, NOW, 14) == NOW + timedelta(seconds=600)
    assert p.certificate_until(p.DEFAULTS, NOW, 14) == NOW + timedelta(days=14)
    hb = p.resolve({"heartbeat_required": True, "inactive_after": 3600}, None)
    assert p.heartbeat_deadline(hb, NOW) == NOW + timedelta(hours=1)
    assert p.certificate_until(hb, NOW, 14) == NOW + timedelta(hours=1)
    assert p.heartbeat_deadline(p.DEFAULTS, NOW) is None


def test_overdue() -> None:
    floating = p.resolve({"model": "floating", "lease_ttl": 60}, None)
    live = p.Seen(1, NOW, NOW + timedelta(seconds=60), False)
    assert p.overdue(floating, live, NOW) is None
    assert p.overdue(floating, live, NOW + timedelta(seconds=60)) == p.LEASE_EXPIRED
    no_lease = p.Seen(1, NOW, None, False)  # an activation from before the policy
    assert p.overdue(floating, no_lease, NOW + timedelta(seconds=61)) == p.LEASE_EXPIRED
    mark = p.resolve({"heartbeat_required": True, "inactive_after": 60}, None)
    assert p.overdue(mark, live, NOW + timedelta(seconds=59)) is None
    assert p.overdue(mark, live, NOW + timedelta(seconds=61)) == p.MARK_INACTIVE
    assert p.overdue(mark, p.Seen(1, NOW, None, True), NOW + timedelta(hours=1)) is None
    free = p.resolve(
        {"heartbeat_required": True, "inactive_after": 60, "free_seat_when_inactive": True}, None
    )
    assert p.overdue(free, p.Seen(1, NOW, None, True), NOW + timedelta(hours=1)) == p.FREE_SEAT
    assert p.overdue(p.DEFAULTS, live, NOW + timedelta(days=999)) is None


@pytest.mark.parametrize(
    "value", ["00000000", "0000-0000-0000", "FFFFFFFF", "ffff:ffff", "aaaaaaaa", "--------"]
)
def test_degenerate_ids(value: str) -> None:
    assert p.degenerate_id(value)


@pytest.mark.parametrize("value", ["3f2a9c0e7d5b41a8", "install-0001", "ab"])
def test_real_ids(value: str) -> None:
    assert not p.degenerate_id(value)


@pytest.mark.parametrize(
    ("url", "normal"),
    [
        ("HTTPS://Shop.Example.COM:443/store/", "https://shop.example.com/store"),
        ("http://example.com", "http://example.com/"),
        ("http://example.com:8080//a//b/?q=1#frag", "http://example.com:8080/a/b"),
        ("https://user:pw@example.com/", "https://example.com/"),
        ("https://bücher.example/", "https://xn--bcher-kva.example/"),
        ("http://[::1]:80/x", "http://[::1]/x"),
        ("https://example.com./", "https://example.com/"),
    ],
)
def test_normalise_site(url: str, normal: str) -> None:
    assert p.normalise_site(url) == normal


@pytest.mark.parametrize(
    "url", ["ftp://example.com", "example.com", "https://", "http://x:99999/", ""]
)
def test_bad_sites(url: str) -> None:
    with pytest.raises(ValueError):
        p.normalise_site(url)


def test_site_installation_id_is_stable_and_valid() -> None:
    iid = p.site_installation_id("https://shop.example.com/store")
    assert iid == p.site_installation_id("https://shop.example.com/store")
    assert iid.startswith("site:") and len(iid) == 45
    assert iid != p.site_installation_id("https://shop.example.com/")


def test_continuity_match() -> None:
    s = p.DEFAULTS  # two must match
    offered = {"hostname": "h1h1h1h1", "disk": "d1d1d1d1", "mac": "m1m1m1m1"}
    a = p.Holder("a", "iid-a", {"hostname": "h1h1h1h1", "disk": "d1d1d1d1", "mac": "other-1"})
    b = p.Holder("b", "iid-b", {"hostname": "h1h1h1h1", "disk": "xxxx-2", "mac": "yyyy-2"})
    found = p.continuity_match(s, offered, [a, b])
    assert found is not None and found[0] is a and found[1] == ["disk", "hostname"]
    # a tie moves nothing
    a2 = p.Holder("a2", "iid-a2", dict(a.fingerprints))
    assert p.continuity_match(s, offered, [a, a2]) is None
    # degenerate values never count; 0 turns it off
    zeros = {"hostname": "00000000", "disk": "00000000"}
    assert p.continuity_match(s, zeros, [p.Holder("z", "iid", zeros)]) is None
    off = p.resolve({"fingerprint_matches": 0}, None)
    assert p.continuity_match(off, offered, [a]) is None


def test_check_fingerprints() -> None:
    assert p.check_fingerprints({"disk": "abc"}) == {"disk": "abc"}
    for bad in ([], {"Disk": "x"}, {"disk": ""}, {"disk": 5}, {f"k{i}": "v" for i in range(9)}):
        with pytest.raises(ValueError):
            p.check_fingerprints(bad)
