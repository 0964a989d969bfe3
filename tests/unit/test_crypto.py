"""Secrets at rest: the AES-GCM box, strict base64url, password hashes and the
data-encryption key file."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from hypothesis import given, settings
from hypothesis import strategies as st

from licserver.crypto import (
    Box,
    b64u,
    b64u_decode,
    hash_password,
    load_or_create_data_key,
    random_token,
    token_hash,
    tokens_equal,
    verify_password,
)

DATA_KEY = bytes(range(32))


# ---- Box ----------------------------------------------------------------------


@pytest.mark.parametrize("secret", ["", "Xk9-pw-4411", "pässwörd 设计 🚀", "x" * 5000])
def test_box_round_trip(secret: str) -> None:
    box = Box(DATA_KEY)
    blob = box.seal(secret, "activation_password")
    assert secret.encode() not in blob or secret == ""
    assert box.open(blob, "activation_password") == secret
    # a second box over the same key (another worker, a restart) opens it too
    assert Box(DATA_KEY).open(blob, "activation_password") == secret


def test_sealing_twice_gives_different_ciphertexts() -> None:
    box = Box(DATA_KEY)
    one, two = box.seal("same", "license_key"), box.seal("same", "license_key")
    assert one != two
    assert box.open(one, "license_key") == box.open(two, "license_key") == "same"


def test_ciphertext_of_one_purpose_does_not_open_as_another() -> None:
    box = Box(DATA_KEY)
    blob = box.seal("LK1.payload.sig", "license_key")
    with pytest.raises(InvalidTag):
        box.open(blob, "activation_password")
    with pytest.raises(InvalidTag):
        box.open(blob, "")


def test_ciphertext_does_not_open_under_another_key() -> None:
    blob = Box(DATA_KEY).seal("secret", "license_key")
    with pytest.raises(InvalidTag):
        Box(bytes(32)).open(blob, "license_key")


def test_every_tampered_byte_is_detected() -> None:
    box = Box(DATA_KEY)
    blob = box.seal("Xk9-pw-4411", "activation_password")
    for index in range(len(blob)):
        for bit in (0x01, 0x80):
            tampered = bytearray(blob)
            tampered[index] ^= bit
            with pytest.raises(InvalidTag):
                box.open(bytes(tampered), "activation_password")


def test_truncated_or_extended_ciphertext_is_refused() -> None:
    box = Box(DATA_KEY)
    blob = box.seal("Xk9-pw-4411", "activation_password")
    for bad in (blob[:-1], blob[:28], blob + b"\x00"):
        with pytest.raises(InvalidTag):
            box.open(bad, "activation_password")


@pytest.mark.parametrize("size", [0, 16, 31, 33, 64])
def test_box_needs_a_32_byte_key(size: int) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        Box(bytes(size))


# ---- base64url ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "raw"),
    [("", b""), ("YQ", b"a"), ("YWI", b"ab"), ("YWJj", b"abc"), ("-_8", b"\xfb\xff")],
)
def test_b64u_decode_accepts_canonical_unpadded_text(text: str, raw: bytes) -> None:
    assert b64u_decode(text) == raw
    assert b64u(raw) == text


@pytest.mark.parametrize(
    "text",
    [
        "YQ==",  # padding
        "YWI=",
        "YQ=",
        "+_8",  # standard alphabet
        "-/8",
        "YW J",  # whitespace
        "YWJj\n",
        " YWJj",
        "YWJ!",
        "YWJé",  # non-ASCII
        "ＹＷＪｊ",
        "Y",  # impossible length
        "YWJjZ",
        "YR",  # non-canonical: unused bits set ("YQ" is the encoding of b"a")
        "YWK",
        "YW.J",
    ],
)
def test_b64u_decode_is_strict(text: str) -> None:
    with pytest.raises(ValueError):
        b64u_decode(text)


@pytest.mark.parametrize("value", [b"YWJj", None, 5])
def test_b64u_decode_wants_a_string(value: object) -> None:
    with pytest.raises(ValueError):
        b64u_decode(value)  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None, database=None)
@given(raw=st.binary(max_size=100))
def test_b64u_round_trip(raw: bytes) -> None:
    text = b64u(raw)
    assert "=" not in text
    assert text == base64.urlsafe_b64encode(raw).decode().rstrip("=")
    assert b64u_decode(text) == raw


@settings(max_examples=500, deadline=None, database=None)
@given(
    text=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/ .")
)
def test_b64u_decode_accepts_exactly_one_text_per_value(text: str) -> None:
    try:
        raw = b64u_decode(text)
    except ValueError:
        return
    assert b64u(raw) == text


# ---- passwords and tokens ------------------------------------------------------------


def test_password_hash_is_argon2id_and_verifies() -> None:
    stored = hash_password("correct horse ✓")
    assert stored.startswith("$argon2id$")
    assert "correct horse" not in stored
    assert verify_password(stored, "correct horse ✓")
    assert not verify_password(stored, "correct horse")
    assert not verify_password(stored, "Correct horse ✓")
    assert not verify_password(stored, "")


def test_same_password_hashes_differently() -> None:
    one, two = hash_password("pw"), hash_password("pw")
    assert one != two
    assert verify_password(one, "pw") and verify_password(two, "pw")


@pytest.mark.parametrize("stored", [None, "", "not-a-hash", "$argon2id$v=19$broken"])
def test_absent_or_unusable_hash_never_verifies(stored: str | None) -> None:
    assert verify_password(stored, "anything") is False
    assert verify_password(stored, "") is False


def test_token_hash_compares_only_the_same_token() -> None:
    token = random_token()
    assert len(token) >= 43 and token != random_token()
    stored = token_hash(token)
    assert len(stored) == 64 and token not in stored
    assert tokens_equal(stored, token)
    assert not tokens_equal(stored, token[:-1])
    assert not tokens_equal(stored, token + "x")


# ---- the data-encryption key -----------------------------------------------------------


def test_data_key_file_is_created_once_owner_only_and_reused(tmp_path: Path) -> None:
    keys_dir = tmp_path / "keys"
    key = load_or_create_data_key(keys_dir, "", create=True)
    assert len(key) == 32
    path = keys_dir / "data.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert b64u_decode(path.read_text().strip()) == key
    assert sorted(p.name for p in keys_dir.iterdir()) == ["data.key"]  # no temporary left
    # later starts read the same key, with or without permission to create
    assert load_or_create_data_key(keys_dir, "", create=True) == key
    assert load_or_create_data_key(keys_dir, "", create=False) == key
    # and a ciphertext made with it opens after a "restart"
    blob = Box(key).seal("pw", "activation_password")
    assert (
        Box(load_or_create_data_key(keys_dir, "", create=False)).open(blob, "activation_password")
        == "pw"
    )


def test_two_instance_folders_get_different_keys(tmp_path: Path) -> None:
    assert load_or_create_data_key(tmp_path / "a", "", True) != load_or_create_data_key(
        tmp_path / "b", "", True
    )


def test_missing_data_key_without_create_says_to_run_init(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="licserver init"):
        load_or_create_data_key(tmp_path / "keys", "", create=False)
    assert not (tmp_path / "keys" / "data.key").exists()


def test_data_key_setting_wins_and_creates_no_file(tmp_path: Path) -> None:
    raw = os.urandom(32)
    assert load_or_create_data_key(tmp_path, b64u(raw), create=True) == raw
    assert load_or_create_data_key(tmp_path, f"  {b64u(raw)}\n", create=True) == raw
    assert not (tmp_path / "data.key").exists()


@pytest.mark.parametrize(
    "setting",
    [
        "short",
        b64u(os.urandom(31)),
        b64u(os.urandom(33)),
        base64.urlsafe_b64encode(os.urandom(32)).decode(),  # padded
        base64.b64encode(b"\xfb" * 32).decode().rstrip("="),  # standard alphabet
        "not base64 at all!!",
    ],
    # fixed names: pytest-xdist's workers must collect the same test ids
    ids=["short", "31-bytes", "33-bytes", "padded", "standard-alphabet", "not-base64"],
)
def test_bad_data_key_setting_is_a_value_error_naming_it(tmp_path: Path, setting: str) -> None:
    with pytest.raises(ValueError, match="DATA_KEY"):
        load_or_create_data_key(tmp_path, setting, create=True)
    assert not (tmp_path / "data.key").exists()


@pytest.mark.parametrize(
    "content", [b64u(os.urandom(16)), "", "garbage!"], ids=["16-bytes", "empty", "garbage"]
)
def test_corrupt_data_key_file_is_refused(tmp_path: Path, content: str) -> None:
    (tmp_path / "data.key").write_text(content + "\n")
    with pytest.raises(ValueError):
        load_or_create_data_key(tmp_path, "", create=True)
    # never silently replaced: encrypted columns would become unreadable
    assert (tmp_path / "data.key").read_text() == content + "\n"
