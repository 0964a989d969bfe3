"""The signed-answer rule (API.md "Signed answers"): its test vector, the nonce
alphabet, and what a verifier refuses."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from licserver import signing
from licserver.api.answers import is_client_request, request_target
from licserver.crypto import b64u

SEED = bytes(range(32))
VECTOR_BODY = b'{"code": "VALID", "valid": true}'
VECTOR_NONCE = "n-3f9a1c0e5b7d4e21"
VECTOR_SIG = (
    "CYHz1uh9ItCgpmZBJpEAdM2sfjN2RfpnZupJMl9hdRIeyzaDs3DPgBb8VasJBSEP4F8mUiHLspcrFBK452fUDw"
)


def _key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(SEED)


def _vector_header() -> str:
    return signing.answer_signature(
        "k-test",
        _key(),
        method="POST",
        target="/api/v1/validate",
        status=200,
        t=1796200000,
        body=VECTOR_BODY,
        nonce=VECTOR_NONCE,
    )


def test_the_api_md_test_vector() -> None:
    key = _key()
    assert signing.public_key_b64(key.public_key()) == "A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg"
    text = signing.answer_text(
        "POST", "/api/v1/validate", 200, 1796200000, VECTOR_BODY, VECTOR_NONCE
    )
    digest = "rAo6TzXR4F5cTEBTMlHcgbaZjPylIacFyadKhXUA7_8"
    assert text == f"POST /api/v1/validate\n200\n1796200000\n{digest}\n{VECTOR_NONCE}".encode()
    assert b64u(key.sign(text)) == VECTOR_SIG
    assert _vector_header() == f'kid="k-test", t="1796200000", sig="{VECTOR_SIG}"'


def _verify(header: str | None, **changes: object) -> tuple[str, int]:
    args: dict[str, object] = {
        "method": "POST",
        "target": "/api/v1/validate",
        "status": 200,
        "body": VECTOR_BODY,
        "nonce": VECTOR_NONCE,
    }
    args.update(changes)
    return signing.verify_answer(header, {"k-test": _key().public_key()}, **args)  # type: ignore[arg-type]


def test_the_vector_verifies() -> None:
    assert _verify(_vector_header()) == ("k-test", 1796200000)


@pytest.mark.parametrize(
    "changes",
    [
        {"body": b'{"code": "VALID", "valid": false}'},
        {"nonce": "n-another"},
        {"nonce": ""},
        {"status": 201},
        {"method": "PUT"},
        {"target": "/api/v1/validate?x=1"},
    ],
)
def test_any_change_of_what_is_signed_fails(changes: dict[str, object]) -> None:
    with pytest.raises(signing.TokenError):
        _verify(_vector_header(), **changes)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        'kid="k-other", t="1796200000", sig="' + VECTOR_SIG + '"',
        'kid="k-test", t="1796200001", sig="' + VECTOR_SIG + '"',
        'kid="k-test", t="1796200000", sig="' + VECTOR_SIG[:-2] + 'Dx"',
        'kid="k-test", sig="' + VECTOR_SIG + '"',
        "garbage",
    ],
)
def test_missing_unknown_or_altered_signatures_fail(header: str | None) -> None:
    with pytest.raises(signing.TokenError):
        _verify(header)


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("a", True),
        ("n-3f9a1c0e5b7d4e21", True),
        ("A.b_c~d-0", True),
        ("x" * 128, True),
        ("x" * 129, False),
        ("", False),
        ("a b", False),
        ("é", False),
        ("a/b", False),
        ('a"', False),
    ],
)
def test_the_nonce_alphabet(value: str, ok: bool) -> None:
    assert signing.is_valid_nonce(value) is ok


@pytest.mark.parametrize(
    ("method", "path", "signed"),
    [
        ("POST", "/api/v1/activations", True),
        ("GET", "/api/v1/activations", False),  # the admin list
        ("POST", "/api/v1/activations/A-1/checkin", True),
        ("GET", "/api/v1/activations/A-1/checkin", True),  # its 405
        ("DELETE", "/api/v1/activations/A-1", True),
        ("POST", "/api/v1/activations/A-1/deactivate", False),  # the admin action
        ("POST", "/api/v1/validate", True),
        ("GET", "/api/v1/keys", True),
        ("POST", "/api/v1/updates", True),
        ("GET", "/api/v1/licenses", False),
        ("GET", "/healthz", False),
    ],
)
def test_which_requests_are_client_api(method: str, path: str, signed: bool) -> None:
    assert is_client_request(method, path) is signed


def test_the_target_is_the_raw_uri_else_rebuilt() -> None:
    assert request_target({"RAW_URI": "/api/v1/keys?a=%41"}) == "/api/v1/keys?a=%41"
    assert request_target({"RAW_URI": "http://h:1/api/v1/keys?x"}) == "/api/v1/keys?x"
    rebuilt = {"SCRIPT_NAME": "", "PATH_INFO": "/api/v1/activations/a b/checkin"}
    assert request_target(rebuilt) == "/api/v1/activations/a%20b/checkin"
    assert request_target({**rebuilt, "QUERY_STRING": "q=1"}).endswith("/checkin?q=1")
