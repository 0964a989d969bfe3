"""Offline (air-gapped) activation and deactivation, end to end: the SDK on a
machine without a network, a customer's technical user in the portal (real
Flask app, real database, CSRF on), and — for the round trip back online — the
SDK against a real gunicorn."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from licclient import CertificateInvalid, LicenseClient
from licclient import __main__ as cli
from licclient import _offline as offline_format

from tests.live import LiveServer
from tests.offline.helpers import TEXTAREA_RE, Machine, download, issue, redeem
from tests.support.console import Console, StaffMaker
from tests.support.factory import AdminClient, Factory
from tests.support.portal import AccountMaker, Browser

pytestmark = pytest.mark.e2e


def seats_used(admin: AdminClient, license_id: str) -> int:
    used: int = admin.get(f"/api/v1/licenses/{license_id}").get_json()["seats_used"]
    return used


def events(admin: AdminClient, license_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = admin.get(
        f"/api/v1/licenses/{license_id}/events?limit=200"
    ).get_json()["items"]
    return items


def test_offline_activation_and_deactivation_round_trip(
    make_account: AccountMaker, browser: Browser, machine: Machine, admin: AdminClient
) -> None:
    acc = make_account("acme", activations=0)
    lic = acc.licenses[0]
    pc = machine(lic.product, "lab-1")
    assert browser.login(acc.emails["technical"]).status_code == 302
    assert "Activate a machine offline" in browser.get(f"/portal/licenses/{lic.id}").text

    request = pc.offline_request(license_id=lic.id, machine_name="LAB-PC-01")
    assert request.startswith("LOR1.") and "\n" in request  # wrapped for the screen
    status, page, shown = issue(browser, lic.id, request)

    assert status == 200, page
    assert shown is not None and "LOC1." in shown
    assert "LAB-PC-01" in page and "takes a seat" in page
    assert seats_used(admin, lic.id) == 1
    # the same certificate as a file to carry over
    code, disposition, file_text = download(browser, lic.id, page)
    assert code == 200 and "attachment" in disposition and ".lic" in disposition
    assert file_text.startswith("# Offline activation certificate")

    result = pc.import_certificate(file_text)

    assert result.valid and result.code == "VALID"
    assert result.license_id == lic.id and result.machine_name == "LAB-PC-01"
    assert pc.status().valid
    page_text = browser.get(f"/portal/licenses/{lic.id}").text
    assert "LAB-PC-01" in page_text and pc.installation_id in page_text
    created = [e for e in events(admin, lic.id) if e["kind"] == "activation.created"]
    assert len(created) == 1
    assert created[0]["data"]["offline"] is True
    assert created[0]["actor"]["type"] == "user"
    assert created[0]["installation_id"] == pc.installation_id

    deactivation = pc.deactivate_offline()

    assert deactivation.startswith("LOD1.")
    assert pc.status().code == "NOT_ACTIVATED"
    assert pc.deactivate_offline() == deactivation  # asked again: the same code
    assert seats_used(admin, lic.id) == 1  # until the code reaches the server
    status, page = redeem(browser, lic.id, deactivation)
    assert status == 302, page
    assert "LAB-PC-01 is deactivated; its seat is free." in page
    assert seats_used(admin, lic.id) == 0
    gone = [e for e in events(admin, lic.id) if e["kind"] == "activation.deactivated"]
    assert len(gone) == 1 and gone[0]["reason"] == "offline"
    assert gone[0]["installation_id"] == pc.installation_id

    # A code works once.
    status, page = redeem(browser, lic.id, deactivation)
    assert status == 409 and "already used" in page
    assert len([e for e in events(admin, lic.id) if e["kind"] == "activation.deactivated"]) == 1

    # The old certificate file cannot bring the deactivated activation back.
    with pytest.raises(CertificateInvalid, match="deactivated on this machine"):
        pc.import_certificate(file_text)
    assert pc.status().code == "NOT_ACTIVATED"


def test_seat_limit_holds_for_offline_requests(
    make_account: AccountMaker,
    factory: Factory,
    browser: Browser,
    machine: Machine,
    admin: AdminClient,
    client: FlaskClient,
) -> None:
    acc = make_account("acme", activations=0)
    lic = factory.license(acc.licenses[0].product, acc.number, seats=1)
    online = client.post(
        "/api/v1/activations",
        json={"license_key": lic.key, "installation_id": "online-pc-0001", "machine_name": "PC-1"},
    )
    assert online.status_code == 201
    browser.login(acc.emails["technical"])
    pc = machine(lic.product, "lab-2")

    status, page, shown = issue(browser, lic.id, pc.offline_request(license_id=lic.id))

    assert status == 409 and shown is None
    assert "seat" in page.lower()
    assert seats_used(admin, lic.id) == 1
    refused = [e for e in events(admin, lic.id) if e["kind"] == "activation.refused"]
    assert [e["reason"] for e in refused] == ["SEAT_LIMIT_REACHED"]
    assert refused[0]["installation_id"] == pc.installation_id

    # Renewing a machine that holds a seat takes no second one.
    online_pc = machine(lic.product, "online", installation_id="online-pc-0001")
    status, page, shown = issue(browser, lic.id, online_pc.offline_request(license_id=lic.id))
    assert status == 200 and shown is not None, page
    assert online_pc.import_certificate(shown).valid
    assert seats_used(admin, lic.id) == 1


def test_forged_and_malformed_deactivation_codes_are_refused(
    make_account: AccountMaker, browser: Browser, machine: Machine, admin: AdminClient
) -> None:
    acc = make_account("acme", activations=0)
    lic = acc.licenses[0]
    browser.login(acc.emails["owner"])
    pc = machine(lic.product)
    _, _, shown = issue(browser, lic.id, pc.offline_request(license_id=lic.id))
    assert shown is not None
    status = pc.import_certificate(shown)
    assert status.activation_id is not None
    # Someone who knows the activation and installation ids, not its token.
    forged = offline_format.deactivation_code(
        "a guessed activation token", status.activation_id, pc.installation_id, 1_700_000_000
    )

    code, page = redeem(browser, lic.id, forged)

    assert code == 401 and "not valid" in page
    assert seats_used(admin, lic.id) == 1
    assert not [e for e in events(admin, lic.id) if e["kind"] == "activation.deactivated"]
    # Damaged, truncated or the wrong kind of text: a readable answer, nothing changed.
    real = pc.deactivate_offline().replace("\n", "")
    for text, message in [
        ("hello", "This is not a deactivation code"),
        (real[:-10], "damaged"),
        (shown, "this is a certificate file"),
        (real[:40] + ("A" if real[40] != "A" else "B") + real[41:], ""),
    ]:
        code, page = redeem(browser, lic.id, text)
        assert code in (401, 422), (text, code)
        assert message in page
    assert seats_used(admin, lic.id) == 1
    # The genuine code, wrapped and with a comment line as it may be pasted, still works.
    code, page = redeem(browser, lic.id, f"# from LAB\n{offline_format.wrap(real)}\n")
    assert code == 302, page
    assert seats_used(admin, lic.id) == 0


def test_import_refuses_certificates_not_made_for_this_machine_and_request(
    make_account: AccountMaker, browser: Browser, machine: Machine, admin: AdminClient
) -> None:
    acc = make_account("acme", activations=0)
    lic = acc.licenses[0]
    browser.login(acc.emails["manager"])
    pc, other = machine(lic.product, "lab-1"), machine(lic.product, "lab-2")
    _, _, for_pc = issue(browser, lic.id, pc.offline_request(license_id=lic.id))
    assert for_pc is not None

    # Another installation (another machine) cannot use it.
    with pytest.raises(CertificateInvalid, match="another installation"):
        other.import_certificate(for_pc)
    assert other.status().code == "NOT_ACTIVATED"
    # Nor another product's client on this machine.
    same_machine_other_product = machine(
        "other-product", "lab-1", installation_id=pc.installation_id
    )
    with pytest.raises(CertificateInvalid, match="product"):
        same_machine_other_product.import_certificate(for_pc)
    # An altered file does not verify.
    token = "".join(ln for ln in for_pc.splitlines() if not ln.startswith("#"))
    head, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["iid"] = other.installation_id  # made out for the other machine
    altered = offline_format.b64u(offline_format.canonical(claims))
    with pytest.raises(CertificateInvalid, match="signature"):
        other.import_certificate(f"{head}.{altered}.{sig}")
    # A certificate for an earlier request: only the latest request's imports.
    pc.offline_request(license_id=lic.id)
    with pytest.raises(CertificateInvalid, match="another request code"):
        pc.import_certificate(for_pc)
    assert pc.status().code == "NOT_ACTIVATED"
    # The request code itself is not a certificate.
    with pytest.raises(CertificateInvalid, match="request code"):
        pc.import_certificate(pc.offline_request(license_id=lic.id))


def test_portal_refuses_request_codes_for_other_licences_and_bad_text(
    make_account: AccountMaker, browser: Browser, machine: Machine, admin: AdminClient
) -> None:
    acc = make_account("acme", activations=0)
    other_acc = make_account("globex", activations=0)
    lic, second = acc.licenses
    browser.login(acc.emails["technical"])
    pc = machine(lic.product)

    status, page, shown = issue(browser, second.id, pc.offline_request(license_id=lic.id))
    assert status == 422 and shown is None
    assert f"for licence {lic.id}, not {second.id}" in page
    status, page, shown = issue(browser, lic.id, "LOR1.not-base64!")
    assert status == 422 and shown is None and "damaged" in page
    # another account's licence: not found, as for any page of it
    foreign = other_acc.licenses[0].id
    assert browser.get(f"/portal/licenses/{foreign}/offline").status_code == 404
    assert seats_used(admin, lic.id) == 0 and seats_used(admin, second.id) == 0


def test_offline_activation_checks_in_and_deactivates_online_later(
    make_account: AccountMaker,
    browser: Browser,
    machine: Machine,
    server: LiveServer,
    admin: AdminClient,
) -> None:
    """The certificate file carries the activation token: once the machine is
    online again, it checks in and deactivates as if it had activated online."""
    acc = make_account("acme", activations=0)
    lic = acc.licenses[0]
    browser.login(acc.emails["technical"])
    pc: LicenseClient = machine(lic.product, server_url=server.url, retries=0)
    _, _, shown = issue(browser, lic.id, pc.offline_request(license_id=lic.id))
    assert shown is not None
    first = pc.import_certificate(shown)

    again = pc.checkin()

    assert again.valid and again.activation_id == first.activation_id
    pc.deactivate()
    assert seats_used(admin, lic.id) == 0
    assert pc.status().code == "NOT_ACTIVATED"


def test_command_line_offline_request_import_and_deactivate(
    make_account: AccountMaker,
    browser: Browser,
    keys: dict[str, str],
    tmp_path: Path,
    admin: AdminClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    acc = make_account("acme", activations=0)
    lic = acc.licenses[0]
    browser.login(acc.emails["technical"])
    kid, key = next(iter(keys.items()))
    common = [
        "--product",
        lic.product,
        "--public-key",
        f"{kid}={key}",
        "--state-dir",
        str(tmp_path / "cli-state"),
        "--installation-id",
        "cli-machine-0001",
        "--json",
    ]

    assert cli.main(["offline-request", *common, "--license-id", lic.id]) == 0
    request = json.loads(capsys.readouterr().out)["request_code"]
    _, _, shown = issue(browser, lic.id, request)
    assert shown is not None
    cert_file = tmp_path / "cert.lic"
    cert_file.write_text(shown)

    assert cli.main(["import", *common, str(cert_file)]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["valid"] and status["license_id"] == lic.id
    assert cli.main(["import", *common, str(tmp_path / "missing.lic")]) == 2
    assert "cannot read" in capsys.readouterr().err

    assert cli.main(["deactivate-offline", *common]) == 0
    code = json.loads(capsys.readouterr().out)["deactivation_code"]
    assert redeem(browser, lic.id, code)[0] == 302
    assert seats_used(admin, lic.id) == 0
    # no licence named and nothing active: a usage error, not a traceback
    assert cli.main(["offline-request", *common]) == 2
    assert "license_id" in capsys.readouterr().err


def test_staff_console_offline_activation_and_deactivation(
    make_account: AccountMaker,
    make_staff: StaffMaker,
    console: Console,
    machine: Machine,
    admin: AdminClient,
) -> None:
    acc = make_account("acme", activations=0)
    lic = acc.licenses[0]
    assert console.login(make_staff("support").email).status_code == 302
    assert "Offline activation" in console.text("/admin/offline")
    pc = machine(lic.product, "ship-1")

    page = console.post("/admin/offline", {"request": pc.offline_request(license_id=lic.id)})

    body = page.get_data(as_text=True)
    assert page.status_code == 200, body
    found = TEXTAREA_RE.search(body)
    assert found and lic.id in body
    assert pc.import_certificate(html.unescape(found.group(1))).valid
    created = [e for e in events(admin, lic.id) if e["kind"] == "activation.created"]
    assert created[0]["data"]["offline"] is True
    assert created[0]["actor"]["type"] == "admin"
    assert seats_used(admin, lic.id) == 1

    code = pc.deactivate_offline()
    forged = console.post("/admin/offline/deactivate", {"code": code[:-3] + "AAA"})
    assert forged.status_code in (401, 422)
    done = console.post("/admin/offline/deactivate", {"code": code})
    assert done.status_code == 302 and done.location.endswith(f"/admin/licenses/{lic.id}")
    assert seats_used(admin, lic.id) == 0
    again = console.post("/admin/offline/deactivate", {"code": code})
    assert again.status_code == 409 and "already used" in again.get_data(as_text=True)
