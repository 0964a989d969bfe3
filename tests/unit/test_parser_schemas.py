"""The edge of the API without an app: JSON body parsing, error flattening, the
credentials rule, and the Text and UTCDateTime fields every schema uses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import marshmallow as ma
import pytest

from licserver.api.parser import flatten, parse_json_object
from licserver.api.schemas.admin import LicenseIn, LicenseOut
from licserver.api.schemas.client import ActivateIn, ValidateIn
from licserver.api.schemas.common import Strict, Text, UTCDateTime
from licserver.domain.errors import MalformedRequest
from licserver.services.credentials import Credentials

# ---- parse_json_object --------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"{}", {}),
        (b' \n{"a": 1}\t', {"a": 1}),
        ('{"mn": "设计部 🚀"}'.encode(), {"mn": "设计部 🚀"}),
        (b'{"mn": "\\u8bbe\\ud83d\\ude80"}', {"mn": "设\U0001f680"}),
        (b'{"n": 1e400}', {"n": float("inf")}),  # a number, not the constant Infinity
        (b'{"a": 1, "a": 2}', {"a": 2}),
    ],
)
def test_parse_json_object_accepts_objects(raw: bytes, expected: dict[str, Any]) -> None:
    assert parse_json_object(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"   \r\n",
        b"[]",
        b"[{}]",
        b'"text"',
        b"1",
        b"null",
        b"true",
        b"{",
        b"{'a': 1}",
        b'{"a": 1,}',
        b'{"a": NaN}',
        b'{"a": Infinity}',
        b'{"a": -Infinity}',
        b"NaN",
        b'{"a": "\xff"}',  # not UTF-8
        '{"a": "é"}'.encode("latin-1"),
        b"\xef\xbb\xbf{}",  # UTF-8 byte order mark
        '{"a": 1}'.encode("utf-16"),
        b'{"a": 1} {"b": 2}',
        b"[" * 70_000,  # deeper than the decoder can go, but under 64 KiB
        b'{"a":' * 20_000,
    ],
    ids=lambda raw: repr(raw[:20]),
)
def test_parse_json_object_refuses_everything_else(raw: bytes) -> None:
    with pytest.raises(MalformedRequest) as info:
        parse_json_object(raw)
    assert (info.value.code, info.value.status) == ("MALFORMED_REQUEST", 400)


# ---- flatten ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        ({"installation_id": ["Bad."]}, {"installation_id": ["Bad."]}),
        ({"client": {"os": ["Too long."]}}, {"client.os": ["Too long."]}),
        ({"a": {"b": {"c": ["x", "y"]}}}, {"a.b.c": ["x", "y"]}),
        ({"_schema": ["Whole body."]}, {"body": ["Whole body."]}),
        ({"client": {"_schema": ["At most 1024 bytes."]}}, {"client": ["At most 1024 bytes."]}),
        ({"features": {0: ["Not a valid string."]}}, {"features.0": ["Not a valid string."]}),
        (["Just a message."], {"body": ["Just a message."]}),
        ("plain", {"body": ["plain"]}),
        ({"seats": "scalar"}, {"seats": ["scalar"]}),
        ({"x": [{"y": ["deep"]}]}, {"x.y": ["deep"]}),
        ({}, {}),
    ],
)
def test_flatten(messages: Any, expected: dict[str, list[str]]) -> None:
    assert flatten(messages) == expected


# ---- credentials: exactly one kind ------------------------------------------------------

KEY = {"license_key": "LK1.abc.def"}
PASSWORD = {"license_id": "L-7K3M-9QX2", "activation_password": "Xk9-pw"}
COMPANY = {"customer_number": "C-4F7K2Q", "company_password": "company-pw", "product": "cad-pro"}
IID = {"installation_id": "3f2a9c0e7d5b41a8"}


def _errors(schema: ma.Schema, data: dict[str, Any]) -> dict[str, Any]:
    with pytest.raises(ma.ValidationError) as info:
        schema.load(data)
    assert isinstance(info.value.messages, dict)
    return info.value.messages


@pytest.mark.parametrize(
    ("creds", "kind"),
    [(KEY, "license_key"), (PASSWORD, "activation_password"), (COMPANY, "company_password")],
)
def test_each_kind_of_credentials_alone(creds: dict[str, str], kind: str) -> None:
    data = ValidateIn().load({**creds, **IID})
    assert data == {"credentials": Credentials(kind=kind, **creds), **IID}


def test_no_credentials() -> None:
    errors = _errors(ValidateIn(), dict(IID))
    assert list(errors) == ["credentials"]


@pytest.mark.parametrize(
    "creds",
    [
        {**KEY, **PASSWORD},
        {**KEY, **COMPANY},
        {**PASSWORD, **COMPANY},
        {**KEY, **PASSWORD, **COMPANY},
        {**KEY, "license_id": "L-7K3M-9QX2"},
        {**PASSWORD, "product": "cad-pro"},
        {"license_id": "L-7K3M-9QX2", "company_password": "company-pw"},
    ],
)
def test_mixed_kinds_are_refused(creds: dict[str, str]) -> None:
    errors = _errors(ValidateIn(), {**creds, **IID})
    assert list(errors) == ["credentials"]
    assert "exactly one kind" in errors["credentials"][0]


@pytest.mark.parametrize(
    ("creds", "missing"),
    [
        ({"license_id": "L-7K3M-9QX2"}, ["activation_password"]),
        ({"activation_password": "pw"}, ["license_id"]),
        ({"customer_number": "C-4F7K2Q"}, ["company_password", "product"]),
        ({"customer_number": "C-4F7K2Q", "company_password": "pw"}, ["product"]),
        ({"product": "cad-pro"}, ["customer_number", "company_password"]),
    ],
)
def test_incomplete_kind_names_the_missing_fields(
    creds: dict[str, str], missing: list[str]
) -> None:
    errors = _errors(ValidateIn(), {**creds, **IID})
    assert sorted(errors) == sorted(missing)


@pytest.mark.parametrize(
    "creds",
    [
        {"license_key": ""},
        {"license_key": 5},
        {"license_key": None},
        {"license_key": "x" * 4097},
        {**PASSWORD, "activation_password": ""},
    ],
)
def test_credential_fields_are_checked_too(creds: dict[str, Any]) -> None:
    errors = _errors(ValidateIn(), {**creds, **IID})
    assert "credentials" not in errors
    assert set(errors) <= {"license_key", "activation_password"}


def test_unknown_fields_are_refused() -> None:
    errors = _errors(ValidateIn(), {**KEY, **IID, "licence_key": "typo"})
    assert "licence_key" in errors


# ---- Text -------------------------------------------------------------------------------


class _Named(Strict):
    name = Text(required=True)


@pytest.mark.parametrize(
    "text",
    [
        "设计部-PC-07",
        "Ünïcødé Straße",
        "🚀👩‍💻🇩🇪",  # emoji with joiners and flags
        "e\u0301",  # decomposed: kept, not normalised
        "\u00e9",
        "العربية",
        "a\tb",  # tab is allowed
        "\u200bzero-width",
        "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",  # outside the BMP
    ],
)
def test_text_keeps_any_script_exactly(text: str) -> None:
    assert _Named().load({"name": text}) == {"name": text}
    data = ActivateIn().load({**KEY, **IID, "machine_name": text})
    assert data["machine_name"] == text


@pytest.mark.parametrize(
    "text",
    [
        "nul\x00",
        "line\nbreak",
        "carriage\r",
        "\x1b[31mred",
        "del\x7f",
        "nel\x85",  # C1 control
        "\ud800",  # lone high surrogate
        "x\udfffy",  # lone low surrogate
    ],
)
def test_text_refuses_control_characters_and_lone_surrogates(text: str) -> None:
    errors = _errors(_Named(), {"name": text})
    assert list(errors) == ["name"]
    errors = _errors(ActivateIn(), {**KEY, **IID, "machine_name": text})
    assert list(errors) == ["machine_name"]


def test_text_refuses_lone_surrogates_from_json_escapes() -> None:
    body = parse_json_object(b'{"name": "\\ud83d"}')  # half of an emoji
    errors = _errors(_Named(), body)
    assert list(errors) == ["name"]


def test_client_info_size_is_counted_in_utf8_bytes() -> None:
    client = {"os": "🚀" * 200, "hostname": "🚀" * 100}  # within the lengths, 1.2 KB
    errors = _errors(ActivateIn(), {**KEY, **IID, "machine_name": "PC", "client": client})
    assert flatten(errors) == {"client": ["At most 1024 bytes."]}
    ok = {"os": "x" * 200, "hostname": "y" * 255, "app_version": "1" * 100}
    data = ActivateIn().load({**KEY, **IID, "machine_name": "PC", "client": ok})
    assert data["client"] == ok


# ---- UTCDateTime -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-22T10:00:00Z", datetime(2026, 11, 22, 10, 0, tzinfo=UTC)),
        ("2026-11-22T10:00:00z", datetime(2026, 11, 22, 10, 0, tzinfo=UTC)),
        ("2026-11-22T10:00:00+00:00", datetime(2026, 11, 22, 10, 0, tzinfo=UTC)),
        ("2026-11-22T12:00:00+02:00", datetime(2026, 11, 22, 10, 0, tzinfo=UTC)),
        ("2026-11-22T05:30:00-04:30", datetime(2026, 11, 22, 10, 0, tzinfo=UTC)),
        ("2026-11-23T01:00:00+15:00", datetime(2026, 11, 22, 10, 0, tzinfo=UTC)),
        ("2026-11-22T10:00:00.250Z", datetime(2026, 11, 22, 10, 0, 0, 250_000, tzinfo=UTC)),
    ],
)
def test_utc_datetime_parses_to_utc(text: str, expected: datetime) -> None:
    parsed = UTCDateTime().deserialize(text)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)
    assert parsed.tzinfo == UTC


@pytest.mark.parametrize(
    "value",
    [
        "2026-11-22T10:00:00",  # naive
        "2026-11-22",
        "2026-11-22 10:00",
        "22/11/2026 10:00Z",
        "2026-13-01T00:00:00Z",
        "2026-11-22T25:00:00Z",
        "1969-12-31T23:59:59Z",
        "9999-12-31T23:59:59Z",
        "tomorrow",
        "",
        "2026-11-22T10:00:00Z" + " " * 60,
        1795000000,
        None,
        True,
        ["2026-11-22T10:00:00Z"],
    ],
)
def test_utc_datetime_refuses(value: Any) -> None:
    with pytest.raises(ma.ValidationError):
        UTCDateTime().deserialize(value)


def test_naive_time_gets_a_message_asking_for_a_timezone() -> None:
    errors = _errors(
        LicenseIn(), {"product": "p", "customer": "C-1", "expires_at": "2026-11-22T10:00:00"}
    )
    assert list(errors) == ["expires_at"]
    assert "timezone" in errors["expires_at"][0]


def test_null_expiry_means_perpetual_on_input() -> None:
    assert (
        LicenseIn().load({"product": "p", "customer": "C-1", "expires_at": None})["expires_at"]
        is None
    )


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 11, 22, 10, 0, tzinfo=UTC),
        datetime(2026, 11, 22, 10, 0, 0, 999_999, tzinfo=UTC),  # second precision: truncated
        datetime(2026, 11, 22, 12, 0, tzinfo=timezone(timedelta(hours=2))),
        datetime(2026, 11, 22, 4, 0, tzinfo=timezone(timedelta(hours=-6))),
    ],
)
def test_utc_datetime_output_format(value: datetime) -> None:
    out = LicenseOut().dump({"expires_at": value, "created_at": value})
    assert out["expires_at"] == out["created_at"] == "2026-11-22T10:00:00Z"


def test_utc_datetime_output_of_none() -> None:
    assert LicenseOut().dump({"expires_at": None})["expires_at"] is None


def test_round_trip_through_the_wire_format() -> None:
    field = UTCDateTime()
    value = datetime(2031, 1, 2, 3, 4, 5, tzinfo=UTC)
    text = LicenseOut().dump({"expires_at": value})["expires_at"]
    assert text == "2031-01-02T03:04:05Z"
    assert field.deserialize(text) == value
