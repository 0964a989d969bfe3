"""The plain webhook rules: subscriptions, the signature recipe, the retry
schedule, which URLs are allowed."""

from __future__ import annotations

import hashlib
import hmac
import time
from pathlib import Path
from typing import Any

import pytest

from licserver.domain import webhooks as rules


@pytest.mark.parametrize(
    ("patterns", "kind", "expected"),
    [
        (["*"], "activation.created", True),
        (["activation.*"], "activation.created", True),
        (["activation.*"], "activation.checkin_refused", True),
        (["activation.*"], "license.revoked", False),
        (["activation.*"], "activations.created", False),
        (["activation.*"], "activation", False),
        (["license.revoked"], "license.revoked", True),
        (["license.revoked"], "license.revoked_later", False),
        (["license.revoked", "activation.created"], "activation.created", True),
        ([], "activation.created", False),
    ],
)
def test_matches(patterns: list[str], kind: str, expected: bool) -> None:
    assert rules.matches(patterns, kind) is expected


@pytest.mark.parametrize(
    "pattern", ["*", "activation.created", "activation.*", "license.key_reissued"]
)
def test_valid_patterns(pattern: str) -> None:
    assert rules.pattern_error(pattern) is None


@pytest.mark.parametrize(
    "pattern", ["", "**", "activation.", "Activation.created", "a.*.b", "*.created", "a b"]
)
def test_invalid_patterns(pattern: str) -> None:
    assert rules.pattern_error(pattern)


def test_normalise_patterns_drops_repeats_and_keeps_order() -> None:
    assert rules.normalise_patterns(["b.*", "a.x", "b.*"]) == ["b.*", "a.x"]


def test_signature_is_the_documented_recipe() -> None:
    secret, t, body = "whsec_test", 1_790_000_000, b'{"id":1,"type":"ping"}'
    expected = hmac.new(secret.encode(), b"1790000000." + body, hashlib.sha256).hexdigest()
    assert rules.signature_header(secret, t, body) == f"t=1790000000,v1={expected}"
    header = rules.signature_header(secret, t, body)
    assert rules.verify(secret, header, body, now=t + 299)
    assert not rules.verify(secret, header, body, now=t + 301)  # too old: a replay
    assert not rules.verify(secret, header, body, now=t - 301)
    assert not rules.verify(secret, header, body + b"x", now=t)
    assert not rules.verify(secret, header.replace("t=1790000000", "t=1790000001"), body, now=t)
    assert not rules.verify(secret, "garbage", body, now=t)
    # several v1 values (a receiver may see more than one during a change): any may match
    assert rules.verify(secret, f"t={t},v1=00,v1={expected}", body, now=t)


def test_retry_schedule() -> None:
    delays = [rules.retry_delay(n) for n in range(1, rules.MAX_ATTEMPTS + 1)]
    assert delays == [60, 300, 1800, 7200, 43200, None]


@pytest.mark.parametrize(
    "url",
    [
        "https://crm.example.com/hooks",
        "http://crm.example.com:8080/hooks?x=1",
        "https://93.184.216.34/hook",
        "https://[2606:4700::1111]/hook",
    ],
)
def test_allowed_urls(url: str) -> None:
    assert rules.url_error(url, allow_private=False) is None


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",
        "javascript:alert(1)",
        "https:///nohost",
        "https://user:pw@example.com/",
        "https://example.com/#frag",
        "https://example.com/ space",
        "https://example.com:99999/",
        "http://127.0.0.1:8000/",
        "http://10.1.2.3/",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/",
        "http://0.0.0.0/",
        "https://example.com/" + "x" * 2000,
    ],
)
def test_refused_urls(url: str) -> None:
    assert rules.url_error(url, allow_private=False)


def test_private_addresses_allowed_when_configured() -> None:
    assert rules.url_error("http://127.0.0.1:8000/hook", allow_private=True) is None
    assert rules.url_error("http://10.1.2.3/", allow_private=True) is None


def test_public_addresses() -> None:
    assert rules.is_public_address("93.184.216.34")
    assert not rules.is_public_address("127.0.0.1")
    assert not rules.is_public_address("::ffff:127.0.0.1")
    assert not rules.is_public_address("192.168.1.1")
    assert not rules.is_public_address("fd00::1")
    assert not rules.is_public_address("224.0.0.1")


def test_new_ids_and_secrets() -> None:
    assert rules.WEBHOOK_ID_RE.match(rules.new_webhook_id())
    secret = rules.new_secret()
    assert secret.startswith("whsec_") and len(secret) >= 40
    assert secret != rules.new_secret()


def test_the_readme_recipe_verifies_our_signatures() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("\n## Webhooks\n", 1)[1].split("\n## ", 1)[0]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(code, namespace)  # the snippet as a receiver would paste it
    verify = namespace["verify"]

    secret, body, now = "whsec_readme", b'{"id":7,"type":"activation.created"}', int(time.time())
    header = rules.signature_header(secret, now, body)
    assert verify(secret, header, body)
    assert not verify(secret, header, body + b" ")
    assert not verify("whsec_other", header, body)
    assert not verify(secret, rules.signature_header(secret, now - 600, body), body)
    assert not verify(secret, "nonsense", body)
