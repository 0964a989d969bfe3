"""``python -m licclient``: the SDK from a shell, for support staff.

    python -m licclient keys       --server URL
    python -m licclient activate   --server URL --product CODE --public-key KID=KEY \\
                                   (--license-key KEY | --license-id ID | --customer-number C)
    python -m licclient status     --product CODE --public-key KID=KEY
    python -m licclient checkin    --server URL --product CODE --public-key KID=KEY
    python -m licclient deactivate --server URL --product CODE --public-key KID=KEY

Offline (air-gapped) activation, no server needed on this machine:

    python -m licclient offline-request    --product CODE --public-key KID=KEY \\
                                           (--license-id ID | --license-key KEY)
    python -m licclient import             --product CODE --public-key KID=KEY FILE
    python -m licclient deactivate-offline --product CODE --public-key KID=KEY

The options are the ``LicenseClient``'s: ``--state-dir`` and
``--installation-id`` reach the product's own activation when they match the
product's (by default they do: the same per-user folder and machine). Each may
come from the environment instead: LICCLIENT_SERVER, LICCLIENT_PRODUCT,
LICCLIENT_PUBLIC_KEYS (``kid=key,kid=key``), LICCLIENT_STATE_DIR,
LICCLIENT_INSTALLATION_ID; passwords from LICCLIENT_ACTIVATION_PASSWORD or
LICCLIENT_COMPANY_PASSWORD, else they are asked for.

Exit status: 0 done and licensed; 1 not licensed, or the server refused;
2 wrong usage; 3 the server could not be reached, or asked us to wait.
``--json`` prints one JSON object instead of text.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from licclient._client import LicenseClient, Status
from licclient.errors import LicenseError, RateLimited, ServerUnavailable

EXIT_OK, EXIT_NOT_LICENSED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3

MEANING = {
    "VALID": "licensed",
    "NOT_ACTIVATED": "not activated on this machine",
    "CERTIFICATE_INVALID": "the stored activation is invalid (altered, copied or unreadable); "
    "activate again",
    "CLOCK_TAMPERED": "the system clock is behind the latest time seen; correct it, or check in",
    "LICENSE_REVOKED": "the licence was revoked",
    "LICENSE_SUSPENDED": "the licence is suspended",
    "LICENSE_EXPIRED": "the licence has expired",
    "CHECKIN_REQUIRED": "the offline period is over; check in",
}


class UsageError(Exception):
    pass


def _env(name: str) -> str | None:
    return os.environ.get(f"LICCLIENT_{name}") or None


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--server", default=_env("SERVER"), help="licence server URL")
    common.add_argument("--json", action="store_true", help="print one JSON object")
    common.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    common.add_argument("--retries", type=int, default=3, help="retries of a failed request")

    client = argparse.ArgumentParser(add_help=False, parents=[common])
    client.add_argument("--product", default=_env("PRODUCT"), help="product code")
    client.add_argument(
        "--public-key",
        action="append",
        default=[],
        metavar="KID=KEY",
        help="a pinned public key of the server (repeatable); see the 'keys' command",
    )
    client.add_argument("--state-dir", default=_env("STATE_DIR"), help="the activation's folder")
    client.add_argument("--installation-id", default=_env("INSTALLATION_ID"))

    parser = argparse.ArgumentParser(
        prog="python -m licclient",
        description="Licence activation from the command line ('COMMAND --help' for options).",
        epilog=(
            "environment: LICCLIENT_SERVER, LICCLIENT_PRODUCT, LICCLIENT_PUBLIC_KEYS "
            "(kid=key,kid=key), LICCLIENT_STATE_DIR, LICCLIENT_INSTALLATION_ID, "
            "LICCLIENT_ACTIVATION_PASSWORD, LICCLIENT_COMPANY_PASSWORD. "
            "exit status: 0 licensed or done, 1 not licensed or refused, 2 wrong usage, "
            "3 server unreachable or asking to wait."
        ),
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("keys", parents=[common], help="print the server's public keys")
    activate = sub.add_parser("activate", parents=[client], help="activate this machine")
    creds = activate.add_mutually_exclusive_group(required=True)
    creds.add_argument("--license-key")
    creds.add_argument("--license-id", help="with the activation password")
    creds.add_argument("--customer-number", help="with the company password")
    activate.add_argument("--machine-name", help="default: this computer's name")
    sub.add_parser("status", parents=[client], help="the licence status, offline")
    sub.add_parser("checkin", parents=[client], help="refresh the certificate")
    sub.add_parser("deactivate", parents=[client], help="free this machine's seat")
    sub.add_parser("release", parents=[client], help="give back a floating lease (= deactivate)")
    request = sub.add_parser(
        "offline-request",
        parents=[client],
        help="a request code for activating this machine without a network",
    )
    lic = request.add_mutually_exclusive_group()
    lic.add_argument("--license-id", help="the licence (default: the one active here)")
    lic.add_argument("--license-key", help="the licence, by its key")
    request.add_argument("--machine-name", help="default: this computer's name")
    imp = sub.add_parser(
        "import", parents=[client], help="import the certificate file made for the request"
    )
    imp.add_argument("file", help="the certificate file the portal gave ('-': standard input)")
    sub.add_parser(
        "deactivate-offline",
        parents=[client],
        help="deactivate this machine without a network; prints the code that frees the seat",
    )
    return parser


def _public_keys(values: list[str]) -> dict[str, str]:
    items = list(values)
    if not items and _env("PUBLIC_KEYS"):
        items = [v.strip() for v in (_env("PUBLIC_KEYS") or "").split(",") if v.strip()]
    if not items:
        raise UsageError("give --public-key KID=KEY (python -m licclient keys --server URL)")
    keys: dict[str, str] = {}
    for item in items:
        kid, sep, key = item.partition("=")
        if not sep or not kid or not key:
            raise UsageError(f"--public-key wants KID=KEY, not {item!r}")
        keys[kid] = key
    return keys


def _make_client(args: argparse.Namespace, *, online: bool) -> LicenseClient:
    if not args.product:
        raise UsageError("give --product CODE")
    if online and not args.server:
        raise UsageError("give --server URL")
    try:
        return LicenseClient(
            args.server or "http://offline.invalid",
            product=args.product,
            public_keys=_public_keys(args.public_key),
            state_dir=args.state_dir,
            installation_id=args.installation_id,
            timeout=args.timeout,
            retries=args.retries,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from exc


def _secret(env: str, prompt: str) -> str:
    value = _env(env)
    if value:
        return value
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    return sys.stdin.readline().strip()


def _when(value: datetime | None, now: float) -> str:
    if value is None:
        return "never"
    days = (value.timestamp() - now) / 86400
    rel = f"in {days:.0f} days" if days >= 0 else f"{-days:.0f} days ago"
    return f"{value:%Y-%m-%d %H:%M} UTC ({rel})"


def _status_text(client: LicenseClient, status: Status) -> str:
    now = time.time()
    lines = [
        f"Product:          {client.product}",
        f"Installation ID:  {client.installation_id}",
        f"Status:           {status.code} — {MEANING.get(status.code, status.code)}",
    ]
    if status.license_id:
        lines += [
            f"Licence:          {status.license_id} (customer {status.customer}, "
            f"{status.seats} seats)",
            f"Activation:       {status.activation_id} as {status.machine_name!r}",
            f"Expires:          {_when(status.expires_at, now)}",
            f"Check in before:  {_when(status.offline_until, now)}",
            f"Features:         {', '.join(status.features) or 'none'}",
            f"Model:            {status.model or 'node_locked'}"
            + (
                f", lease until {_when(status.lease_expires_at, now)}"
                if status.lease_expires_at
                else ""
            ),
        ]
        if status.warnings:
            lines.append(f"Warnings:         {', '.join(status.warnings)} (report-only licence)")
    if status.detail:
        lines.append(f"Detail:           {status.detail}")
    return "\n".join(lines)


def _status_json(client: LicenseClient, status: Status) -> dict[str, Any]:
    def iso(v: datetime | None) -> str | None:
        return v.strftime("%Y-%m-%dT%H:%M:%SZ") if v else None

    return {
        "product": client.product,
        "installation_id": client.installation_id,
        "valid": status.valid,
        "code": status.code,
        "license_id": status.license_id,
        "customer": status.customer,
        "seats": status.seats,
        "activation_id": status.activation_id,
        "machine_name": status.machine_name,
        "expires_at": iso(status.expires_at),
        "offline_until": iso(status.offline_until),
        "checked_in_at": iso(status.checked_in_at),
        "features": list(status.features),
        "model": status.model,
        "lease_expires_at": iso(status.lease_expires_at),
        "warnings": list(status.warnings),
        "site_url": status.site_url,
        "detail": status.detail,
    }


def _fetch_keys(args: argparse.Namespace) -> dict[str, str]:
    from licclient._http import Transport

    if not args.server:
        raise UsageError("give --server URL")
    try:
        # nothing pinned yet: this is how the keys to pin are fetched (over HTTPS)
        transport = Transport(
            args.server,
            timeout=args.timeout,
            retries=args.retries,
            user_agent="licclient-cli",
            public_keys=None,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    _, body = transport.request("GET", "/api/v1/keys")
    keys = body.get("keys")
    if not isinstance(keys, list):
        raise ServerUnavailable("The server's answer lists no keys.")
    return {str(k.get("kid")): str(k.get("public_key")) for k in keys if isinstance(k, dict)}


_OFFLINE_COMMANDS = ("status", "offline-request", "import", "deactivate-offline")


def _read_file(name: str) -> str:
    if name == "-":
        return sys.stdin.read(1024 * 1024)
    try:
        with open(name, encoding="utf-8") as fh:
            return fh.read(1024 * 1024)
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {name}: {exc}") from exc


def _run(args: argparse.Namespace) -> tuple[int, str, dict[str, Any]]:
    """(exit status, text, JSON) of a command that did not fail."""
    if args.command == "keys":
        keys = _fetch_keys(args)
        text = "\n".join(f"--public-key {kid}={key}" for kid, key in keys.items())
        return EXIT_OK, text, {"keys": keys}
    client = _make_client(args, online=args.command not in _OFFLINE_COMMANDS)
    if args.command == "activate":
        if args.license_key:
            status = client.activate(license_key=args.license_key, machine_name=args.machine_name)
        elif args.license_id:
            password = _secret("ACTIVATION_PASSWORD", "Activation password: ")
            status = client.activate(
                license_id=args.license_id,
                activation_password=password,
                machine_name=args.machine_name,
            )
        else:
            password = _secret("COMPANY_PASSWORD", "Company password: ")
            status = client.activate(
                customer_number=args.customer_number,
                company_password=password,
                machine_name=args.machine_name,
            )
    elif args.command == "checkin":
        status = client.checkin()
    elif args.command == "offline-request":
        request = client.offline_request(
            license_id=args.license_id,
            license_key=args.license_key,
            machine_name=args.machine_name,
        )
        text = (
            f"Offline request code for {client.product} on installation "
            f"{client.installation_id}.\nPaste it into the licence portal (the licence's page, "
            "'Activate a machine offline'), then import the certificate file you get:\n"
            f"  python -m licclient import FILE\n\n{request}"
        )
        return EXIT_OK, text, {"request_code": request.replace("\n", "")}
    elif args.command == "import":
        status = client.import_certificate(_read_file(args.file))
    elif args.command == "deactivate-offline":
        proof = client.deactivate_offline()
        text = (
            f"This machine's activation of {client.product} is deleted. To free its seat, paste "
            "this code into the licence portal (the licence's page, 'Deactivate a machine "
            f"offline'); it works once:\n\n{proof}"
        )
        return EXIT_OK, text, {"deactivation_code": proof.replace("\n", "")}
    elif args.command in ("deactivate", "release"):
        client.deactivate()
        text = f"Deactivated: the seat of installation {client.installation_id} is free."
        return EXIT_OK, text, {"deactivated": True, "installation_id": client.installation_id}
    else:
        status = client.status()
    code = EXIT_OK if status.valid else EXIT_NOT_LICENSED
    return code, _status_text(client, status), _status_json(client, status)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        code, text, data = _run(args)
    except (UsageError, ValueError) as exc:  # ValueError: arguments the client refused
        print(f"python -m licclient: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except LicenseError as exc:
        code = (
            EXIT_UNREACHABLE
            if isinstance(exc, ServerUnavailable | RateLimited)
            else EXIT_NOT_LICENSED
        )
        if args.json:
            print(
                json.dumps(
                    {
                        "error": type(exc).__name__,
                        "code": exc.code,
                        "status": exc.status,
                        "detail": exc.detail,
                    }
                )
            )
        else:
            label = f" ({exc.code})" if exc.code else ""
            print(f"{type(exc).__name__}{label}: {exc.detail}", file=sys.stderr)
        return code
    print(json.dumps(data) if args.json else text)
    return code


if __name__ == "__main__":
    sys.exit(main())
