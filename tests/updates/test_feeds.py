"""Updater-framework feeds over real HTTP (gunicorn), each read the way its
framework reads it: Sparkle's appcast (XML, sparkle namespace, edSignature
checked with the public key as Sparkle does), electron-updater's generic
provider (YAML, sha512 of the served file) and Tauri's dynamic server (JSON,
minisign signature verified); gated like POST /api/v1/updates."""

from __future__ import annotations

import base64
import hashlib
import xml.etree.ElementTree as ET
from typing import Any

import httpx
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask import Flask

from licserver import signing
from licserver.domain import feeds
from tests.feedcheck import minisign_verify
from tests.live import LiveServer
from tests.support import loopback
from tests.support.factory import Factory
from tests.support.sdk import fetch_public_keys
from tests.updates.helpers import activate, artifact, ok, payload, release

NS = {"sparkle": feeds.SPARKLE_NS}


def _public(server: LiveServer) -> Ed25519PublicKey:
    (key,) = fetch_public_keys(server.url).values()  # Sparkle pins one key
    return signing.public_key_from_b64(key)


def _feeds(http: httpx.Client, machine: tuple[str, str]) -> dict[str, Any]:
    aid, token = machine
    r = http.post(f"/api/v1/activations/{aid}/feed-token", json={"activation_token": token})
    body: dict[str, Any] = ok(r)
    return body


def _appcast(url: str, **params: str) -> list[ET.Element]:
    r = loopback.get(url, params=params)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(r.content)
    assert root.tag == "rss" and root.find("channel") is not None
    return root.findall("./channel/item")


def test_sparkle_electron_and_tauri_feeds(
    server: LiveServer, staff: httpx.Client, factory: Factory
) -> None:
    product = factory.product("APP", name="Acme App")
    lic = factory.license(product)
    mac = payload("1.2.0", "macos")
    release(staff, product, "1.1.0", platform="macos", days_ago=9)
    release(staff, product, "1.2.0", platform="macos", arch="arm64", days_ago=3, data=mac)
    artifact(staff, product, "1.2.0", "windows")
    artifact(staff, product, "1.2.0", "macos")  # universal: what latest-mac.yml names
    release(staff, product, "1.3.0", platform="macos", requires_features="pro", days_ago=2)
    release(staff, product, "2.0.0-beta.1", channel="beta", platform="macos", days_ago=1)
    public = _public(server)
    with server.client() as http:
        machine = activate(http, lic.key)
        urls = _feeds(http, machine)["feeds"]
        assert _feeds(http, machine)["feeds"] == urls  # stable while the activation is

        # Sparkle: the newest this licence may have (not the entitlement-gated 1.3.0)
        (item,) = _appcast(urls["sparkle"], arch="arm64")
        assert item.findtext("sparkle:version", namespaces=NS) == "1.2.0"
        enc = item.find("enclosure")
        assert enc is not None and enc.get(f"{{{feeds.SPARKLE_NS}}}os") == "macos"
        got = loopback.get(enc.get("url", ""), follow_redirects=True).content
        assert got == mac and int(enc.get("length", "0")) == len(mac)
        public.verify(base64.b64decode(enc.get(f"{{{feeds.SPARKLE_NS}}}edSignature", "")), got)
        (beta,) = _appcast(urls["sparkle"], channel="beta")
        assert beta.findtext("sparkle:version", namespaces=NS) == "2.0.0-beta.1"
        assert _appcast(urls["sparkle"], current_version="1.2.0", arch="arm64") == []

        # electron-updater: latest.yml (Windows), latest-mac.yml, beta-mac.yml
        for name, version, platform in [
            ("latest.yml", "1.2.0", "windows"),
            ("latest-mac.yml", "1.2.0", "macos"),
            ("beta-mac.yml", "2.0.0-beta.1", "macos"),
        ]:
            r = loopback.get(f"{urls['electron']}/{name}", params={"noCache": "1x"})
            assert r.status_code == 200, (name, r.text)
            doc = yaml.safe_load(r.text)
            assert doc["version"] == version and doc["files"][0]["url"] == doc["path"]
            served = loopback.get(doc["path"], follow_redirects=True).content
            assert base64.b64decode(doc["sha512"]) == hashlib.sha512(served).digest()
            assert doc["files"][0]["size"] == len(served)
            assert f"for {platform}".encode() in served or platform == "macos"
        assert loopback.get(f"{urls['electron']}/latest-linux.yml").status_code == 404  # none

        # Tauri: {{target}}/{{arch}}/{{current_version}}
        tauri = urls["tauri"]
        url = tauri.replace("{{target}}", "darwin").replace("{{arch}}", "aarch64")
        r = loopback.get(url.replace("{{current_version}}", "1.1.0"))
        assert r.status_code == 200
        body = r.json()
        assert body["version"] == "1.2.0" and body["pub_date"].endswith("Z")
        served = loopback.get(body["url"], follow_redirects=True).content
        pubkey = feeds.minisign_public_key(public)
        assert "file:app-1.2.0.zip" in minisign_verify(pubkey, body["signature"], served)
        assert loopback.get(url.replace("{{current_version}}", "1.2.0")).status_code == 204
        assert loopback.get(url.replace("{{current_version}}", "x")).status_code == 422


def test_feeds_refused_like_update_checks(
    server: LiveServer, staff: httpx.Client, factory: Factory
) -> None:
    product = factory.product("APP")
    lic = factory.license(product)
    release(staff, product, "1.1.0", platform="macos")
    with server.client() as http:
        machine = activate(http, lic.key)
        aid, token = machine
        r = http.post(f"/api/v1/activations/{aid}/feed-token", json={"activation_token": "x"})
        assert r.status_code == 401 and r.json()["code"] == "INVALID_CREDENTIALS"
        sparkle = _feeds(http, machine)["feeds"]["sparkle"]
        assert len(_appcast(sparkle)) == 1
        forged = sparkle.replace(f"/{aid}/", f"/{aid}/x")
        assert loopback.get(forged).status_code == 401

        ok(staff.post(f"/api/v1/licenses/{lic.id}/revoke", json={}))
        r = loopback.get(sparkle)
        assert r.status_code == 403 and r.json()["code"] == "LICENSE_REVOKED"

    other = factory.license(product)
    with server.client() as http:
        machine = activate(http, other.key)
        electron = _feeds(http, machine)["feeds"]["electron"]
        assert loopback.get(f"{electron}/latest-mac.yml").status_code == 200
        ok(staff.post(f"/api/v1/activations/{machine[0]}/deactivate", json={"reason": "test"}))
        r = loopback.get(f"{electron}/latest-mac.yml")
        assert r.status_code == 410 and r.json()["code"] == "DEACTIVATED"
        r = http.post(
            f"/api/v1/activations/{machine[0]}/feed-token", json={"activation_token": machine[1]}
        )
        assert r.status_code == 410


def test_keys_feeds_prints_what_sparkle_and_tauri_pin(app: Flask) -> None:
    out = app.test_cli_runner().invoke(args=["keys", "feeds"]).output
    rows = dict(line.split("\t", 1) for line in out.splitlines())
    keys = app.test_client().get("/api/v1/keys").get_json()["keys"]
    (active,) = [k for k in keys if k["status"] == "active" and k["kid"] == rows["kid"]]
    public = signing.public_key_from_b64(active["public_key"])
    raw = base64.b64decode(rows["SUPublicEDKey"], validate=True)
    assert raw == base64.urlsafe_b64decode(
        active["public_key"] + "=" * (-len(active["public_key"]) % 4)
    )
    assert rows["tauri pubkey"] == feeds.minisign_public_key(public)
