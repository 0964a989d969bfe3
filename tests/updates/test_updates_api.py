"""POST /api/v1/updates and its download links over real HTTP (gunicorn):
what each machine is offered, and who may fetch it."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from licserver import signing
from licserver.models import utcnow
from licserver.services import links
from tests.live import LiveServer
from tests.support import loopback
from tests.support.factory import Factory
from tests.support.sdk import fetch_public_keys
from tests.updates.helpers import activate, artifact, ask, offered, ok, payload, release


def _keys(server: LiveServer) -> dict[str, Ed25519PublicKey]:
    return {k: signing.public_key_from_b64(v) for k, v in fetch_public_keys(server.url).items()}


def test_newest_allowed_per_channel_and_platform_downloaded_and_verified(
    server: LiveServer, staff: httpx.Client, factory: Factory
) -> None:
    product = factory.product("APP")
    lic = factory.license(product)
    release(staff, product, "1.1.0", days_ago=5)
    mac = payload("1.2.0", "macos")
    release(staff, product, "1.2.0", platform="macos", arch="arm64", days_ago=3, data=mac)
    artifact(staff, product, "1.2.0", "windows")
    release(staff, product, "2.0.0-beta.1", channel="beta", days_ago=1)
    release(staff, product, "2.1.0", publish=False)  # a draft: never offered
    with server.client() as http:
        machine = activate(http, lic.key)
        assert offered(http, machine, "1.0.0") == "1.1.0"  # no platform: platform-less only
        assert offered(http, machine, "1.0.0", platform="linux") == "1.1.0"
        assert offered(http, machine, "1.0.0", platform="windows") == "1.2.0"
        assert offered(http, machine, "1.0.0", platform="macos", arch="x86_64") == "1.1.0"
        assert offered(http, machine, "1.0.0", channel="beta") == "2.0.0-beta.1"
        assert offered(http, machine, "1.1.0") is None
        assert offered(http, machine, "3.1", channel="dev") is None

        update = ok(ask(http, machine, "1.1.0", platform="macos", arch="arm64"))["update"]
        assert update["version"] == "1.2.0" and update["channel"] == "stable"
        assert update["sha256"] == hashlib.sha256(mac).hexdigest() and update["size"] == len(mac)
        claims = signing.parse_update_manifest(update["manifest"], _keys(server))
        assert (claims["prod"], claims["ver"], claims["plat"], claims["arch"]) == (
            "APP",
            "1.2.0",
            "macos",
            "arm64",
        )
        assert claims["sha256"] == update["sha256"] and claims["size"] == len(mac)
        got = loopback.get(update["download_url"], follow_redirects=True)  # no other credential
        assert got.status_code == 200 and got.content == mac

    kinds = [e["kind"] for e in ok(staff.get(f"/api/v1/licenses/{lic.id}/events"))["items"]]
    assert kinds.count("update.downloaded") == 1 and "update.checked" not in kinds
    releases = ok(staff.get(f"/api/v1/products/{product}/releases"))["items"]
    assert [r["status"] for r in releases] == ["published"] * 3 + ["draft"]


def test_refusals_like_checkin_and_unreadable_versions(
    server: LiveServer, staff: httpx.Client, factory: Factory
) -> None:
    product = factory.product("APP")
    lic = factory.license(product)
    release(staff, product, "1.1.0")
    with server.client() as http:
        aid, token = activate(http, lic.key)
        r = ask(http, (aid, "wrong"), "1.0.0")
        assert r.status_code == 401 and r.json()["code"] == "INVALID_CREDENTIALS"
        assert ask(http, ("A-nope", token), "1.0.0").status_code == 401
        r = ask(http, (aid, token), "one point oh")
        assert r.status_code == 422 and "current_version" in r.json()["errors"]
        assert ask(http, (aid, token), "1.0.0", channel="Bad Channel").status_code == 422
        link = ok(ask(http, (aid, token), "1.0.0"))["update"]["download_url"]

        ok(staff.post(f"/api/v1/licenses/{lic.id}/suspend", json={}))
        r = ask(http, (aid, token), "1.0.0")
        assert r.status_code == 403 and r.json()["code"] == "LICENSE_SUSPENDED"
        assert loopback.get(link).status_code == 403  # a link handed out before
        ok(staff.post(f"/api/v1/licenses/{lic.id}/reinstate", json={}))
        assert loopback.get(link, follow_redirects=True).status_code == 200

        ok(staff.post(f"/api/v1/activations/{aid}/deactivate", json={"reason": "test"}))
        r = ask(http, (aid, token), "1.0.0")
        assert r.status_code == 410 and r.json()["code"] == "DEACTIVATED"
        assert loopback.get(link).status_code == 410

    other = factory.license(product)
    with server.client() as http:
        machine = activate(http, other.key)
        ok(staff.post(f"/api/v1/licenses/{other.id}/revoke", json={}))
        r = ask(http, machine, "1.0.0")
        assert r.status_code == 403 and r.json()["code"] == "LICENSE_REVOKED"


def test_maintained_access_entitlements_yank_and_min_version(
    server: LiveServer, staff: httpx.Client, factory: Factory
) -> None:
    product = factory.product("APP")
    release(staff, product, "1.1.0", days_ago=30)
    release(staff, product, "1.2.0", days_ago=20, min_version="1.1.0")
    release(staff, product, "1.3.0", days_ago=5)
    release(staff, product, "1.4.0", days_ago=2, requires_features="pro")
    lic = factory.license(product, expires_at=utcnow() + timedelta(days=30))
    pro = factory.license(product, features=["pro"])
    with server.client() as http:
        machine = activate(http, lic.key)
        pro_machine = activate(http, pro.key)
        assert offered(http, machine, "1.1.0") == "1.3.0"
        assert offered(http, pro_machine, "1.1.0") == "1.4.0"  # entitlement-gated
        # min_version: 1.0.0 may not jump to 1.2.0 or newer... 1.3.0 has none
        assert offered(http, machine, "1.0.0") == "1.3.0"

        # the licence expired after 1.2 came out: it gets 1.2, never 1.3
        expired = (utcnow() - timedelta(days=10)).isoformat()
        ok(staff.patch(f"/api/v1/licenses/{lic.id}", json={"expires_at": expired}))
        assert offered(http, machine, "1.1.0") == "1.2.0"
        assert offered(http, machine, "1.0.0") == "1.1.0"  # min_version stepping
        assert offered(http, machine, "1.2.0") is None

        ok(staff.post(f"/api/v1/products/{product}/releases/1.4.0/yank"))
        assert offered(http, pro_machine, "1.1.0") == "1.3.0"  # yanked: never offered
        assert offered(http, pro_machine, "1.4.0") is None
        r = staff.post(f"/api/v1/products/{product}/releases/1.4.0/publish", json={})
        assert r.status_code == 409


def test_prerelease_ordering(server: LiveServer, staff: httpx.Client, factory: Factory) -> None:
    product = factory.product("APP")
    lic = factory.license(product)
    for v in ("2.0.0-alpha.2", "2.0.0-alpha.10", "2.0.0-beta.1", "2.0.0-rc.1"):
        release(staff, product, v, channel=v.split("-")[1].split(".")[0])
    with server.client() as http:
        machine = activate(http, lic.key)
        assert offered(http, machine, "1.9.0") is None  # stable sees none of them
        assert offered(http, machine, "1.9.0", channel="rc") == "2.0.0-rc.1"
        assert offered(http, machine, "1.9.0", channel="alpha") == "2.0.0-rc.1"
        assert offered(http, machine, "2.0.0-alpha.2", channel="beta") == "2.0.0-rc.1"
        ok(staff.post(f"/api/v1/products/{product}/releases/2.0.0-rc.1/yank"))
        ok(staff.post(f"/api/v1/products/{product}/releases/2.0.0-beta.1/yank"))
        assert offered(http, machine, "2.0.0-alpha.2", channel="alpha") == "2.0.0-alpha.10"
        release(staff, product, "2.0.0")
        assert offered(http, machine, "2.0.0-alpha.10", channel="alpha") == "2.0.0"
        r = staff.post(
            f"/api/v1/products/{product}/releases",
            json={"version": "2.0", "url": "https://x.test/a", "sha256": "0" * 64},
        )
        assert r.status_code == 409  # 2.0 reads as 2.0.0: taken


def test_download_link_binding_and_expiry(
    server: LiveServer, staff: httpx.Client, factory: Factory
) -> None:
    product = factory.product("APP")
    release(staff, product, "1.1.0")
    a, b = factory.license(product), factory.license(product)
    with server.client() as http:
        ma, mb = activate(http, a.key), activate(http, b.key)
        url = ok(ask(http, ma, "1.0.0"))["update"]["download_url"]
        assert loopback.get(url, follow_redirects=True).status_code == 200
        prefix, _, token = url.rpartition("/")
        other = prefix.rsplit("/", 1)[0] + f"/{mb[0]}/{token}"
        assert loopback.get(other).status_code == 404  # another activation's link
        assert loopback.get(url[:-3] + "abc").status_code == 404  # altered
        artifact_id = ok(staff.get(f"/api/v1/products/{product}/releases/1.1.0"))["artifacts"][0][
            "id"
        ]
        old = links.sign_link(
            "e2e-secret", artifact_id, ma[0], utcnow() - timedelta(minutes=11), 600, links.UPDATE
        )
        r = loopback.get(prefix.rsplit("/", 1)[0] + f"/{ma[0]}/{old}")
        assert r.status_code == 410 and r.json()["code"] == "LINK_EXPIRED"
        fresh = links.sign_link("e2e-secret", artifact_id, ma[0], utcnow(), 600, links.UPDATE)
        assert loopback.get(prefix.rsplit("/", 1)[0] + f"/{ma[0]}/{fresh}").status_code == 200


def test_every_release_change_is_seen_by_the_next_check(
    server: LiveServer, staff: httpx.Client, factory: Factory
) -> None:
    """Servers keep pages of releases in memory (services.update_reads): a
    publish, a new artifact and a yank each show in the very next answer,
    however often the same question was answered before."""
    product = factory.product("APP")
    release(staff, product, "1.1.0", days_ago=3)
    release(staff, product, "1.2.0", platform="windows", days_ago=1)
    release(staff, product, "1.3.0", platform="windows", publish=False)
    lic = factory.license(product)
    with server.client() as http:
        machine = activate(http, lic.key)
        for _ in range(4):  # every server process has answered it
            assert offered(http, machine, "1.0.0", platform="macos") == "1.1.0"
            assert offered(http, machine, "1.0.0", platform="windows") == "1.2.0"
        artifact(staff, product, "1.2.0", "macos")
        assert offered(http, machine, "1.0.0", platform="macos") == "1.2.0"
        ok(staff.post(f"/api/v1/products/{product}/releases/1.3.0/publish", json={}))
        assert offered(http, machine, "1.0.0", platform="windows") == "1.3.0"
        assert offered(http, machine, "1.0.0", platform="macos") == "1.2.0"
        ok(staff.post(f"/api/v1/products/{product}/releases/1.2.0/yank"))
        assert offered(http, machine, "1.0.0", platform="macos") == "1.1.0"
        assert offered(http, machine, "1.0.0", platform="windows") == "1.3.0"
