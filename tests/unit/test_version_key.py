"""domain.updates.version_key: text whose byte order is the semantic-version
order (semver.org 2.0.0, rule 11), so the database finds the newest release."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from licserver.domain.updates import (
    VERSION_KEY_LENGTH,
    Version,
    version_key,
    version_key_of,
)


def key(text: str) -> str:
    return version_key(Version.parse(text))


# semver.org's own example, in order, and more of rule 11.
ORDERED = [
    "0.9.9",
    "1.0.0-0",
    "1.0.0-0.0",
    "1.0.0-1",
    "1.0.0-2",
    "1.0.0-10",
    "1.0.0-A",
    "1.0.0-Z",
    "1.0.0-a",
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-alpha.beta",
    "1.0.0-alpha-x",
    "1.0.0-alphabet",
    "1.0.0-beta",
    "1.0.0-beta.2",
    "1.0.0-beta.11",
    "1.0.0-rc.1",
    "1.0.0",
    "1.0.1-alpha",
    "1.0.1",
    "1.9.0",
    "1.10.0",
    "2.0.0-beta.1",
    "2.0.0",
    "10.0.0",
    "123456789012345678901234567890.0.0",
]


def test_keys_sort_as_semver_orders_versions() -> None:
    keys = [key(v) for v in ORDERED]
    assert sorted(keys) == keys
    assert len(set(keys)) == len(keys)
    # byte order, as SQLite's BINARY and PostgreSQL's "C" collation compare
    assert sorted(k.encode("ascii") for k in keys) == [k.encode("ascii") for k in keys]


@pytest.mark.parametrize(
    ("low", "high"),
    [
        ("1.9.0", "1.10.0"),
        ("2.0.0-beta.1", "2.0.0"),
        ("1.0.0-alpha", "1.0.0-alpha.1"),
        ("1.0.0-alpha.1", "1.0.0-alpha.beta"),
        ("1.0.0-alpha.beta", "1.0.0-beta"),
        ("1.0.0-beta", "1.0.0-beta.2"),
        ("1.0.0-beta.2", "1.0.0-beta.11"),
        ("1.0.0-beta.11", "1.0.0-rc.1"),
        ("1.0.0-rc.1", "1.0.0"),
    ],
)
def test_the_rules_of_semver(low: str, high: str) -> None:
    assert key(low) < key(high)


def test_build_metadata_and_the_short_form_do_not_change_the_key() -> None:
    assert key("1.0.0+build.5") == key("1.0.0") == key("1.0")
    assert key("1.0.0-rc.1+exp.sha.5114f85") == key("1.0.0-rc.1")


def test_a_version_that_is_not_semantic_has_no_key() -> None:
    assert version_key_of("v1") is None
    assert version_key_of("1.0.0-01") is None
    assert version_key_of("2.1.0-beta.1") == key("2.1.0-beta.1")


NUM = st.integers(min_value=0, max_value=10**12)
IDENT = st.one_of(
    NUM,
    st.from_regex(r"[0-9A-Za-z-]{1,8}", fullmatch=True).filter(lambda s: not s.isdigit()),
)
VERSIONS = st.builds(
    lambda a, b, c, pre: Version(a, b, c, tuple(pre)),
    NUM,
    NUM,
    NUM,
    st.lists(IDENT, max_size=4),
)


# No deadline: the machine's load is no property of the key.
@settings(deadline=None)
@given(VERSIONS, VERSIONS)
def test_keys_order_every_pair_as_versions_do(a: Version, b: Version) -> None:
    assert (version_key(a) < version_key(b)) == (a < b)
    assert (version_key(a) == version_key(b)) == (a == b)


@settings(deadline=None)
@given(st.from_regex(r"(0|[1-9]\d{0,19})\.(0|[1-9]\d{0,19})\.(0|[1-9]\d{0,19})", fullmatch=True))
def test_a_parsed_version_keeps_its_key_through_str(text: str) -> None:
    assert key(text) == key(str(Version.parse(text)))


def test_the_longest_key_fits_its_column() -> None:
    longest = "0.0.0-" + ".".join(["1"] * 29)  # 63 characters of one-digit identifiers
    assert len(longest) <= 64
    assert len(key(longest)) <= VERSION_KEY_LENGTH
    assert len(key("9" * 30 + "." + "9" * 31 + ".0")) <= VERSION_KEY_LENGTH
