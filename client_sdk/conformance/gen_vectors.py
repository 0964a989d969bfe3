"""Regenerate vectors.json, the kit's offline test vectors (README.md here).

    python client_sdk/conformance/gen_vectors.py      # rewrites vectors.json

Deterministic: Ed25519 signatures are, and nothing here is random, so a rerun
writes the same bytes. THE PRIVATE KEYS BELOW ARE TEST DATA, published on
purpose (the first is API.md's test-vector seed 00..1f); never use them to sign
anything real.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

HERE = Path(__file__).resolve().parent
# TEST KEYS (seeds), not secrets: kit-k1 and kit-k2 are pinned, kit-k3 never is.
TEST_SEEDS = {
    "kit-k1": bytes(range(0, 32)),
    "kit-k2": bytes(range(32, 64)),
    "kit-k3": bytes(range(64, 96)),
}
CLOCK = 1796200000
PRODUCT = "kit-product"
INSTALLATION = "kit-install-0001"
DAY = 86400


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def key(kid: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(TEST_SEEDS[kid])


def public(kid: str) -> str:
    return b64u(key(kid).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))


def token(prefix: str, payload: dict[str, Any], kid: str) -> str:
    body = b64u(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode())
    signed = f"{prefix}.{body}"
    return f"{signed}.{b64u(key(kid).sign(signed.encode('ascii')))}"


def claims(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "v": 1,
        "kid": "kit-k1",
        "aid": "A-KIT-0001",
        "lid": "L-KIT-0001",
        "prod": PRODUCT,
        "cust": "C-1001",
        "iid": INSTALLATION,
        "mn": "kit machine",
        "seats": 3,
        "features": ["export", "plot"],
        "iat": CLOCK - 3600,
        "exp": CLOCK + 365 * DAY,
        "until": CLOCK + 14 * DAY,
    }
    base.update(over)
    return base


def cert(**over: Any) -> str:
    c = claims(**over)
    return token("AC1", c, c["kid"])


def state(certificate: str, **over: Any) -> dict[str, Any]:
    s: dict[str, Any] = {
        "format": "licclient-state/1",
        "product": PRODUCT,
        "installation_id": INSTALLATION,
        "server": "http://127.0.0.1:9",
        "activation_id": "A-KIT-0001",
        "activation_token": "kit-activation-token",
        "certificate": certificate,
        "last_seen": CLOCK - 3600,
        "refusal": None,
    }
    s.update(over)
    return s


def full(code: str, **over: Any) -> dict[str, Any]:
    """The whole status a verified certificate of claims(**over) gives."""
    c = claims(**over)
    return {
        "valid": code == "VALID",
        "code": code,
        "license_id": c["lid"],
        "expires_at": c["exp"],
        "offline_until": c["until"],
        "features": c["features"],
    }


def bare(code: str) -> dict[str, Any]:
    return {"valid": False, "code": code}


def tampered_payload() -> str:
    good = cert()
    prefix, _, sig = good.split(".")
    other = b64u(json.dumps(claims(seats=300), sort_keys=True, separators=(",", ":")).encode())
    return f"{prefix}.{other}.{sig}"


def tampered_signature() -> str:
    prefix, body, sig = cert().split(".")
    flipped = ("B" if sig[0] == "A" else "A") + sig[1:]
    return f"{prefix}.{body}.{flipped}"


def vectors() -> list[dict[str, Any]]:
    good = cert()
    v: list[dict[str, Any]] = []

    def add(name: str, why: str, expect: dict[str, Any], **kw: Any) -> None:
        v.append({"name": name, "why": why, "op": "status", **kw, "expect": expect})

    add("valid", "a good certificate", full("VALID"), state=state(good))
    add(
        "valid_second_kid",
        "signed by the second pinned key (rotation)",
        full("VALID", kid="kit-k2"),
        state=state(cert(kid="kit-k2")),
    )
    add(
        "valid_perpetual",
        "exp null: never expires",
        full("VALID", exp=None),
        state=state(cert(exp=None)),
    )
    add(
        "valid_no_features",
        "features: an empty list",
        full("VALID", features=[]),
        state=state(cert(features=[])),
    )
    add("no_state", "no state file", bare("NOT_ACTIVATED"), state=None)
    add(
        "tampered_payload",
        "payload changed, signature kept",
        bare("CERTIFICATE_INVALID"),
        state=state(tampered_payload()),
    )
    add(
        "tampered_signature",
        "signature changed",
        bare("CERTIFICATE_INVALID"),
        state=state(tampered_signature()),
    )
    add(
        "unknown_kid",
        "signed by a key that is not pinned",
        bare("CERTIFICATE_INVALID"),
        state=state(cert(kid="kit-k3")),
    )
    add(
        "other_installation",
        "certificate of another installation",
        bare("CERTIFICATE_INVALID"),
        state=state(cert(iid="kit-install-9999")),
    )
    add(
        "other_installation_state",
        "state and certificate of another installation",
        bare("CERTIFICATE_INVALID"),
        state=state(cert(iid="kit-install-9999"), installation_id="kit-install-9999"),
    )
    add(
        "other_product",
        "certificate of another product",
        bare("CERTIFICATE_INVALID"),
        state=state(cert(prod="other-product")),
    )
    add(
        "other_activation",
        "certificate of another activation than the state's",
        bare("CERTIFICATE_INVALID"),
        state=state(cert(aid="A-KIT-0002")),
    )
    add(
        "wrong_prefix",
        "an LK1 where the AC1 belongs",
        bare("CERTIFICATE_INVALID"),
        state=state(token("LK1", claims(), "kit-k1")),
    )
    add(
        "unknown_version",
        "v 2",
        bare("CERTIFICATE_INVALID"),
        state=state(cert(v=2)),
    )
    add(
        "expired",
        "past exp",
        full("LICENSE_EXPIRED", exp=CLOCK - 10),
        state=state(cert(exp=CLOCK - 10)),
    )
    add(
        "past_until",
        "past until: check in first",
        full("CHECKIN_REQUIRED", until=CLOCK - 10),
        state=state(cert(until=CLOCK - 10)),
    )
    add(
        "expired_and_past_until",
        "LICENSE_EXPIRED comes before CHECKIN_REQUIRED",
        full("LICENSE_EXPIRED", exp=CLOCK - 20, until=CLOCK - 10),
        state=state(cert(exp=CLOCK - 20, until=CLOCK - 10)),
    )
    add(
        "clock_set_back",
        "the clock is over 1 hour behind last_seen",
        full("CLOCK_TAMPERED"),
        state=state(good, last_seen=CLOCK + 3601 + 60),
    )
    add(
        "clock_set_back_within_tolerance",
        "under 1 hour behind last_seen",
        full("VALID"),
        state=state(good, last_seen=CLOCK + 1800),
    )
    add(
        "clock_before_iat",
        "the clock is over 1 hour before the certificate's iat",
        full("CLOCK_TAMPERED", iat=CLOCK + 7200, until=CLOCK + 20 * DAY),
        state=state(cert(iat=CLOCK + 7200, until=CLOCK + 20 * DAY), last_seen=CLOCK - 3600),
    )
    add(
        "clock_set_back_and_expired",
        "CLOCK_TAMPERED comes first",
        full("CLOCK_TAMPERED", exp=CLOCK - 10),
        state=state(cert(exp=CLOCK - 10), last_seen=CLOCK + 7200),
    )
    for refusal in ("LICENSE_SUSPENDED", "LICENSE_REVOKED", "LICENSE_EXPIRED"):
        add(
            f"stored_refusal_{refusal.lower()}",
            "the last check-in was refused so",
            full(refusal),
            state=state(good, refusal=refusal),
        )
    add(
        "stored_refusal_before_expiry",
        "a stored LICENSE_REVOKED comes before LICENSE_EXPIRED",
        full("LICENSE_REVOKED", exp=CLOCK - 10),
        state=state(cert(exp=CLOCK - 10), refusal="LICENSE_REVOKED"),
    )
    unreadable: dict[str, Any] = {
        "not_json": {"state_text": "this is not JSON {"},
        "empty_file": {"state_text": ""},
        "json_array": {"state_text": "[1, 2, 3]"},
        "not_utf8": {"state_base64": b64u(b'{"format": "\xff\xfe"}')},
        "other_format": {"state": state(good, format="licclient-state/9")},
        "missing_field": {
            "state": {k: x for k, x in state(good).items() if k != "activation_token"}
        },
        "mistyped_last_seen": {"state": state(good, last_seen=str(CLOCK))},
        "float_last_seen": {"state": state(good, last_seen=CLOCK + 0.5)},
        "boolean_last_seen": {"state": state(good, last_seen=True)},
        "empty_certificate": {"state": state("")},
        "unknown_refusal": {"state": state(good, refusal="LICENSE_STOLEN")},
        "too_large": {"state": state(good, padding="x" * (64 * 1024))},
    }
    for name, kw in unreadable.items():
        add(f"unreadable_{name}", "unreadable state", bare("CERTIFICATE_INVALID"), **kw)
    # Offline checks of the activation call: the key of another product is
    # refused before anything is sent (the server URL does not answer).
    v.append(
        {
            "name": "license_key_of_other_product",
            "why": "an LK1 that verifies and names another product: refused before sending",
            "op": "activate",
            "args": {
                "license_key": token(
                    "LK1",
                    {
                        "v": 1,
                        "kid": "kit-k1",
                        "lid": "L-KIT-0001",
                        "prod": "other-product",
                        "cust": "C-1001",
                        "ser": 1,
                        "iat": CLOCK - DAY,
                    },
                    "kit-k1",
                )
            },
            "state": None,
            "expect": bare("NOT_ACTIVATED"),
            "expect_error": "INVALID_CREDENTIALS",
        }
    )
    return v


def document() -> dict[str, Any]:
    return {
        "about": (
            "licserver SDK conformance vectors; regenerate with gen_vectors.py. "
            "TEST KEYS ONLY: the seeds below are published test data."
        ),
        "test_private_seeds_hex": {kid: seed.hex() for kid, seed in TEST_SEEDS.items()},
        "defaults": {
            "clock": CLOCK,
            "product": PRODUCT,
            "installation_id": INSTALLATION,
            "public_keys": {"kit-k1": public("kit-k1"), "kit-k2": public("kit-k2")},
            "server_url": "http://127.0.0.1:9",
        },
        "vectors": vectors(),
    }


def main() -> None:
    text = json.dumps(document(), indent=1, sort_keys=False) + "\n"
    (HERE / "vectors.json").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
