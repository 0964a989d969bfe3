"""LK1 licence keys and AC1 certificates: the format API.md fixes, checked the way
a third-party verifier would, and every way of tampering with a token refused
with TokenError (and nothing else)."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from licserver import signing
from licserver.signing import (
    CERTIFICATE_PREFIX,
    LICENSE_KEY_PREFIX,
    MAX_TOKEN_LENGTH,
    TokenError,
)

KID = "k-20261122-a1b2c3"
OTHER_KID = "k-20261122-d4e5f6"
KEY = Ed25519PrivateKey.generate()
OTHER_KEY = Ed25519PrivateKey.generate()
KEYRING: dict[str, Ed25519PublicKey] = {KID: KEY.public_key(), OTHER_KID: OTHER_KEY.public_key()}
B64U_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

LK_PAYLOAD = signing.license_key_payload(
    lid="L-7K3M-9QX2", prod="cad-pro", cust="C-4F7K2Q", ser=3, iat=1_795_000_000
)
AC_PAYLOAD = signing.certificate_payload(
    aid="A-0123456789ABCDEF",
    lid="L-7K3M-9QX2",
    prod="cad-pro",
    cust="C-4F7K2Q",
    iid="3f2a9c0e7d5b41a8",
    mn="设计部-PC 🚀 Ünïcødé",
    seats=5,
    features=["export", "render"],
    iat=1_795_000_000,
    exp=1_826_536_000,
    until=1_796_209_600,
)
LK_TOKEN = signing.encode(LICENSE_KEY_PREFIX, LK_PAYLOAD, KID, KEY)
AC_TOKEN = signing.encode(CERTIFICATE_PREFIX, AC_PAYLOAD, KID, KEY)


def _b64u_decode_any(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _third_party_verify(token: str, public_key_b64: str) -> dict[str, Any]:
    """What a verifier written from API.md alone does, with nothing of ours."""
    prefix, payload, sig = token.split(".")
    raw_key = _b64u_decode_any(public_key_b64)
    Ed25519PublicKey.from_public_bytes(raw_key).verify(
        _b64u_decode_any(sig), f"{prefix}.{payload}".encode("ascii")
    )
    result: dict[str, Any] = json.loads(_b64u_decode_any(payload))
    return result


def _sign_raw(prefix: str, payload_bytes: bytes, key: Ed25519PrivateKey = KEY) -> str:
    """A correctly signed token around arbitrary payload bytes."""
    body = base64.urlsafe_b64encode(payload_bytes).rstrip(b"=").decode()
    sig = key.sign(f"{prefix}.{body}".encode())
    return f"{prefix}.{body}.{base64.urlsafe_b64encode(sig).rstrip(b'=').decode()}"


# ---- the format ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "prefix", "payload"),
    [(LK_TOKEN, "LK1", LK_PAYLOAD), (AC_TOKEN, "AC1", AC_PAYLOAD)],
    ids=["LK1", "AC1"],
)
def test_token_format_is_what_api_md_fixes(
    token: str, prefix: str, payload: dict[str, Any]
) -> None:
    assert token.isascii()
    assert "=" not in token
    head, body, sig = token.split(".")
    assert head == prefix
    expected = dict(payload, kid=KID)
    # compact JSON, sorted keys, UTF-8 (non-ASCII machine names as they are)
    raw = _b64u_decode_any(body)
    assert raw == json.dumps(
        expected, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")
    assert len(_b64u_decode_any(sig)) == 64
    # a verifier that has nothing but the public key agrees
    public_b64 = signing.public_key_b64(KEY.public_key())
    assert len(_b64u_decode_any(public_b64)) == 32
    assert _third_party_verify(token, public_b64) == expected


def test_license_key_round_trip() -> None:
    claims = signing.parse_license_key(LK_TOKEN, KEYRING)
    assert claims == signing.LicenseKeyClaims(
        lid="L-7K3M-9QX2", prod="cad-pro", cust="C-4F7K2Q", ser=3, iat=1_795_000_000, kid=KID
    )


def test_certificate_round_trip_keeps_unicode_exactly() -> None:
    payload = signing.parse_certificate(AC_TOKEN, KEYRING)
    assert payload == dict(AC_PAYLOAD, kid=KID)
    assert payload["mn"] == "设计部-PC 🚀 Ünïcødé"


def test_perpetual_certificate_has_null_exp() -> None:
    token = signing.encode(CERTIFICATE_PREFIX, dict(AC_PAYLOAD, exp=None), KID, KEY)
    assert signing.parse_certificate(token, KEYRING)["exp"] is None


def test_token_signed_by_a_third_party_with_our_format_verifies() -> None:
    """The reverse direction: our verifier accepts a token built from API.md alone."""
    body = dict(LK_PAYLOAD, kid=OTHER_KID)
    raw = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    token = _sign_raw("LK1", raw, OTHER_KEY)
    assert signing.parse_license_key(token, KEYRING).kid == OTHER_KID


def test_public_key_b64_round_trip() -> None:
    text = signing.public_key_b64(KEY.public_key())
    again = signing.public_key_from_b64(text)
    assert signing.public_key_b64(again) == text
    with pytest.raises(ValueError):
        signing.public_key_from_b64(text[:-2])  # 31 bytes
    with pytest.raises(ValueError):
        signing.public_key_from_b64(text + "=")


def test_new_kid_is_a_valid_file_name() -> None:
    kid = signing.new_kid()
    assert signing.KID_RE.match(kid)
    assert kid != signing.new_kid()


# ---- tampering ------------------------------------------------------------------


def _refused(token: object, prefix: str = "LK1") -> None:
    with pytest.raises(TokenError):
        signing.decode(token, prefix, KEYRING)


@pytest.mark.parametrize("token", [LK_TOKEN, AC_TOKEN], ids=["LK1", "AC1"])
def test_every_single_character_change_is_refused(token: str) -> None:
    prefix, payload, sig = token.split(".")
    start = len(prefix) + 1
    checked = 0
    for index in range(start, len(token)):
        if token[index] == ".":
            continue
        # flip each of the six bits the character encodes
        value = B64U_ALPHABET.index(token[index])
        for bit in range(6):
            replacement = B64U_ALPHABET[value ^ (1 << bit)]
            tampered = token[:index] + replacement + token[index + 1 :]
            _refused(tampered, prefix)
            checked += 1
    assert checked == (len(payload) + len(sig)) * 6


@pytest.mark.parametrize("token", [LK_TOKEN, AC_TOKEN], ids=["LK1", "AC1"])
def test_every_truncation_is_refused(token: str) -> None:
    prefix = token[:3]
    for end in range(len(token)):
        _refused(token[:end], prefix)


@pytest.mark.parametrize(
    "tampered",
    [
        LK_TOKEN + ".",
        "." + LK_TOKEN,
        LK_TOKEN.replace(".", "..", 1),
        LK_TOKEN + "." + LK_TOKEN.split(".")[2],
        LK_TOKEN.replace(".", "", 1),
        LK_TOKEN.rsplit(".", 1)[0],
        LK_TOKEN.rsplit(".", 1)[0] + ".",
    ],
    ids=[
        "dot-after",
        "dot-before",
        "double-dot",
        "four-parts",
        "no-first-dot",
        "no-sig",
        "empty-sig",
    ],
)
def test_wrong_number_of_parts_is_refused(tampered: str) -> None:
    _refused(tampered)


def test_padding_is_refused() -> None:
    prefix, payload, sig = LK_TOKEN.split(".")
    _refused(f"{prefix}.{payload}=.{sig}")
    _refused(f"{prefix}.{payload}.{sig}=")
    _refused(f"{prefix}.{payload}.{sig}==")
    _refused(LK_TOKEN + "=")


def test_standard_base64_alphabet_is_refused() -> None:
    # a token whose payload and signature use the URL-safe characters - or _
    token = next(
        t
        for t in (
            signing.encode(LICENSE_KEY_PREFIX, dict(LK_PAYLOAD, iat=i), KID, KEY)
            for i in range(1000)
        )
        if set("-_") & set(t.split(".", 1)[1])
    )
    assert signing.decode(token, "LK1", KEYRING)
    _refused(token.replace("-", "+").replace("_", "/"))


@pytest.mark.parametrize(
    "token",
    [
        LK_TOKEN[:10] + "é" + LK_TOKEN[11:],
        LK_TOKEN + "\u200b",
        "ＬK1" + LK_TOKEN[3:],
        LK_TOKEN[:-1] + "\uff21",
    ],
    ids=["latin", "zero-width", "fullwidth-prefix", "fullwidth-sig"],
)
def test_non_ascii_is_refused(token: str) -> None:
    _refused(token)


@pytest.mark.parametrize(
    "token",
    [" " + LK_TOKEN, LK_TOKEN + "\n", LK_TOKEN.replace(".", " .", 1), "lk1" + LK_TOKEN[3:]],
    ids=["leading-space", "trailing-newline", "inner-space", "lower-case-prefix"],
)
def test_whitespace_and_case_are_refused(token: str) -> None:
    _refused(token)


@pytest.mark.parametrize("token", [None, 1, b"LK1.x.y", LK_TOKEN.encode(), ["LK1"], {}])
def test_non_strings_are_refused(token: object) -> None:
    _refused(token)


def test_over_long_token_is_refused_even_when_validly_signed() -> None:
    long_payload = dict(AC_PAYLOAD, mn="x" * MAX_TOKEN_LENGTH)
    token = signing.encode(CERTIFICATE_PREFIX, long_payload, KID, KEY)
    assert len(token) > MAX_TOKEN_LENGTH
    # it is a genuine signature: only the length makes us refuse it
    public_b64 = signing.public_key_b64(KEY.public_key())
    assert _third_party_verify(token, public_b64)["mn"] == "x" * MAX_TOKEN_LENGTH
    _refused(token, "AC1")
    with pytest.raises(TokenError):
        signing.parse_certificate(token, KEYRING)


def test_a_token_of_one_kind_never_passes_as_the_other() -> None:
    with pytest.raises(TokenError):
        signing.parse_license_key(AC_TOKEN, KEYRING)
    with pytest.raises(TokenError):
        signing.parse_certificate(LK_TOKEN, KEYRING)
    # relabelled: the prefix is signed, so swapping it breaks the signature
    with pytest.raises(TokenError):
        signing.parse_license_key("LK1" + AC_TOKEN[3:], KEYRING)
    with pytest.raises(TokenError):
        signing.parse_certificate("AC1" + LK_TOKEN[3:], KEYRING)


def test_payload_and_signature_of_different_tokens_do_not_mix() -> None:
    other = signing.encode(LICENSE_KEY_PREFIX, dict(LK_PAYLOAD, ser=4), KID, KEY)
    prefix, payload, _ = other.split(".")
    _refused(f"{prefix}.{payload}.{LK_TOKEN.split('.')[2]}")


def test_unknown_kid_is_refused() -> None:
    token = signing.encode(LICENSE_KEY_PREFIX, LK_PAYLOAD, "k-unknown", KEY)
    with pytest.raises(TokenError):
        signing.parse_license_key(token, KEYRING)
    with pytest.raises(TokenError):
        signing.parse_license_key(LK_TOKEN, {})


def test_token_naming_one_kid_but_signed_with_another_key_is_refused() -> None:
    forged = signing.encode(LICENSE_KEY_PREFIX, LK_PAYLOAD, OTHER_KID, KEY)
    with pytest.raises(TokenError):
        signing.parse_license_key(forged, KEYRING)
    # and a keyring that maps the kid to some other public key refuses the real token
    with pytest.raises(TokenError):
        signing.parse_license_key(LK_TOKEN, {KID: OTHER_KEY.public_key()})


def test_kid_must_be_a_string() -> None:
    raw = json.dumps(dict(LK_PAYLOAD, kid=[KID]), sort_keys=True, separators=(",", ":"))
    _refused(_sign_raw("LK1", raw.encode()))


@pytest.mark.parametrize("version", [0, 2, "1", True, 1.0, None, [1]])
def test_version_other_than_1_is_refused(version: object) -> None:
    with pytest.raises(TokenError):
        signing.parse_license_key(
            signing.encode(LICENSE_KEY_PREFIX, dict(LK_PAYLOAD, v=version), KID, KEY), KEYRING
        )
    with pytest.raises(TokenError):
        signing.parse_certificate(
            signing.encode(CERTIFICATE_PREFIX, dict(AC_PAYLOAD, v=version), KID, KEY), KEYRING
        )


def test_missing_version_is_refused() -> None:
    payload = {k: v for k, v in LK_PAYLOAD.items() if k != "v"}
    with pytest.raises(TokenError):
        signing.parse_license_key(signing.encode("LK1", payload, KID, KEY), KEYRING)


@pytest.mark.parametrize(
    "raw",
    [b"[1,2]", b'"LK1"', b"1", b"null", b"true", b"{", b"\xff\xfe", b"", b'{"kid":"x"} x'],
    ids=["array", "string", "number", "null", "bool", "broken", "not-utf8", "empty", "trailing"],
)
def test_payload_that_is_not_a_json_object_is_refused(raw: bytes) -> None:
    _refused(_sign_raw("LK1", raw))


@pytest.mark.parametrize(
    "change",
    [
        {"ser": "3"},
        {"ser": True},
        {"ser": 3.0},
        {"ser": None},
        {"iat": "1795000000"},
        {"iat": False},
        {"lid": 7},
        {"prod": None},
        {"cust": ["C-4F7K2Q"]},
    ],
)
def test_mistyped_license_key_claims_are_refused(change: dict[str, Any]) -> None:
    token = signing.encode(LICENSE_KEY_PREFIX, dict(LK_PAYLOAD, **change), KID, KEY)
    with pytest.raises(TokenError):
        signing.parse_license_key(token, KEYRING)


@pytest.mark.parametrize("missing", ["lid", "prod", "cust", "ser", "iat"])
def test_missing_license_key_claims_are_refused(missing: str) -> None:
    payload = {k: v for k, v in LK_PAYLOAD.items() if k != missing}
    with pytest.raises(TokenError):
        signing.parse_license_key(signing.encode("LK1", payload, KID, KEY), KEYRING)


@pytest.mark.parametrize(
    "change",
    [
        {"seats": "5"},
        {"seats": True},
        {"iat": 1.5},
        {"until": None},
        {"until": False},
        {"exp": "never"},
        {"exp": True},
        {"features": "export"},
        {"features": None},
        {"aid": 1},
        {"mn": None},
        {"iid": ["x"]},
    ],
)
def test_mistyped_certificate_claims_are_refused(change: dict[str, Any]) -> None:
    token = signing.encode(CERTIFICATE_PREFIX, dict(AC_PAYLOAD, **change), KID, KEY)
    with pytest.raises(TokenError):
        signing.parse_certificate(token, KEYRING)


@pytest.mark.parametrize(
    "missing",
    ["aid", "lid", "prod", "cust", "iid", "mn", "seats", "features", "iat", "exp", "until"],
)
def test_missing_certificate_claims_are_refused(missing: str) -> None:
    payload = {k: v for k, v in AC_PAYLOAD.items() if k != missing}
    with pytest.raises(TokenError):
        signing.parse_certificate(signing.encode("AC1", payload, KID, KEY), KEYRING)


# ---- property: no mutation ever verifies -----------------------------------------

_MUTATION_CHARS = st.sampled_from(B64U_ALPHABET + ".=+/ \n\x00é🚀")
_EDIT = st.tuples(
    st.sampled_from(["replace", "insert", "delete"]),
    st.integers(min_value=0, max_value=10_000),
    _MUTATION_CHARS,
)


def _mutate(token: str, edits: list[tuple[str, int, str]]) -> str:
    for op, position, char in edits:
        if op == "insert":
            i = position % (len(token) + 1)
            token = token[:i] + char + token[i:]
        elif token:
            i = position % len(token)
            token = token[:i] + (char if op == "replace" else "") + token[i + 1 :]
    return token


@settings(max_examples=400, deadline=None, database=None)
@given(
    which=st.sampled_from([(LK_TOKEN, "LK1"), (AC_TOKEN, "AC1")]),
    edits=st.lists(_EDIT, min_size=1, max_size=6),
)
def test_random_mutations_never_verify(which: tuple[str, str], edits: list[Any]) -> None:
    original, prefix = which
    mutated = _mutate(original, edits)
    try:
        payload = signing.decode(mutated, prefix, KEYRING)
    except TokenError:
        return
    assert mutated == original
    assert payload == signing.decode(original, prefix, KEYRING)


@settings(max_examples=300, deadline=None, database=None)
@given(text=st.text(max_size=300) | st.from_regex(r"\A(LK1|AC1)\.[A-Za-z0-9_=.-]{0,200}\Z"))
def test_arbitrary_text_only_ever_raises_token_error(text: str) -> None:
    for parse in (signing.parse_license_key, signing.parse_certificate):
        with pytest.raises(TokenError):
            parse(text, KEYRING)


# ---- keys on disk -----------------------------------------------------------------


def _raw(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def test_private_key_file_without_passphrase(tmp_path: Path) -> None:
    keys_dir = tmp_path / "keys"
    path = signing.write_private_key(keys_dir, KID, KEY, "")
    assert path == keys_dir / f"{KID}.pem"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    pem = path.read_bytes()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert _raw(signing.read_private_key(keys_dir, KID, "")) == _raw(KEY)


def test_private_key_file_with_passphrase_is_encrypted(tmp_path: Path) -> None:
    path = signing.write_private_key(tmp_path, KID, KEY, "correct horse")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    pem = path.read_bytes()
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    # not loadable without the passphrase, by cryptography itself
    with pytest.raises(TypeError):
        serialization.load_pem_private_key(pem, None)
    assert _raw(signing.read_private_key(tmp_path, KID, "correct horse")) == _raw(KEY)


@pytest.mark.parametrize("given_passphrase", ["wrong horse", ""], ids=["wrong", "missing"])
def test_wrong_or_missing_passphrase_is_a_clear_value_error(
    tmp_path: Path, given_passphrase: str
) -> None:
    signing.write_private_key(tmp_path, KID, KEY, "correct horse")
    with pytest.raises(ValueError, match="LICSERVER_KEY_PASSPHRASE") as info:
        signing.read_private_key(tmp_path, KID, given_passphrase)
    assert KID in str(info.value)
    assert "correct horse" not in str(info.value)


def test_passphrase_given_for_a_plain_key_file_is_a_clear_value_error(tmp_path: Path) -> None:
    signing.write_private_key(tmp_path, KID, KEY, "")
    with pytest.raises(ValueError, match="LICSERVER_KEY_PASSPHRASE"):
        signing.read_private_key(tmp_path, KID, "unneeded")


def test_missing_key_file_says_where_to_copy_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=KID) as info:
        signing.read_private_key(tmp_path, KID, "")
    assert str(tmp_path) in str(info.value)


def test_key_file_of_another_algorithm_or_garbage_is_refused(tmp_path: Path) -> None:
    ec_pem = generate_private_key(SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    (tmp_path / "k-ec.pem").write_bytes(ec_pem)
    with pytest.raises(ValueError, match="not an Ed25519 key"):
        signing.read_private_key(tmp_path, "k-ec", "")
    (tmp_path / "k-junk.pem").write_bytes(b"not a key")
    with pytest.raises(ValueError, match="cannot load"):
        signing.read_private_key(tmp_path, "k-junk", "")


def test_existing_key_file_is_never_overwritten(tmp_path: Path) -> None:
    path = signing.write_private_key(tmp_path, KID, KEY, "")
    before = path.read_bytes()
    with pytest.raises(FileExistsError):
        signing.write_private_key(tmp_path, KID, OTHER_KEY, "")
    assert path.read_bytes() == before


@pytest.mark.parametrize("kid", ["", "../escape", "a/b", "k 1", "x" * 33, "ké"])
def test_invalid_kid_is_refused_before_writing(tmp_path: Path, kid: str) -> None:
    with pytest.raises(ValueError, match="invalid kid"):
        signing.write_private_key(tmp_path / "keys", kid, KEY, "")
    assert not (tmp_path / "keys").exists()


def test_private_key_files_lists_keys_oldest_first(tmp_path: Path) -> None:
    assert signing.private_key_files(tmp_path / "absent") == []
    assert signing.private_key_files(tmp_path) == []
    for i, kid in enumerate(["k-c", "k-a", "k-b"]):
        path = signing.write_private_key(tmp_path, kid, Ed25519PrivateKey.generate(), "")
        os.utime(path, (1_700_000_000 + i * 10, 1_700_000_000 + (2 - i) * 10))
    (tmp_path / "data.key").write_text("not a signing key\n")
    (tmp_path / "notes.txt").write_text("")
    (tmp_path / "bad name.pem").write_text("")
    found = signing.private_key_files(tmp_path)
    assert [kid for kid, _ in found] == ["k-b", "k-a", "k-c"]
    assert [mtime for _, mtime in found] == [1_700_000_000, 1_700_000_010, 1_700_000_020]
