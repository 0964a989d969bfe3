"""Releases in the staff console: admins attach a file and publish it (the
update email goes once); support staff see the list but change nothing."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from pathlib import Path

from tests.mail import SmtpServer
from tests.support.console import Console, StaffMaker
from tests.support.portal import AccountMaker

DATA = b"\x7fELF acme viewer " * 10_000  # larger than MAX_CONTENT_LENGTH (64 KiB)


def test_admin_attaches_and_publishes_support_only_looks(
    smtp: SmtpServer,
    releases_dir: Path,
    make_account: AccountMaker,
    make_staff: StaffMaker,
    new_console: Callable[[], Console],
) -> None:
    acc = make_account(activations=0)
    product = acc.licenses[0].product
    admin = new_console()
    assert admin.login(make_staff("admin").email).status_code == 302
    page = admin.text(f"/admin/releases?product={product}")
    assert "No releases yet." in page and 'id="attach"' in page

    r = admin.post(
        f"/admin/releases/{product}",
        {"version": "2.0", "file": (io.BytesIO(DATA), "viewer-2.0.tar.gz"), "notes": "Big one."},
        content_type="multipart/form-data",
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    page = admin.text(f"/admin/releases?product={product}")
    assert hashlib.sha256(DATA).hexdigest() in page and "viewer-2.0.tar.gz" in page
    assert [p.read_bytes() == DATA for p in releases_dir.rglob("*.tar.gz")] == [True]
    assert smtp.messages == []  # not published yet

    # a URL without its checksum is refused with a message; nothing is added
    r = admin.post(
        f"/admin/releases/{product}",
        {"version": "2.1", "url": "https://dl.example.com/v.msi"},
        content_type="multipart/form-data",
    )
    assert r.status_code == 422 and "SHA-256" in r.get_data(as_text=True)

    support = new_console()
    assert support.login(make_staff("support").email).status_code == 302
    page = support.text(f"/admin/releases?product={product}")
    assert "viewer-2.0.tar.gz" in page and 'id="attach"' not in page
    assert support.post(f"/admin/releases/{product}/2.0/publish").status_code == 403
    big = {"version": "3.0", "file": (io.BytesIO(DATA), "v.bin")}
    r = support.post(f"/admin/releases/{product}", big, content_type="multipart/form-data")
    assert r.status_code in (403, 413)
    assert len(list(releases_dir.rglob("*.bin"))) == 0

    r = admin.post(f"/admin/releases/{product}/2.0/publish")
    assert r.status_code == 302
    assert len(smtp.wait_for(5)) == 5  # every user of the account wants updates by default
    admin.post(f"/admin/releases/{product}/2.0/publish")
    assert "emailed 5" in admin.text(f"/admin/releases?product={product}")
    assert len(smtp.messages) == 5
