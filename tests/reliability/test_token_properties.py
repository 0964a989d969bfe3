"""Bad input tried on the signed tokens: mutations of valid LK1 and AC1 tokens
are refused by the server's parser (``licserver.signing``: TokenError) and the
SDK's (``licclient._verify``: InvalidToken) alike, with that one error and
never another exception; what the server signs, both read back exactly.

Example counts are bounded for the suite; ``RELIABILITY_HYPOTHESIS=full`` (as
``scripts/reliability.py tokens`` sets it) runs thousands of each.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from licclient import _verify as sdk

from licserver import signing

settings.register_profile("reliability-suite", max_examples=60, deadline=None, derandomize=True)
settings.register_profile(
    "reliability-full",
    max_examples=5000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
PROFILE = f"reliability-{os.environ.get('RELIABILITY_HYPOTHESIS', 'suite')}"

KEY = Ed25519PrivateKey.generate()
OTHER = Ed25519PrivateKey.generate()
KID, OTHER_KID = "k-20261122-rel1", "k-20261122-rel2"
SERVER_KEYS = {KID: KEY.public_key()}
SDK_KEYS = sdk.load_public_keys({KID: signing.public_key_b64(KEY.public_key())})

# every text the JSON can carry, machine names and features included
texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
ints = st.integers(min_value=0, max_value=sdk.MAX_TIMESTAMP)


def _b64u(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


@st.composite
def license_keys(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    payload = signing.license_key_payload(
        lid=draw(texts), prod=draw(texts), cust=draw(texts), ser=draw(ints), iat=draw(ints)
    )
    return signing.encode(signing.LICENSE_KEY_PREFIX, payload, KID, KEY), payload


@st.composite
def certificates(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    payload = signing.certificate_payload(
        aid=draw(texts),
        lid=draw(texts),
        prod=draw(texts),
        cust=draw(texts),
        iid=draw(texts),
        mn=draw(texts),
        seats=draw(st.integers(0, 10**6)),
        features=draw(st.lists(texts, max_size=5)),
        iat=draw(ints),
        exp=draw(st.none() | ints),
        until=draw(ints),
    )
    return signing.encode(signing.CERTIFICATE_PREFIX, payload, KID, KEY), payload


tokens = license_keys() | certificates()


def _resign(prefix: str, payload_b64: str, key: Ed25519PrivateKey) -> str:
    signed = f"{prefix}.{payload_b64}"
    return f"{signed}.{_b64u(key.sign(signed.encode('ascii')))}"


# Each mutation: (token, draw) -> a different token, not signed by KEY over these bytes.
def _bit_flip(token: str, draw: st.DrawFn) -> str:
    raw = bytearray(token.encode("ascii"))
    i = draw(st.integers(0, len(raw) - 1))
    raw[i] ^= 1 << draw(st.integers(0, 7))
    return raw.decode("latin-1")


def _truncate(token: str, draw: st.DrawFn) -> str:
    return token[: draw(st.integers(0, len(token) - 1))]


def _trailing(token: str, draw: st.DrawFn) -> str:
    return token + draw(st.text(min_size=1, max_size=8) | st.sampled_from(["=", "==", ".", "\n"]))


def _non_canonical(token: str, draw: st.DrawFn) -> str:
    """Another spelling of the same bytes: padding, or unused low bits set."""
    prefix, payload, sig = token.split(".")
    part = draw(st.sampled_from(["payload", "sig"]))
    text = payload if part == "payload" else sig
    if len(text) % 4 == 0 or draw(st.booleans()):
        text += "=" * (-len(text) % 4 or 4)
    else:
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        value = alphabet.index(text[-1])
        spare = 0x0F if len(text) % 4 == 2 else 0x03
        text = text[:-1] + alphabet[value | draw(st.integers(1, spare))]
    return ".".join([prefix, text, sig] if part == "payload" else [prefix, payload, text])


def _duplicate_key(token: str, draw: st.DrawFn) -> str:
    """The payload with one of its keys repeated (another value), old signature."""
    prefix, payload, sig = token.split(".")
    body = json.loads(sdk.b64u_decode(payload))
    name = draw(st.sampled_from(sorted(body)))
    dup = json.dumps(draw(texts | ints), ensure_ascii=False)
    raw = signing.canonical_json(body).decode("utf-8")
    raw = raw[:-1] + f',"{name}":{dup}}}' if draw(st.booleans()) else f'{{"{name}":{dup},' + raw[1:]
    return f"{prefix}.{_b64u(raw.encode('utf-8'))}.{sig}"


def _wrong_kid(token: str, draw: st.DrawFn) -> str:
    prefix, payload, _ = token.split(".")
    body = json.loads(sdk.b64u_decode(payload))
    kid = draw(st.sampled_from([OTHER_KID, "", KID + "x", KID.upper()]) | texts)
    assume(kid != KID)
    body["kid"] = kid
    return _resign(prefix, _b64u(signing.canonical_json(body)), KEY)


def _other_key(token: str, draw: st.DrawFn) -> str:
    """The same bytes signed by another key: under our kid, or under its own."""
    prefix, payload, _ = token.split(".")
    if draw(st.booleans()):
        return _resign(prefix, payload, OTHER)
    body = json.loads(sdk.b64u_decode(payload))
    return signing.encode(prefix, {k: v for k, v in body.items() if k != "kid"}, OTHER_KID, OTHER)


def _swap_kind(token: str, draw: st.DrawFn) -> str:
    prefix, rest = token.split(".", 1)
    other = "AC1" if prefix == "LK1" else "LK1"
    return f"{other}.{rest}"


MUTATIONS: dict[str, Callable[[str, st.DrawFn], str]] = {
    "bit flip": _bit_flip,
    "truncation": _truncate,
    "trailing bytes": _trailing,
    "non-canonical base64url": _non_canonical,
    "duplicate JSON key": _duplicate_key,
    "wrong kid": _wrong_kid,
    "another key's signature": _other_key,
    "other token kind": _swap_kind,
}


def _server(token: object, prefix: str) -> object:
    if prefix == signing.LICENSE_KEY_PREFIX:
        return signing.parse_license_key(token, SERVER_KEYS)
    return signing.parse_certificate(token, SERVER_KEYS)


def _sdk(token: object, prefix: str) -> object:
    if prefix == sdk.LICENSE_KEY_PREFIX:
        return sdk.verify(token, prefix, SDK_KEYS)
    return sdk.certificate(token, SDK_KEYS)


@pytest.mark.parametrize("mutation", list(MUTATIONS))
def test_every_mutation_is_refused_by_server_and_sdk_with_the_one_error(mutation: str) -> None:
    @settings(settings.get_profile(PROFILE), suppress_health_check=[HealthCheck.too_slow])
    @given(valid=tokens, data=st.data())
    def check(valid: tuple[str, dict[str, Any]], data: st.DataObject) -> None:
        token = valid[0]
        bad = MUTATIONS[mutation](token, data.draw)
        assume(bad != token)
        prefix = token.split(".", 1)[0]
        with pytest.raises(signing.TokenError):
            _server(bad, prefix)
        with pytest.raises(sdk.InvalidToken):
            _sdk(bad, prefix)

    check()


@settings(settings.get_profile(PROFILE))
@given(valid=license_keys())
def test_license_keys_round_trip_through_server_and_sdk(valid: tuple[str, dict[str, Any]]) -> None:
    token, payload = valid
    claims = signing.parse_license_key(token, SERVER_KEYS)
    assert (claims.lid, claims.prod, claims.cust, claims.ser, claims.iat, claims.kid) == (
        payload["lid"],
        payload["prod"],
        payload["cust"],
        payload["ser"],
        payload["iat"],
        KID,
    )
    assert sdk.verify(token, "LK1", SDK_KEYS) == {**payload, "kid": KID}
    assert sdk.license_key_product(token, SDK_KEYS) == payload["prod"]


@settings(settings.get_profile(PROFILE))
@given(valid=certificates())
def test_certificates_round_trip_through_server_and_sdk(valid: tuple[str, dict[str, Any]]) -> None:
    token, payload = valid
    assert signing.parse_certificate(token, SERVER_KEYS) == {**payload, "kid": KID}
    cert = sdk.certificate(token, SDK_KEYS)
    assert (cert.aid, cert.mn, cert.features, cert.exp, cert.until, cert.kid) == (
        payload["aid"],
        payload["mn"],
        tuple(payload["features"]),
        payload["exp"],
        payload["until"],
        KID,
    )
    # one spelling: encoding the same claims again gives the same token
    again = signing.encode("AC1", payload, KID, KEY)
    assert again.split(".")[1] == token.split(".")[1]
