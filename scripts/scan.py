"""Outside scanners against the server the README deploys (docs/security.md,
"Outside scanners"): wapiti on the customer portal and the staff console,
logged in as each role, and sqlmap on the client API, the admin API and the
log-in and search forms. Run by hand (~25 minutes; the three ``--only``
parts can run side by side), never by ``make test``:

    .venv/bin/python scripts/scan.py [--only sqlmap|headers|wapiti] [--keep]

Needs Debian's ``wapiti`` and ``sqlmap`` (``apt-get install wapiti sqlmap``).
It makes a temporary instance folder (SQLite, its own keys, ``licserver
init`` + ``licserver demo``, a support staff account), serves it with
gunicorn and the repository's gunicorn.conf.py on a free loopback port, and
prints a Markdown summary of every finding; the scanners' own reports stay in
the temporary folder with ``--keep``. Exit status 1 when a scanner reports a
finding. Rate limits are off for the run (``LICSERVER_RATE_LIMITS=off``):
with them on, the scanners measure the limiter (429s) instead of the code
behind it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SUPPORT = ("support@demo.example", "Sam Support", "demo-support-password")
# wapiti's modules: its defaults without ssrf (it needs wapiti's outside
# endpoint), plus crlf, csrf and methods. Time limits keep a role's scan
# around a minute and a half.
WAPITI_MODULES = (
    "sql,blindsql,xss,permanentxss,exec,file,redirect,crlf,csrf,"
    "cookieflags,csp,http_headers,methods,backup"
)
WAPITI_LIMITS = ["--max-scan-time", "80", "--max-attack-time", "10", "-d", "4"]
SQLMAP_OPTS = [
    "--batch",
    "--ignore-code",
    "400,401,403,404,409,410,422",
    "--level",
    "2",
    "--risk",
    "1",
    "--time-sec",
    "2",
    "--flush-session",
]
# sqlmap's lines worth a look; "heavily dynamic" only says that answers carry
# fresh ids and times (they do), not that anything was found.
SQLMAP_SAYS = re.compile(
    r"is vulnerable|appears to be .*injectable|identified the following injection"
    r"|might be injectable|\[CRITICAL\] (?!target URL content appears to be heavily dynamic)"
)
FINDINGS: list[str] = []
# Debian's wapiti 3.0.4 compiles an -x pattern as `...\Z(?ms)`, which Python
# 3.11 refuses (global flags must come first): every -x crashes it. Run it
# with that one function corrected; the rest is Debian's wapiti unchanged.
WAPITI = [
    "/usr/bin/python3",
    "-c",
    "import re, sys; import wapitiCore.net.crawler as c; "
    "c.wildcard_translate = lambda p: re.compile("
    r"'(?ms)' + '.*'.join(re.escape(x) for x in p.split('*')) + r'\Z'); "
    "from wapitiCore.main.wapiti import wapiti_main; sys.argv[0] = 'wapiti'; "
    "sys.exit(wapiti_main())",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Instance:
    """A temporary instance folder with the demo data, served by gunicorn."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = dict(
            os.environ,
            LICSERVER_INSTANCE_DIR=str(tmp / "instance"),
            LICSERVER_KEYS_DIR=str(tmp / "keys"),
            LICSERVER_PUBLIC_URL=self.base,
            LICSERVER_RATE_LIMITS="off",
        )
        self.server: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [str(BIN / "licserver"), *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout

    def setup(self) -> dict[str, str]:
        self.cli("init")
        demo = self.cli("demo")
        email, name, password = SUPPORT
        self.cli(
            "staff",
            "create",
            "--email",
            email,
            "--name",
            name,
            "--role",
            "support",
            "--password",
            password,
        )
        token = re.search(r"Admin API token \(full scope\):\s+(\S+)", demo)
        lic = re.search(r"Licence (L-\S+): .*activation password (\S+)", demo)
        number = re.search(r"number (C-\w+)", demo)
        admin = re.search(r"admin\s+(\S+@\S+)\s+password (\S+)", demo)
        assert token and lic and number and admin, demo
        return {
            "token": token[1],
            "license_id": lic[1].rstrip(":"),
            "activation_password": lic[2],
            "customer": number[1],
            "staff_admin": admin[1],
            "staff_admin_password": admin[2],
        }

    def start(self) -> None:
        log = open(self.tmp / "gunicorn.log", "wb")  # noqa: SIM115 - closed with the process
        self.server = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "-c",
                "gunicorn.conf.py",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--access-logfile",
                str(self.tmp / "access.log"),
                "licserver:create_app()",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        for _ in range(200):
            try:
                if httpx.get(f"{self.base}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise SystemExit(f"gunicorn did not start; see {self.tmp / 'gunicorn.log'}")

    def stop(self) -> None:
        if self.server is not None:
            self.server.terminate()
            self.server.wait(30)


def _cookies(answer: httpx.Response) -> dict[str, str]:
    # From the Set-Cookie headers themselves: a cookie jar would keep a Secure
    # cookie from an http:// server (the https PUBLIC_URL pass below).
    pairs = (h.split(";", 1)[0].split("=", 1) for h in answer.headers.get_list("set-cookie"))
    return {k.strip(): v for k, v in pairs}


def log_in(base: str, path: str, fields: dict[str, str]) -> str:
    """Log in through the HTML form at ``path``; the Cookie header it earned."""
    with httpx.Client(base_url=base, follow_redirects=False) as c:
        page = c.get(path)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
        assert token, f"no CSRF token on {path}"
        cookies = _cookies(page)
        header = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
        c.cookies.clear()
        answer = c.post(path, data={"csrf_token": token[1], **fields}, headers=header)
        assert answer.status_code in (302, 303), f"log-in at {path} failed: {answer.status_code}"
        cookies.update(_cookies(answer))
        # The page logged in to puts the session's CSRF secret in the cookie;
        # without it every form post a scanner makes would fail its token check.
        header = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
        cookies.update(_cookies(c.get(answer.headers["location"], headers=header)))
        return "; ".join(f"{k}={v}" for k, v in cookies.items())


SECTION = {"vulnerabilities": "vulnerability", "anomalies": "anomaly", "additionals": "note"}


def wapiti(
    inst: Instance, role: str, start: str, cookie: str, modules: str = WAPITI_MODULES
) -> None:
    out = inst.tmp / f"wapiti-{role}.json"
    cmd = [
        *WAPITI,
        "-u",
        f"{inst.base}{start}",
        "--scope",
        "folder",
        "-m",
        modules,
        *WAPITI_LIMITS,
        "-H",
        f"Cookie: {cookie}",
        "-x",
        f"{inst.base}/*logout*",
        "-x",
        f"{inst.base}{start}login*",
        "--flush-session",
        "--store-session",
        str(inst.tmp / "wapiti-session"),
        "-f",
        "json",
        "-o",
        str(out),
        "-v",
        "0",
        "--no-bugreport",
    ]
    print(f"### wapiti, {role}: {start}\n", flush=True)
    began = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    (inst.tmp / f"wapiti-{role.replace(' ', '-')}.log").write_text(done.stdout + done.stderr)
    report = json.loads(out.read_text()) if out.exists() else {}
    print(f"{time.monotonic() - began:.0f} s\n")
    for section in ("vulnerabilities", "anomalies", "additionals"):
        for kind, items in (report.get(section) or {}).items():
            for item in items:
                line = (
                    f"{SECTION[section]}: {kind}: {item.get('method')} {item.get('path')} "
                    f"{item.get('parameter') or ''} - {item.get('info')}"
                )
                print(f"- {line}")
                FINDINGS.append(f"wapiti {role}: {line}")
    print()


def sqlmap(inst: Instance, name: str, url: str, *extra: str) -> None:
    cmd = ["sqlmap", "-u", url, *SQLMAP_OPTS, "--output-dir", str(inst.tmp / "sqlmap"), *extra]
    print(f"### sqlmap, {name}\n", flush=True)
    began = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    text = done.stdout
    (inst.tmp / f"sqlmap-{re.sub(r'[^a-z0-9]+', '-', name.lower())}.log").write_text(text)
    hits = [ln for ln in text.splitlines() if SQLMAP_SAYS.search(ln)]
    clean = "do not appear to be injectable" in text
    print(f"{time.monotonic() - began:.0f} s; {'nothing injectable' if clean else 'see below'}\n")
    # An interim "appears to be injectable" that sqlmap then fails to confirm
    # is a note; a finding is a confirmed injection point or a run that did
    # not come to the verdict "not injectable" (a refused or missing page).
    found = "identified the following injection" in text or not clean
    for ln in hits:
        print(f"- `{ln.strip()}`")
    if found:
        FINDINGS.append(f"sqlmap {name}: " + (hits[-1].strip() if hits else "no verdict"))
    print()


def run_wapiti(inst: Instance, demo: dict[str, str]) -> None:
    # Least privileged first: a later role's scan may remove an earlier one.
    portal = [
        ("company", demo["customer"], "demo-company-password"),
        ("basic", "basic@demo.example", "demo-basic-password"),
        ("technical", "tech@demo.example", "demo-tech-password"),
        ("owner", "owner@demo.example", "demo-owner-password"),
    ]
    for role, login, password in portal:
        cookie = log_in(inst.base, "/portal/login", {"login": login, "password": password})
        wapiti(inst, f"portal {role}", "/portal/", cookie)
    staff = [
        ("support", SUPPORT[0], SUPPORT[2]),
        ("admin", demo["staff_admin"], demo["staff_admin_password"]),
    ]
    for role, email, password in staff:
        cookie = log_in(inst.base, "/admin/login", {"email": email, "password": password})
        wapiti(inst, f"console {role}", "/admin/", cookie)


def run_deployed_headers(inst: Instance, demo: dict[str, str]) -> None:
    """The same server restarted with an https:// PUBLIC_URL, as deployed
    behind TLS: the header and cookie checks again (HSTS and the cookies'
    Secure flag follow PUBLIC_URL; on the loopback http:// of make run they
    are off on purpose, docs/security.md)."""
    inst.stop()
    inst.env["LICSERVER_PUBLIC_URL"] = "https://licserver.example.test"
    inst.start()
    try:
        _headers_pass(inst, demo)
    finally:  # back to make run's settings
        inst.stop()
        inst.env["LICSERVER_PUBLIC_URL"] = inst.base
        inst.start()


def _headers_pass(inst: Instance, demo: dict[str, str]) -> None:
    owner = log_in(
        inst.base,
        "/portal/login",
        {"login": "owner@demo.example", "password": "demo-owner-password"},
    )
    staff = log_in(
        inst.base,
        "/admin/login",
        {"email": demo["staff_admin"], "password": demo["staff_admin_password"]},
    )
    for role, start, cookie in (
        ("portal owner", "/portal/", owner),
        ("console admin", "/admin/", staff),
    ):
        wapiti(
            inst, f"{role}, https PUBLIC_URL", start, cookie, modules="http_headers,cookieflags,csp"
        )


def activate(inst: Instance, demo: dict[str, str]) -> dict[str, str]:
    body = {
        "license_id": demo["license_id"],
        "activation_password": demo["activation_password"],
        "installation_id": "scan-install-0001",
        "machine_name": "SCAN-PC",
    }
    answer = httpx.post(f"{inst.base}/api/v1/activations", json=body)
    answer.raise_for_status()
    return dict(answer.json())


def run_sqlmap(inst: Instance, demo: dict[str, str]) -> None:
    b = inst.base
    json_hdr = "Content-Type: application/json"
    act = activate(inst, demo)
    lic, pw = demo["license_id"], demo["activation_password"]
    sqlmap(
        inst,
        "client API: POST /api/v1/activations",
        f"{b}/api/v1/activations",
        "-H",
        json_hdr,
        "--data",
        json.dumps(
            {
                "license_id": lic,
                "activation_password": pw,
                "installation_id": "scan-install-0002",
                "machine_name": "SCAN",
            }
        ),
    )
    sqlmap(
        inst,
        "client API: POST /api/v1/validate",
        f"{b}/api/v1/validate",
        "-H",
        json_hdr,
        "--data",
        json.dumps({"license_id": lic, "activation_password": pw}),
    )
    sqlmap(
        inst,
        "client API: POST /api/v1/activations/{id}/checkin",
        f"{b}/api/v1/activations/{act['activation_id']}*/checkin",
        "-H",
        json_hdr,
        "--data",
        json.dumps({"activation_token": act["activation_token"]}),
    )
    auth = f"Authorization: Bearer {demo['token']}"
    for path in (
        f"/api/v1/licenses?customer={demo['customer']}&product=demo-app&status=active",
        "/api/v1/activations?machine_name=SCAN-PC&installation_id=scan-install-0001",
        "/api/v1/customers?limit=5&cursor=x",
        f"/api/v1/licenses/{lic}/events?limit=5",
    ):
        sqlmap(inst, f"admin API: GET {path.split('?')[0]}", f"{b}{path}", "-H", auth)
    forms = [
        ("portal log-in form", "/portal/login", "login=nobody%40scan.example&password=x"),
        ("console log-in form", "/admin/login", "email=nobody%40scan.example&password=x"),
    ]
    for name, path, data in forms:
        sqlmap(
            inst,
            name,
            f"{b}{path}",
            "--data",
            f"csrf_token=x&{data}",
            "--csrf-token",
            "csrf_token",
            "--csrf-url",
            f"{b}{path}",
            "-p",
            data.split("=")[0] + "," + "password",
        )
    owner = log_in(
        b, "/portal/login", {"login": "owner@demo.example", "password": "demo-owner-password"}
    )
    sqlmap(
        inst,
        "portal history search (GET /portal/history)",
        f"{b}/portal/history?machine_name=SCAN&installation_id=scan&kind=&since=&until=",
        "--cookie",
        owner,
    )
    staff = log_in(
        b, "/admin/login", {"email": demo["staff_admin"], "password": demo["staff_admin_password"]}
    )
    sqlmap(inst, "console search (GET /admin/?q=)", f"{b}/admin/?q=demo", "--cookie", staff)
    sqlmap(
        inst,
        "console licence list filters",
        f"{b}/admin/licenses?q=demo&status=active&product=demo-app&sort=id",
        "--cookie",
        staff,
    )


def versions() -> str:
    w = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "wapiti"], capture_output=True)
    s = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "sqlmap"], capture_output=True)
    return f"wapiti {w.stdout.decode()}, sqlmap {s.stdout.decode()} (Debian packages)"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", choices=["wapiti", "sqlmap", "headers"])
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args()
    for tool in ("wapiti", "sqlmap"):
        if shutil.which(tool) is None:
            raise SystemExit(f"Error: {tool} is not installed (apt-get install wapiti sqlmap)")
    tmp = Path(tempfile.mkdtemp(prefix="licserver-scan-"))
    inst = Instance(tmp)
    began = time.monotonic()
    try:
        demo = inst.setup()
        inst.start()
        print(f"## Outside scanners, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n")
        print(f"{versions()}; server {inst.base} (gunicorn.conf.py, SQLite)\n")
        # wapiti last: it submits every form it finds with a valid token
        # (users removed, passwords set...); sqlmap and the header pass log in
        # as the demo users first.
        if args.only in (None, "sqlmap"):
            run_sqlmap(inst, demo)
        if args.only in (None, "headers"):
            run_deployed_headers(inst, demo)
        if args.only in (None, "wapiti"):
            run_wapiti(inst, demo)
    finally:
        inst.stop()
        if args.keep:
            print(f"Reports kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"## Summary: {len(FINDINGS)} findings in {time.monotonic() - began:.0f} s\n")
    for f in FINDINGS:
        print(f"- {f}")
    return 1 if FINDINGS else 0


if __name__ == "__main__":
    sys.exit(main())
