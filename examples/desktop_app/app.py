"""Acme Sketch: a small terminal "product" that embeds licclient as a vendor would.

On the first start it asks for a licence; afterwards it starts offline,
checks in when that is due (and carries on without the server until the
offline period ends), shows the licence and the days left, offers
"Deactivate this computer", and explains every problem in plain words.

A real product bakes the server URL, its product code and the server's public
keys into the build. This example reads them from the environment so you can
try it against your own server (see README.md):

    ACME_LICENSE_SERVER   default http://127.0.0.1:8000 (`make run`)
    ACME_PRODUCT          default demo-app (the product `licserver demo` creates)
    ACME_PUBLIC_KEYS      kid=key[,kid=key]; or a keys.json beside this file
    ACME_STATE_DIR        default: licclient's per-user folder
    ACME_INSTALLATION_ID  default: derived from this machine
    ACME_CHANNEL          update channel, default stable (or beta, ...)
    ACME_DOWNLOAD_DIR     where an update is saved, default the current folder
"""

from __future__ import annotations

import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from licclient import (
    CertificateInvalid,
    Deactivated,
    InvalidCredentials,
    LicenseClient,
    LicenseError,
    LicenseExpired,
    LicenseRevoked,
    LicenseSuspended,
    RateLimited,
    SeatLimitReached,
    ServerUnavailable,
    Status,
    Update,
)

APP = "Acme Sketch"
VERSION = "1.0.0"
SUPPORT = "support@acme.example"

# ---- plain words for everything that can go wrong ----------------------------

STATUS_WORDS = {
    "NOT_ACTIVATED": f"This computer has no licence for {APP} yet.",
    "CERTIFICATE_INVALID": (
        "The licence stored on this computer is damaged, or was copied from another "
        "computer. Please enter your licence again."
    ),
    "CLOCK_TAMPERED": (
        f"Your computer's date and time are earlier than when {APP} last ran. "
        "Please correct the clock; connecting to the internet also sorts it out."
    ),
    "LICENSE_REVOKED": "Your licence was revoked and can no longer be used.",
    "LICENSE_SUSPENDED": (
        f"Your licence is suspended, usually because of an unpaid invoice. Contact {SUPPORT}."
    ),
    "LICENSE_EXPIRED": "Your licence has expired. Ask your administrator to renew it.",
    "CHECKIN_REQUIRED": (
        f"{APP} has been offline for longer than your licence allows. Connect this computer "
        "to the internet, then choose 'Check in now'."
    ),
}


def explain_error(exc: LicenseError) -> str:
    """What to tell the user about a failed activation, check-in or deactivation."""
    if isinstance(exc, InvalidCredentials):
        return (
            "The licence key or password was not accepted. Check for typing mistakes; "
            "a key that was replaced by a new one no longer works."
        )
    if isinstance(exc, SeatLimitReached):
        return (
            "Your licence is already in use on as many computers as it allows. Deactivate "
            f"{APP} on a computer you no longer use, or ask your administrator for more seats."
        )
    if isinstance(exc, Deactivated):
        return (
            f"{APP} was deactivated on this computer (by your administrator, or from "
            "another place). Enter a licence to use it here again."
        )
    if isinstance(exc, LicenseExpired | LicenseSuspended | LicenseRevoked):
        return STATUS_WORDS[exc.code or "LICENSE_EXPIRED"]
    if isinstance(exc, RateLimited):
        minutes = max(1, round((exc.retry_after or 60) / 60))
        return f"Too many attempts in a short time. Please wait {minutes} minute(s) and try again."
    if isinstance(exc, ServerUnavailable):
        return (
            "The licence server could not be reached. Check the internet connection "
            "(and proxy settings) and try again."
        )
    if isinstance(exc, CertificateInvalid):
        return (
            f"The licence server's answer could not be verified. This version of {APP} "
            "may be too old for the server: please update it."
        )
    if exc.code == "NOT_FOUND":
        return f"Your company has no licence for {APP}. Ask your administrator."
    return f"The licence server refused the request: {exc.detail}"


def days_until(when: datetime | None, now: float) -> int | None:
    """Whole days left, counting a started day: 13.2 days is "14 days"."""
    return None if when is None else max(0, math.ceil((when.timestamp() - now) / 86400))


def describe(status: Status, now: float) -> list[str]:
    """The licence in a few lines, with the days left."""
    if not status.valid:
        return [STATUS_WORDS.get(status.code, status.code)]
    left = days_until(status.expires_at, now)
    expiry = (
        "a perpetual licence"
        if left is None or status.expires_at is None
        else f"{left} days left (until {status.expires_at:%Y-%m-%d})"
    )
    offline = days_until(status.offline_until, now)
    assert status.offline_until is not None
    return [
        f"Licensed: licence {status.license_id}, customer {status.customer} — {expiry}.",
        f"Works offline until {status.offline_until:%Y-%m-%d} ({offline} days).",
        f"Features: {', '.join(status.features) or 'standard'}.",
    ]


# ---- the program -------------------------------------------------------------


class SketchApp:
    def __init__(
        self,
        client: LicenseClient,
        ask: Callable[[str], str] = input,
        say: Callable[[str], None] = print,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client, self.ask, self.say, self.clock = client, ask, say, clock

    def run(self) -> int:
        self.say(f"{APP} {VERSION}")
        status = self.start()
        offered = False
        while True:
            if not status.valid:
                status = self.unlicensed(status)
                if not status.valid:
                    return 1
            if not offered:  # once a run, as soon as the licence is valid
                offered = True
                self.updates(quiet=True)
            choice = self.ask(
                "\n1) Draw  2) Licence details  3) Check in now  "
                "4) Deactivate this computer  5) Check for updates  q) Quit\n> "
            ).strip()
            if choice == "1":
                self.say("~~~ a beautiful sketch ~~~")
            elif choice == "2":
                for line in describe(self.client.status(), self.clock()):
                    self.say(line)
            elif choice == "3":
                status = self.check_in()
            elif choice == "4":
                if self.deactivate():
                    return 0
            elif choice == "5":
                self.updates(quiet=False)
            elif choice == "q":
                return 0

    def start(self) -> Status:
        """At every start: offline verification, and a check-in when one is due."""
        try:
            status = self.client.auto_checkin()
        except LicenseError as exc:
            self.say(explain_error(exc))
            status = self.client.status()
        for line in describe(status, self.clock()):
            self.say(line)
        return status

    def check_in(self) -> Status:
        try:
            status = self.client.checkin()
        except LicenseError as exc:
            self.say(explain_error(exc))
            return self.client.status()
        self.say("Checked in.")
        for line in describe(status, self.clock()):
            self.say(line)
        return status

    def unlicensed(self, status: Status) -> Status:
        """Ask for a licence until there is one, or the user gives up."""
        while not status.valid:
            can_check_in = status.code not in ("NOT_ACTIVATED", "CERTIFICATE_INVALID")
            menu = "\n1) Licence key  2) Licence ID and activation password  "
            menu += "3) Customer number and company password  "
            menu += "4) Check in now  q) Quit\n> " if can_check_in else "q) Quit\n> "
            choice = self.ask(menu).strip()
            if choice == "q":
                return status
            if choice == "4" and can_check_in:
                status = self.check_in()
                continue
            try:
                if choice == "1":
                    status = self.client.activate(license_key=self.ask("Licence key: ").strip())
                elif choice == "2":
                    status = self.client.activate(
                        license_id=self.ask("Licence ID: ").strip(),
                        activation_password=self.ask("Activation password: ").strip(),
                    )
                elif choice == "3":
                    status = self.client.activate(
                        customer_number=self.ask("Customer number: ").strip(),
                        company_password=self.ask("Company password: ").strip(),
                    )
                else:
                    continue
            except ValueError:
                self.say("Please fill in every field.")
                continue
            except LicenseError as exc:
                self.say(explain_error(exc))
                continue
            self.say(f"Thank you: {APP} is activated on this computer.")
            for line in describe(status, self.clock()):
                self.say(line)
        return status

    def updates(self, *, quiet: bool) -> None:
        """Is there a newer version this licence may have? Offer to download it
        (verified against the server's signed manifest before it is kept)."""
        try:
            update = self.client.check_for_update(
                VERSION, os.environ.get("ACME_CHANNEL", "stable"), **this_platform()
            )
        except LicenseError as exc:
            if not quiet:
                self.say(explain_error(exc))
            return
        if update is None:
            if not quiet:
                self.say(f"{APP} {VERSION} is the newest version your licence includes.")
            return
        self.say(f"A new version is available: {APP} {update.version} ({update.channel}).")
        if update.notes:
            self.say(update.notes)
        if self.ask("Download it now? [y/N] ").strip().lower() in ("y", "yes"):
            self.download(update)

    def download(self, update: Update) -> None:
        folder = Path(os.environ.get("ACME_DOWNLOAD_DIR") or ".")
        name = f"acme-sketch-{update.version}-{update.platform or 'any'}.bin"
        try:
            saved = update.download(folder / name)
        except CertificateInvalid:
            self.say("The download was damaged or altered on the way and was thrown away.")
            return
        except LicenseError as exc:
            self.say(explain_error(exc))
            return
        self.say(f"Saved {saved} (SHA-256 {update.sha256}). Run it to update.")

    def deactivate(self) -> bool:
        answer = self.ask(
            "Deactivate this computer? Its seat becomes free for another computer, and "
            f"{APP} will ask for a licence at the next start. [y/N] "
        )
        if answer.strip().lower() not in ("y", "yes"):
            return False
        try:
            self.client.deactivate()
        except LicenseError as exc:
            self.say(explain_error(exc))
            return False
        self.say(f"This computer is deactivated. Goodbye from {APP}.")
        return True


# ---- what the vendor's build provides ----------------------------------------


def this_platform() -> dict[str, str | None]:
    """The platform and arch names the server's releases use."""
    plat = {"win32": "windows", "darwin": "macos"}.get(sys.platform, "linux")
    machine = platform.machine().lower()
    arch = {"amd64": "x86_64", "x86_64": "x86_64", "arm64": "arm64", "aarch64": "arm64"}
    return {"platform": plat, "arch": arch.get(machine)}


def pinned_keys() -> dict[str, str]:
    """The server's public keys: ACME_PUBLIC_KEYS, else keys.json beside this file
    (the output of ``python -m licclient keys --json``)."""
    text = os.environ.get("ACME_PUBLIC_KEYS", "")
    if text:
        return dict(item.strip().split("=", 1) for item in text.split(",") if "=" in item)
    path = Path(__file__).with_name("keys.json")
    if path.exists():
        data = json.loads(path.read_text())
        keys = data.get("keys", data)
        return {str(k): str(v) for k, v in keys.items()}
    return {}


def make_client() -> LicenseClient:
    return LicenseClient(
        os.environ.get("ACME_LICENSE_SERVER", "http://127.0.0.1:8000"),
        product=os.environ.get("ACME_PRODUCT", "demo-app"),
        public_keys=pinned_keys(),
        state_dir=os.environ.get("ACME_STATE_DIR") or None,
        installation_id=os.environ.get("ACME_INSTALLATION_ID") or None,
        app_version=VERSION,
        retries=int(os.environ.get("ACME_RETRIES", "3")),
    )


def main() -> int:
    if not pinned_keys():
        print(
            "This build has no pinned public keys. Run\n"
            "  python -m licclient keys --server URL --json > examples/desktop_app/keys.json\n"
            "or set ACME_PUBLIC_KEYS=kid=key.",
            file=sys.stderr,
        )
        return 2
    try:
        return SketchApp(make_client()).run()
    except (EOFError, KeyboardInterrupt):
        print()
        return 0


if __name__ == "__main__":
    sys.exit(main())
