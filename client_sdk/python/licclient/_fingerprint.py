"""The installation ID: one per machine and product, stable across restarts,
updates and reinstalls of the product.

It is ``HMAC-SHA256(key=machine identity, msg="licclient/installation-id/v1:" +
product code)``, the first 40 hex digits — the scheme systemd recommends for
application-specific machine IDs. The raw machine identity never leaves the
machine and two products on one machine get unrelated IDs.

The machine identity is the operating system's:

- Linux: ``/etc/machine-id``, else ``/var/lib/dbus/machine-id``;
- Windows: ``HKLM\\SOFTWARE\\Microsoft\\Cryptography\\MachineGuid``;
- macOS: ``IOPlatformUUID`` (``ioreg``).

What changes it: reinstalling the operating system, regenerating the machine
ID (``systemd-machine-id-setup``, cloning a VM image then resetting it),
another product code. What does not: restarts, reinstalling or updating the
product, another hostname, another user account on the same machine (users
share the ID, so one machine takes one seat however many users activate it).

Without any of those (minimal containers), a random identity is created once in
``state_dir/machine-id`` and used the same way; it lasts as long as that
folder. Containers and tests should pass ``installation_id=`` instead.
"""

from __future__ import annotations

import hmac
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

INSTALLATION_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
MACHINE_ID_FILES = (Path("/etc/machine-id"), Path("/var/lib/dbus/machine-id"))
FALLBACK_FILE = "machine-id"
_DOMAIN = b"licclient/installation-id/v1:"


def derive_installation_id(machine_identity: str, product: str) -> str:
    mac = hmac.new(machine_identity.encode("utf-8"), _DOMAIN + product.encode("utf-8"), "sha256")
    return mac.hexdigest()[:40]


def _usable(text: str) -> str | None:
    text = text.strip()
    # systemd writes "uninitialized" during first boot; all zeros is no identity either
    if not text or text == "uninitialized" or set(text) <= {"0", "-"}:
        return None
    return text


def _from_files(files: tuple[Path, ...]) -> str | None:
    for path in files:
        try:
            found = _usable(path.read_text(encoding="ascii", errors="replace"))
        except OSError:
            continue
        if found:
            return found
    return None


def _windows_machine_guid() -> str | None:
    if sys.platform != "win32":
        return None
    import winreg

    try:
        with winreg.OpenKey(
            winreg.HKEY_LOCAL_MACHINE,
            r"SOFTWARE\Microsoft\Cryptography",
            0,
            winreg.KEY_READ | winreg.KEY_WOW64_64KEY,
        ) as key:
            value, _ = winreg.QueryValueEx(key, "MachineGuid")
    except OSError:
        return None
    return _usable(str(value))


def _macos_platform_uuid() -> str | None:
    try:
        out = subprocess.run(
            ["/usr/sbin/ioreg", "-rd1", "-c", "IOPlatformExpertDevice"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r'"IOPlatformUUID"\s*=\s*"([^"]+)"', out)
    return _usable(found.group(1)) if found else None


def machine_identity(files: tuple[Path, ...] = MACHINE_ID_FILES) -> str | None:
    """The operating system's identity of this machine, or None if it has none."""
    if sys.platform == "win32":
        return _windows_machine_guid()
    if sys.platform == "darwin":
        return _macos_platform_uuid()
    return _from_files(files)


def _fallback_identity(state_dir: Path) -> str:
    path = state_dir / FALLBACK_FILE
    for _ in range(2):
        found = _from_files((path,))
        if found:
            return found
        state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue  # another process made it first: read theirs
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_hex(16) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
    found = _from_files((path,))
    if not found:
        raise OSError(f"{path} holds no usable machine identity")
    return found


def installation_id(product: str, state_dir: Path) -> str:
    """This machine's installation ID for ``product``."""
    identity = machine_identity() or _fallback_identity(state_dir)
    return derive_installation_id(identity, product)


# ---- secondary identifiers (fingerprint continuity) ---------------------------
# Sent with an activation so that the server can recognise this machine when its
# installation ID changes (an OS reinstall regenerates /etc/machine-id, a BIOS
# update the platform UUID) and move its activation instead of taking a seat.
# Each is an HMAC of the raw value keyed like the installation ID (per product),
# so the raw hostname, serial and MAC never leave the machine.
_SECONDARY = b"licclient/secondary/v1:"
DMI_FILES = (Path("/sys/class/dmi/id/product_uuid"), Path("/sys/class/dmi/id/board_serial"))


def _digest(kind: str, raw: str, product: str) -> str:
    msg = _SECONDARY + product.encode("utf-8") + b":" + kind.encode("ascii")
    return hmac.new(raw.encode("utf-8"), msg, "sha256").hexdigest()[:40]


def _real_mac() -> str | None:
    import uuid

    node = uuid.getnode()
    # A random node (no readable MAC) has the multicast bit set (RFC 4122).
    if node >> 40 & 1:
        return None
    return f"{node:012x}"


def secondary_identifiers(product: str) -> dict[str, str]:
    """Hashes of the hostname, a hardware serial (where readable without
    privileges) and the primary MAC: those the platform offers cheaply."""
    import socket

    raw: dict[str, str | None] = {
        "hostname": (socket.gethostname() or "").strip().lower() or None,
        "hardware": _from_files(DMI_FILES) if sys.platform.startswith("linux") else None,
        "mac": _real_mac(),
    }
    return {k: _digest(k, v, product) for k, v in raw.items() if v and _usable(v)}


# ---- licensed sites --------------------------------------------------------------
# The same normalisation as the server's (licserver.domain.policy.normalise_site),
# so a client knows its site's installation ID before it asks.
_PORTS = {"http": 80, "https": 443}


def normalise_site(url: str) -> str:
    """The canonical form of a site URL: lower-case scheme and host (IDNA), no
    default port, user info, query or fragment, no trailing slash. ValueError
    for what is not an http(s) URL with a host."""
    import ipaddress
    from urllib.parse import urlsplit

    if not isinstance(url, str) or not url.strip() or len(url) > 2048:
        raise ValueError("site_url: an http:// or https:// URL of at most 2048 characters")
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in _PORTS:
        raise ValueError("site_url: an http:// or https:// URL")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        raise ValueError("site_url: the port is not a number from 0 to 65535") from None
    if not host:
        raise ValueError("site_url: the URL needs a host")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        host = host.rstrip(".").encode("idna").decode("ascii")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    path = re.sub(r"/{2,}", "/", parts.path or "/")
    if len(path) > 1:
        path = path.rstrip("/")
    return f"{scheme}://{netloc}{path}"


def site_installation_id(normalised: str) -> str:
    import hashlib

    return "site:" + hashlib.sha256(normalised.encode()).hexdigest()[:40]
