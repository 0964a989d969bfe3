"""The portal's downloads page: per product, the newest release of each channel
the user's licences cover (usable now, or released while they were:
maintained access; their entitlements), every file of it per platform and
arch with its SHA-256 and size; a link to anything else is refused."""

from __future__ import annotations

import hashlib
import io
import re
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import update

from licserver.extensions import db
from licserver.models import License, utcnow
from licserver.models.update import ReleaseArtifact
from licserver.services import links
from tests.support.factory import Factory
from tests.support.portal import AccountMaker, Browser, BrowserMaker, Staff

HEAD_RE = re.compile(r'<h3 class="release">([^ <]+) <small class="muted">([^ <]+) ')
ROW_RE = re.compile(
    r'<tr>\s*<td>([^<]+)</td>\s*<td><a href="(/portal/downloads/file/[^"]+)" download>([^<]+)</a>'
    r'.*?<td class="num">([^<]+)</td>\s*<td><code class="mono">([0-9a-f]{64})</code>',
    re.S,
)


class Vendor:
    """Releases through the admin API, as staff make them."""

    def __init__(self, staff: Staff, product: str) -> None:
        self.staff, self.product = staff, product
        self.files: dict[str, bytes] = {}

    def file(self, version: str, platform: str | None, arch: str | None) -> dict[str, Any]:
        data = f"{version} {platform} {arch} ".encode() + secrets.token_bytes(2000)
        self.files[hashlib.sha256(data).hexdigest()] = data
        form: dict[str, Any] = {"file": (io.BytesIO(data), f"app-{version}-{platform}.zip")}
        form.update({k: v for k, v in (("platform", platform), ("arch", arch)) if v})
        return form

    def release(
        self,
        version: str,
        days_ago: int,
        targets: list[tuple[str | None, str | None]],
        *,
        status: str = "published",
        **fields: str,
    ) -> None:
        base = f"/api/v1/products/{self.product}/releases"
        (platform, arch), *more = targets
        form = self.file(version, platform, arch)
        form.update(version=version, released_at=(utcnow() - timedelta(days=days_ago)).isoformat())
        r = self.staff.post(base, data={**form, **fields}, content_type="multipart/form-data")
        assert r.status_code == 201, r.get_json()
        for platform, arch in more:
            r = self.staff.post(
                f"{base}/{version}/artifacts",
                data=self.file(version, platform, arch),
                content_type="multipart/form-data",
            )
            assert r.status_code == 201, r.get_json()
        for step in {"draft": [], "published": ["publish"], "yanked": ["publish", "yank"]}[status]:
            r = self.staff.post(f"{base}/{version}/{step}", json={"notify": False})
            assert r.status_code == 200, r.get_json()


def _page(browser: Browser) -> tuple[list[tuple[str, str]], str]:
    r = browser.get("/portal/downloads")
    assert r.status_code == 200, r.status_code
    html = r.get_data(as_text=True)
    return HEAD_RE.findall(html), html


def test_newest_per_channel_per_platform_as_the_licences_allow(
    releases_dir: Path,
    make_account: AccountMaker,
    factory: Factory,
    staff: Staff,
    new_browser: BrowserMaker,
    app: Flask,
) -> None:
    acc = make_account(activations=0)
    vendor = Vendor(staff, acc.licenses[0].product)
    vendor.release("1.1.0", 30, [("windows", "x86_64")])
    vendor.release("1.2.0", 20, [("windows", "x86_64"), ("macos", "arm64"), ("linux", None)])
    vendor.release("1.3.0", 5, [(None, None)])
    vendor.release("1.4.0", 4, [(None, None)], status="yanked")
    vendor.release("3.0.0", 1, [(None, None)], status="draft")
    vendor.release("2.0.0-beta.1", 3, [(None, None)], channel="beta")
    vendor.release("2.0.0-beta.2", 2, [(None, None)], channel="beta", requires_features="pro")
    tech = new_browser()
    tech.login(acc.emails["technical"])

    heads, _ = _page(tech)
    assert heads == [("1.3.0", "stable"), ("2.0.0-beta.1", "beta")]

    # both licences expired ten days ago: what came out before, nothing after
    db.session.rollback()
    ids = [lic.id for lic in acc.licenses]
    db.session.execute(
        update(License)
        .where(License.public_id.in_(ids))
        .values(expires_at=utcnow() - timedelta(days=10))
    )
    db.session.commit()
    heads, html = _page(tech)
    assert heads == [("1.2.0", "stable")]
    rows = ROW_RE.findall(html)
    assert [(target, name) for target, _, name, _, _ in rows] == [
        ("Linux", "app-1.2.0-linux.zip"),
        ("macOS arm64", "app-1.2.0-macos.zip"),
        ("Windows x86_64", "app-1.2.0-windows.zip"),
    ]
    for _, link, _, size, sha in rows:
        got = tech.get(link)
        assert got.status_code == 200 and got.data == vendor.files[sha]
        assert size == f"{len(got.data) / 1024:.1f} KiB"

    # a link to a release the licences do not cover (signed as the page would) is refused
    db.session.rollback()
    newer = db.session.query(ReleaseArtifact).filter(ReleaseArtifact.filename.contains("1.3.0"))
    holder = f"u{acc.user_id('technical')}"
    token = links.sign_link(app.config["SECRET_KEY"], newer.one().id, holder, utcnow(), 600)
    r = tech.get(f"/portal/downloads/file/{token}")
    assert r.status_code == 403 and "covers this release" in r.get_data(as_text=True)

    # a usable licence with the pro entitlement: the newest of each channel
    factory.license(vendor.product, acc.number, features=["pro"])
    heads, _ = _page(tech)
    assert heads == [("1.3.0", "stable"), ("2.0.0-beta.2", "beta")]


def test_suspended_licences_give_nothing(
    releases_dir: Path, make_account: AccountMaker, staff: Staff, browser: Browser
) -> None:
    acc = make_account(activations=0)
    vendor = Vendor(staff, acc.licenses[0].product)
    vendor.release("1.0.0", 3, [(None, None)])
    browser.login(acc.emails["owner"])
    assert _page(browser)[0] == [("1.0.0", "stable")]
    for lic in acc.licenses:
        assert staff.post(f"/api/v1/licenses/{lic.id}/suspend").status_code == 200
    heads, html = _page(browser)
    assert heads == [] and "No downloads" in html
