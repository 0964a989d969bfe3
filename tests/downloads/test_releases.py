"""Releases: staff attach one through the admin API (a file, SHA-256 computed;
or a URL with its SHA-256) and publish it; the update email goes once to the
users who want it; portal users of technical role and up who hold an active
licence of the product download it through short-lived links signed for them."""

from __future__ import annotations

import hashlib
import io
import re
import threading
from datetime import timedelta
from pathlib import Path

from flask import Flask
from sqlalchemy import select, update
from werkzeug.test import TestResponse

from licserver.extensions import db
from licserver.models import Event, User, utcnow
from licserver.models.update import ReleaseArtifact
from licserver.runtime import context
from licserver.services import customers as customer_service
from licserver.services import releases as svc
from tests.mail import SmtpServer, body_text
from tests.support.factory import Factory
from tests.support.portal import (
    COMPANY_PASSWORD,
    AccountMaker,
    Browser,
    BrowserMaker,
    Staff,
    set_password,
)

PAYLOAD = b"PK\x03\x04 acme cad 3.0 installer " + bytes(range(256)) * 300
SHA = hashlib.sha256(PAYLOAD).hexdigest()
LINK_RE = re.compile(r'href="(/portal/downloads/file/[^"]+)"')


def _upload(staff: Staff, product: str, version: str = "3.0.0", **fields: str) -> TestResponse:
    return staff.post(
        f"/api/v1/products/{product}/releases",
        data={
            "version": version,
            "file": (io.BytesIO(PAYLOAD), "Acme CAD setup 3.0.zip"),
            **fields,
        },
        content_type="multipart/form-data",
    )


def _published_link(staff: Staff, product: str, browser: Browser, email: str) -> str:
    """Release 3.0.0 of ``product`` uploaded and published; its one portal link
    as ``email`` (logged in on ``browser``) sees it."""
    assert _upload(staff, product).status_code == 201
    staff.post(f"/api/v1/products/{product}/releases/3.0.0/publish", json={"notify": False})
    browser.login(email)
    (link,) = _links(browser)
    return link


def _links(browser: Browser) -> list[str]:
    page = browser.get("/portal/downloads")
    assert page.status_code == 200, page.status_code
    return LINK_RE.findall(page.get_data(as_text=True))


def test_upload_publish_download_and_email_once(
    smtp: SmtpServer,
    releases_dir: Path,
    make_account: AccountMaker,
    staff: Staff,
    new_browser: BrowserMaker,
    app: Flask,
) -> None:
    acc = make_account(activations=0)
    product = acc.licenses[0].product
    other = make_account("globex", activations=0)  # holds another product only
    db.session.rollback()
    db.session.execute(
        update(User).where(User.email == acc.emails["basic"]).values(notify_updates=False)
    )
    db.session.commit()

    r = _upload(staff, product, notes="Faster rendering.", sha256=SHA.upper())
    assert r.status_code == 201, r.get_json()["errors"]
    body = r.get_json()
    assert body["sha256"] == SHA and body["size"] == len(PAYLOAD)
    assert body["filename"] == "Acme_CAD_setup_3.0.zip" and body["source"] == "file"
    assert body["published"] is False and body["notified_at"] is None
    stored = list(releases_dir.rglob("*.zip"))
    assert len(stored) == 1 and stored[0].read_bytes() == PAYLOAD

    tech = new_browser()
    tech.login(acc.emails["technical"])
    assert _links(tech) == []  # not published yet
    assert "Downloads" in tech.get("/portal/licenses").get_data(as_text=True)

    r = staff.post(f"/api/v1/products/{product}/releases/3.0.0/publish")
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["published"] is True and r.get_json()["notified_count"] == 4
    msgs = smtp.wait_for(4)
    assert sorted(m["To"] for m in msgs) == sorted(
        acc.emails[role] for role in ("owner", "billing", "technical", "manager")
    )
    assert msgs[0]["Subject"] == "Acme CAD 3.0.0 is available"
    assert "Faster rendering." in body_text(msgs[0])
    assert "http://licserver.test/portal/downloads" in body_text(msgs[0])
    # publishing again, and the cron job, send nothing more
    assert staff.post(f"/api/v1/products/{product}/releases/3.0.0/publish").status_code == 200
    assert "release emails: 0" in app.test_cli_runner().invoke(args=["notify"]).output
    assert len(smtp.messages) == 4

    listed = staff.get(f"/api/v1/products/{product}/releases").get_json()["items"]
    assert [(x["version"], x["published"], x["notified_count"]) for x in listed] == [
        ("3.0.0", True, 4)
    ]

    # the technical user downloads it: the same bytes, as an attachment
    (link,) = _links(tech)
    got = tech.get(link)
    assert got.status_code == 200
    assert got.data == PAYLOAD and hashlib.sha256(got.data).hexdigest() == SHA
    assert got.headers["Content-Length"] == str(len(PAYLOAD))
    assert got.headers["Content-Disposition"].startswith("attachment")
    assert "Acme_CAD_setup_3.0.zip" in got.headers["Content-Disposition"]
    page = tech.get("/portal/downloads").get_data(as_text=True)
    assert SHA in page and "Faster rendering." in page

    # a basic user may not: no page, no link of someone else's
    basic = new_browser()
    basic.login(acc.emails["basic"])
    assert "/portal/downloads" not in basic.get("/portal/licenses").get_data(as_text=True)
    refused = basic.get("/portal/downloads")
    assert refused.status_code == 403 and "Not allowed" in refused.get_data(as_text=True)
    assert basic.get(link).status_code == 403

    # the owner of another account sees nothing, and the technical user's link is not theirs
    outsider = new_browser()
    outsider.login(other.emails["owner"])
    assert _links(outsider) == []
    assert outsider.get(link).status_code == 404

    # the manager, and the company login (technical), see and download it too
    manager = new_browser()
    manager.login(acc.emails["manager"])
    (mlink,) = _links(manager)
    assert mlink != link and manager.get(mlink).data == PAYLOAD
    company = new_browser()
    company.login(acc.number, COMPANY_PASSWORD)
    (clink,) = _links(company)
    assert company.get(clink).data == PAYLOAD
    assert company.get(link).status_code == 404  # the technical user's link is theirs alone


def test_links_expire_are_bound_and_refused_once_the_product_is_gone(
    releases_dir: Path,
    make_account: AccountMaker,
    factory: Factory,
    staff: Staff,
    browser: Browser,
    app: Flask,
) -> None:
    acc = make_account(activations=0)
    product = acc.licenses[0].product
    link = _published_link(staff, product, browser, acc.emails["technical"])
    token = link.rsplit("/", 1)[1]

    # tampered: any changed character
    payload, mac = token.split(".")
    forged = payload[:-1] + ("A" if payload[-1] != "A" else "B") + "." + mac
    r = browser.get(f"/portal/downloads/file/{forged}")
    assert r.status_code == 404 and PAYLOAD not in r.data
    assert browser.get(link + "x").status_code == 404

    # expired: a link made eleven minutes ago
    db.session.rollback()
    release = db.session.query(ReleaseArtifact).one()  # a link names a file
    holder = f"u{acc.user_id('technical')}"
    old = svc.sign_link(
        app.config["SECRET_KEY"], release.id, holder, utcnow() - timedelta(minutes=11), 600
    )
    fresh = svc.sign_link(app.config["SECRET_KEY"], release.id, holder, utcnow(), 600)
    r = browser.get(f"/portal/downloads/file/{old}")
    assert r.status_code == 410 and "expired" in r.get_data(as_text=True)
    assert browser.get(f"/portal/downloads/file/{fresh}").data == PAYLOAD

    # signed with another secret: refused
    alien = svc.sign_link("another-secret", release.id, holder, utcnow(), 600)
    assert browser.get(f"/portal/downloads/file/{alien}").status_code == 404

    # the account no longer holds an active licence of the product: refused
    for lic in acc.licenses:
        assert staff.post(f"/api/v1/licenses/{lic.id}/suspend").status_code == 200
    r = browser.get(link)
    assert r.status_code == 403 and PAYLOAD not in r.data
    assert _links(browser) == []
    assert browser.get(f"/portal/downloads/file/{fresh}").status_code == 403


def test_limited_users_see_the_products_of_their_licences_only(
    releases_dir: Path,
    make_account: AccountMaker,
    factory: Factory,
    staff: Staff,
    new_browser: BrowserMaker,
) -> None:
    acc = make_account(activations=0)
    cad = acc.licenses[0].product
    viewer = factory.product("acme-viewer", name="Acme Viewer")
    viewer_lic = factory.license(viewer, acc.number)
    for code in (cad, viewer):
        assert _upload(staff, code, "1.0").status_code == 201
        assert staff.post(f"/api/v1/products/{code}/releases/1.0/publish").status_code == 200
    customer_service.add_user(
        context(),
        acc.number,
        email="contractor@elsewhere.test",
        name="Contractor",
        role="technical",
        licenses=[viewer_lic.id],
        invitation_ttl_hours=72,
    )
    set_password("contractor@elsewhere.test")
    limited = new_browser()
    limited.login("contractor@elsewhere.test")
    page = limited.get("/portal/downloads").get_data(as_text=True)
    assert "Acme Viewer" in page and "Acme CAD" not in page
    assert len(LINK_RE.findall(page)) == 1
    owner = new_browser()
    owner.login(acc.emails["owner"])
    assert len(_links(owner)) == 2


def test_url_release_redirects_and_admin_api_errors(
    releases_dir: Path, make_account: AccountMaker, staff: Staff, browser: Browser, app: Flask
) -> None:
    acc = make_account(activations=0)
    product = acc.licenses[0].product
    base = f"/api/v1/products/{product}/releases"
    url = "https://downloads.example.com/acme/cad-3.1.msi?sig=1"
    r = staff.post(base, json={"version": "3.1", "url": url, "sha256": SHA, "size": 1234})
    assert r.status_code == 201, r.get_json()["errors"]
    assert r.get_json()["source"] == "url" and r.get_json()["filename"] == "cad-3.1.msi"
    staff.post(f"{base}/3.1/publish")
    browser.login(acc.emails["owner"])
    (link,) = _links(browser)
    r = browser.get(link)
    assert r.status_code == 303 and r.headers["Location"] == url

    def problem(resp: TestResponse, status: int, code: str) -> None:
        assert resp.status_code == status, resp.get_json()
        assert resp.mimetype == "application/problem+json"
        assert resp.get_json()["code"] == code

    # taken version; missing and bad fields; bad checksum of an upload
    problem(staff.post(base, json={"version": "3.1", "url": url, "sha256": SHA}), 409, "CONFLICT")
    r = staff.post(base, json={"version": "3.2", "url": url})
    problem(r, 422, "VALIDATION_FAILED")
    assert "sha256" in r.get_json()["errors"]
    r = staff.post(base, json={"version": "../x", "url": "ftp://x", "sha256": "00"})
    assert set(r.get_json()["errors"]) == {"version", "url", "sha256"}
    problem(_upload(staff, product, "3.3", sha256="0" * 64), 422, "VALIDATION_FAILED")
    problem(staff.post(base, data="not json"), 400, "MALFORMED_REQUEST")
    problem(
        staff.post(
            "/api/v1/products/nope/releases", json={"version": "1.0", "url": url, "sha256": SHA}
        ),
        404,
        "NOT_FOUND",
    )
    problem(staff.post(f"{base}/9.9/publish"), 404, "NOT_FOUND")
    # no token; a token without the catalog scope
    problem(
        app.test_client().post(base, json={"version": "4.0", "url": url, "sha256": SHA}),
        401,
        "UNAUTHORIZED",
    )
    reader = app.test_cli_runner().invoke(
        args=["tokens", "create", "--name", "r", "--scope", "read"]
    )
    headers = {"Authorization": f"Bearer {reader.output.strip()}"}
    problem(staff.post(f"{base}/3.1/publish", headers=headers), 403, "FORBIDDEN")
    assert staff.get(base, headers=headers).status_code == 200
    # a large upload without a valid token is refused unread
    big = {"version": "5.0", "file": (io.BytesIO(b"x" * 200_000), "big.bin")}
    r = app.test_client().post(base, data=big, content_type="multipart/form-data")
    problem(r, 413, "PAYLOAD_TOO_LARGE")
    assert list(releases_dir.rglob("*")) == []  # nothing of the refused uploads kept


def test_cli_adds_and_publishes(
    smtp: SmtpServer, releases_dir: Path, make_account: AccountMaker, app: Flask, tmp_path: Path
) -> None:
    acc = make_account(activations=0)
    product = acc.licenses[0].product
    f = tmp_path / "cad-4.0.zip"
    f.write_bytes(PAYLOAD)
    notes = tmp_path / "notes.txt"
    notes.write_text("New ribbon.")
    runner = app.test_cli_runner()
    args = ["releases", "add", "--product", product, "--version", "4.0", "--file", str(f)]
    result = runner.invoke(args=[*args, "--notes-file", str(notes), "--publish"])
    assert result.exit_code == 0, result.output
    assert SHA in result.output and "update email to 5 address(es)" in result.output
    assert len(smtp.wait_for(5)) == 5
    again = runner.invoke(args=args)
    assert again.exit_code == 1 and "already has a release '4.0'" in again.output
    listing = runner.invoke(args=["releases", "list", "--product", product]).output
    assert listing.startswith("4.0\t") and "published" in listing
    assert (
        runner.invoke(
            args=["releases", "publish", "--product", product, "--version", "4.0"]
        ).exit_code
        == 0
    )
    assert len(smtp.messages) == 5


def test_release_email_pending_after_a_crash_goes_once_even_from_two_runs(
    smtp: SmtpServer, releases_dir: Path, make_account: AccountMaker, staff: Staff, app: Flask
) -> None:
    acc = make_account(activations=0)
    product = acc.licenses[0].product
    assert _upload(staff, product).status_code == 201
    # published, but the process died before the email went out
    db.session.rollback()
    svc.publish(context(), product, "3.0.0", now=utcnow())
    db.session.remove()
    start = threading.Barrier(2)
    counts: list[int] = []

    def run() -> None:
        with app.app_context():
            start.wait()
            counts.append(svc.send_release_notices(context(), utcnow()))
            db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(counts) == [0, 5]
    assert len(smtp.wait_for(5)) == 5
    assert "release emails: 0" in app.test_cli_runner().invoke(args=["notify"]).output
    assert len(smtp.messages) == 5


def test_release_notes_are_markdown_with_html_escaped(
    releases_dir: Path, make_account: AccountMaker, staff: Staff, new_browser: BrowserMaker
) -> None:
    acc = make_account(activations=0)
    product = acc.licenses[0].product
    notes = (
        "**Faster** rendering. See [the changelog](https://acme.example/changes). "
        '<script>alert("pwned")</script> <img src=x onerror="alert(1)">'
    )
    r = _upload(staff, product, notes=notes)
    assert r.status_code == 201, r.get_json()["errors"]
    assert staff.post(f"/api/v1/products/{product}/releases/3.0.0/publish").status_code == 200
    tech = new_browser()
    tech.login(acc.emails["technical"])
    html = tech.get("/portal/downloads").get_data(as_text=True)
    assert "<strong>Faster</strong>" in html
    assert '<a href="https://acme.example/changes">the changelog</a>' in html
    assert "<script>alert" not in html and "<img" not in html
    assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;" in html


def test_multi_line_markdown_notes_round_trip_and_render(
    releases_dir: Path, make_account: AccountMaker, staff: Staff, new_browser: BrowserMaker
) -> None:
    acc = make_account(activations=0)
    product = acc.licenses[0].product
    notes = "## What's new\r\n\r\n- Faster rendering\r\n- A new ribbon\n\nThanks to\tall.\r"
    kept = "## What's new\n\n- Faster rendering\n- A new ribbon\n\nThanks to\tall."
    base = f"/api/v1/products/{product}/releases"
    r = staff.post(
        base,
        json={
            "version": "3.0.0",
            "url": "https://x.test/a.zip",
            "sha256": SHA,
            "size": 10,
            "notes": notes,
        },
    )
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["notes"] == kept
    (listed,) = staff.get(base).get_json()["items"]
    assert listed["notes"] == kept
    assert staff.post(f"{base}/3.0.0/publish", json={"notify": False}).status_code == 200
    tech = new_browser()
    tech.login(acc.emails["technical"])
    html = tech.get("/portal/downloads").get_data(as_text=True)
    assert "<h2>What's new</h2>" in html or "<h2>What&#x27;s new</h2>" in html
    assert "<li>Faster rendering</li>" in html and "<li>A new ribbon</li>" in html

    # any other control character is still refused, with the field named
    for bad in ("bell\x07", "nul\x00", "esc\x1b[31m"):
        r = staff.post(
            base,
            json={"version": "3.0.1", "url": "https://x.test/b.zip", "sha256": SHA, "notes": bad},
        )
        assert r.status_code == 422 and "notes" in r.get_json()["errors"], bad


def test_a_portal_download_is_an_event_of_the_account(
    releases_dir: Path, make_account: AccountMaker, staff: Staff, browser: Browser
) -> None:
    acc = make_account(activations=0)
    product = acc.licenses[0].product
    link = _published_link(staff, product, browser, acc.emails["technical"])
    assert browser.get(link).data == PAYLOAD
    db.session.remove()
    (ev,) = db.session.scalars(select(Event).where(Event.kind == "release.downloaded")).all()
    assert ev.customer_id == acc.customer_id and ev.actor_type == "user"
    assert ev.data["product"] == product and ev.data["version"] == "3.0.0"
    assert ev.data["filename"] == "Acme_CAD_setup_3.0.zip"
    # a refused download records nothing
    for lic in acc.licenses:
        assert staff.post(f"/api/v1/licenses/{lic.id}/suspend").status_code == 200
    assert browser.get(link).status_code == 403
    db.session.remove()
    assert (
        len(db.session.scalars(select(Event).where(Event.kind == "release.downloaded")).all()) == 1
    )
