"""Update rules: versions, channels, the selection rule, UP1, and the feeds."""

from __future__ import annotations

import base64
import hashlib
import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from licserver import signing
from licserver.domain import feeds
from licserver.domain.errors import ValidationFailed
from licserver.domain.updates import (
    Artifact,
    Candidate,
    Holder,
    Version,
    VersionError,
    parse_version,
    pick_artifact,
    select_update,
    visible_channels,
)
from tests.feedcheck import minisign_verify

V = Version.parse


# ---- versions ---------------------------------------------------------------------


def test_versions_compare_numerically() -> None:
    assert V("1.10.0") > V("1.9.0")
    assert V("3.1") == V("3.1.0")
    assert str(V("3.1")) == "3.1.0"


def test_prereleases_in_semver_order() -> None:
    ordered = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
    ]
    parsed = [V(v) for v in ordered]
    assert sorted(reversed(parsed)) == parsed
    assert V("2.0.0-beta.1") < V("2.0.0")


def test_build_metadata_is_ignored() -> None:
    assert V("1.2.0+build.7") == V("1.2.0+other")
    assert not V("1.2.0+build.7") > V("1.2.0")


@pytest.mark.parametrize(
    "text", ["", "1", "v1.2.0", "1.2.3.4", "01.2.0", "1.2.0-", "1.2.0-01", "1.2.x", 12, None]
)
def test_anything_else_is_refused(text: object) -> None:
    with pytest.raises(VersionError):
        Version.parse(text)
    with pytest.raises(ValidationFailed):
        parse_version(text, "current_version")


# ---- channels ---------------------------------------------------------------------


def test_channel_visibility() -> None:
    assert visible_channels("stable") == {"stable"}
    assert visible_channels("beta") == {"stable", "rc", "beta"}
    assert visible_channels("alpha") == {"stable", "rc", "beta", "alpha"}
    assert visible_channels("dev") == {"stable", "rc", "beta", "alpha", "dev"}
    assert visible_channels("acme-insiders") == {"acme-insiders", "stable"}


# ---- selection ----------------------------------------------------------------------

T0 = datetime(2025, 1, 1, tzinfo=UTC)
ANY = Artifact(1, None, None)


def rel(
    version: str,
    *,
    rid: int | None = None,
    channel: str = "stable",
    status: str = "published",
    month: int = 1,
    min_version: str | None = None,
    features: frozenset[str] = frozenset(),
    artifacts: tuple[Artifact, ...] = (ANY,),
) -> Candidate:
    return Candidate(
        id=rid or hash(version) % 10_000,
        version=V(version),
        channel=channel,
        status=status,
        released_at=T0.replace(month=month),
        min_version=V(min_version) if min_version else None,
        requires_features=features,
        artifacts=artifacts,
    )


ACTIVE = Holder(usable=True, expires_at=None, features=frozenset())


def pick(cands: list[Candidate], current: str = "1.0.0", **kw: object) -> str | None:
    args: dict[str, object] = {"channel": "stable", "platform": None, "arch": None}
    args["holder"] = ACTIVE
    args.update(kw)
    version = None if current == "any" else V(current)
    offer = select_update(cands, current=version, **args)  # type: ignore[arg-type]
    return None if offer is None else str(offer.release.version)


def test_newest_published_on_visible_channels() -> None:
    cands = [
        rel("1.1.0"),
        rel("1.2.0"),
        rel("2.0.0-beta.1", channel="beta"),
        rel("1.3.0", status="draft"),
    ]
    assert pick(cands) == "1.2.0"
    assert pick(cands, channel="beta") == "2.0.0-beta.1"
    assert pick(cands, current="1.2.0") is None


def test_yanked_never_offered() -> None:
    cands = [rel("1.1.0"), rel("1.2.0", status="yanked")]
    assert pick(cands) == "1.1.0"
    assert pick(cands, current="1.2.0") is None


def test_maintained_access() -> None:
    cands = [rel("1.2.0", month=3), rel("1.3.0", month=9)]
    expired_june = Holder(usable=False, expires_at=T0.replace(month=6), features=frozenset())
    assert pick(cands, holder=expired_june) == "1.2.0"
    no_expiry_unusable = Holder(usable=False, expires_at=None, features=frozenset())
    assert pick(cands, holder=no_expiry_unusable) is None


def test_entitlements() -> None:
    cands = [rel("1.1.0"), rel("1.2.0", features=frozenset({"pro"}))]
    assert pick(cands) == "1.1.0"
    assert pick(cands, holder=Holder(True, None, frozenset({"pro", "x"}))) == "1.2.0"


def test_min_version_stepping() -> None:
    cands = [rel("1.5.0"), rel("2.0.0", min_version="1.5.0")]
    assert pick(cands, current="1.0.0") == "1.5.0"
    assert pick(cands, current="1.5.0") == "2.0.0"
    # A feed that does not know the machine's version: the newest, min_version
    # left to the framework.
    assert pick(cands, current="any") == "2.0.0"


def test_platform_and_arch() -> None:
    win = Artifact(2, "windows", None)
    mac_arm = Artifact(3, "macos", "arm64")
    mac_any = Artifact(4, "macos", None)
    assert pick_artifact([ANY, win, mac_arm, mac_any], "macos", "arm64") == mac_arm
    assert pick_artifact([ANY, win, mac_arm, mac_any], "macos", "x86_64") == mac_any
    assert pick_artifact([ANY, win], "linux", None) == ANY
    assert pick_artifact([win], "linux", None) is None
    assert pick_artifact([win, mac_arm], None, None) is None
    cands = [rel("1.1.0"), rel("1.2.0", artifacts=(win,))]
    assert pick(cands, platform="windows") == "1.2.0"
    assert pick(cands, platform="macos") == "1.1.0"


# ---- UP1 ----------------------------------------------------------------------------


def test_up1_round_trip_and_tamper() -> None:
    key = Ed25519PrivateKey.generate()
    payload = signing.update_manifest_payload(
        prod="APP", ver="1.2.0", ch="stable", plat=None, arch=None, sha256="a" * 64, size=5, rel=1
    )
    token = signing.encode(signing.UPDATE_MANIFEST_PREFIX, payload, "k1", key)
    assert token.startswith("UP1.")
    claims = signing.parse_update_manifest(token, {"k1": key.public_key()})
    assert claims["ver"] == "1.2.0" and claims["plat"] is None and claims["kid"] == "k1"
    forged = dict(claims, sha256="b" * 64)
    body = base64.urlsafe_b64encode(signing.canonical_json(forged)).rstrip(b"=").decode()
    with pytest.raises(signing.TokenError):
        signing.parse_update_manifest(f"UP1.{body}.{token.split('.')[2]}", {"k1": key.public_key()})
    ac1 = signing.encode(signing.CERTIFICATE_PREFIX, payload, "k1", key)
    with pytest.raises(signing.TokenError):
        signing.parse_update_manifest(ac1, {"k1": key.public_key()})


# ---- feeds --------------------------------------------------------------------------

DATA = b"the bytes of app 1.2.0\n" * 100


def item(
    key: Ed25519PrivateKey, notes: str | None = "Fixes <b>things</b> & more"
) -> feeds.FeedItem:
    return feeds.FeedItem(
        version="1.2.0",
        notes=notes,
        released_at=T0,
        url="https://lic.example/dl?t=a&b=1",
        filename="app.zip",
        size=len(DATA),
        sha512_b64=base64.b64encode(hashlib.sha512(DATA).digest()).decode(),
        ed_signature=feeds.sparkle_signature(key, DATA),
        minisign=feeds.minisign_signature(
            key, hashlib.blake2b(DATA).digest(), "app.zip", 1700000000
        ),
    )


def test_sparkle_appcast_parses_and_verifies() -> None:
    key = Ed25519PrivateKey.generate()
    xml = feeds.sparkle_appcast("App", "https://lic.example/feed", [item(key)], "macos")
    root = ET.fromstring(xml.encode())
    ns = {"sparkle": feeds.SPARKLE_NS}
    (it,) = root.findall("./channel/item")
    assert it.findtext("sparkle:version", namespaces=ns) == "1.2.0"
    assert it.findtext("description") == "Fixes <b>things</b> & more"
    enc = it.find("enclosure")
    assert enc is not None
    assert enc.get("url") == "https://lic.example/dl?t=a&b=1"
    assert int(enc.get("length", "0")) == len(DATA)
    assert enc.get(f"{{{feeds.SPARKLE_NS}}}os") == "macos"
    sig = base64.b64decode(enc.get(f"{{{feeds.SPARKLE_NS}}}edSignature", ""))
    key.public_key().verify(sig, DATA)  # as Sparkle does with SUPublicEDKey


def test_electron_latest_yml() -> None:
    yaml = pytest.importorskip("yaml")
    key = Ed25519PrivateKey.generate()
    doc = yaml.safe_load(feeds.electron_latest_yml(item(key)))
    assert doc["version"] == "1.2.0"
    (f,) = doc["files"]
    assert base64.b64decode(f["sha512"]) == hashlib.sha512(DATA).digest()
    assert f["size"] == len(DATA) and f["url"] == doc["path"]
    assert doc["releaseDate"] == "2025-01-01T00:00:00.000Z"


def test_tauri_json_and_minisign() -> None:
    key = Ed25519PrivateKey.generate()
    body = json.loads(json.dumps(feeds.tauri_update(item(key))))
    assert set(body) == {"version", "pub_date", "url", "signature", "notes"}
    assert datetime.fromisoformat(body["pub_date"]) == T0
    pub = feeds.minisign_public_key(key.public_key())
    assert "file:app.zip" in minisign_verify(pub, body["signature"], DATA)
    with pytest.raises(Exception):  # noqa: B017 - InvalidSignature
        minisign_verify(pub, body["signature"], DATA + b"x")
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert raw in base64.b64decode(base64.b64decode(pub).decode().splitlines()[1])
