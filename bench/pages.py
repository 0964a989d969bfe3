"""The console's pages through gunicorn, for ``make bench`` (bench/run.py):
the dashboard and the filtered licence list, timed on each data set so that
the 1M set can be held against the small one (issue 14: within 3×).

A staff account is made with ``licserver staff create``; a client logs in
through the form (its CSRF token, the session cookie) and GETs each page one
request at a time, the median of ``runs`` requests kept (after one untimed
request: the first read of a page fills the worker's caches and, for the
dashboard, may take the stored figures)."""

from __future__ import annotations

import re
import statistics
import subprocess
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

EMAIL = "bench@vendor.example"
PASSWORD = "bench staff password"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@dataclass(frozen=True)
class Page:
    name: str
    title: str
    path: str


def pages(product_code: str) -> list[Page]:
    """The timed pages; ``product_code`` is a product of the small set (on the
    large set it has the same licences: the filter must find them among 1M)."""
    return [
        Page("dashboard", "console dashboard (/admin/)", "/admin/"),
        Page(
            "licences_active",
            "licence list, status active (matches nearly all)",
            "/admin/licenses?status=active",
        ),
        Page(
            "licences_product",
            f"licence list, status active, product {product_code}",
            f"/admin/licenses?status=active&product={urllib.parse.quote(product_code)}",
        ),
    ]


def make_staff(licserver: Path, env: dict[str, str], cwd: Path) -> None:
    subprocess.run(
        [str(licserver), "staff", "create", "--email", EMAIL, "--name", "Bench"]
        + ["--role", "admin", "--password", PASSWORD],
        env=env,
        cwd=cwd,
        check=True,
        capture_output=True,
    )


class Client:
    """Just enough of a browser: cookies by name, a same-origin Referer."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies: dict[str, str] = {}
        no_redirects = urllib.request.HTTPRedirectHandler()
        no_redirects.redirect_request = lambda *a, **k: None  # type: ignore[method-assign]
        self.opener = urllib.request.build_opener(no_redirects)

    def request(self, path: str, form: dict[str, str] | None = None) -> tuple[int, str]:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        req = urllib.request.Request(self.base + path, data=data)
        req.add_header("Referer", self.base + path)
        if self.cookies:
            req.add_header("Cookie", "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        try:
            resp = self.opener.open(req, timeout=120)
        except urllib.error.HTTPError as exc:  # 3xx without a redirect handler, 4xx, 5xx
            resp = exc
        with resp:
            for header in resp.headers.get_all("Set-Cookie") or []:
                name, _, rest = header.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
            return resp.status, resp.read().decode(errors="replace")

    def login(self) -> None:
        status, body = self.request("/admin/login")
        found = CSRF_RE.search(body)
        if status != 200 or not found:
            raise RuntimeError(f"no log-in form at /admin/login ({status})")
        status, body = self.request(
            "/admin/login", {"csrf_token": found.group(1), "email": EMAIL, "password": PASSWORD}
        )
        if status != 302:
            raise RuntimeError(f"staff log-in refused ({status}): {body[:500]}")


def time_pages(base: str, product_code: str, runs: int) -> dict[str, float]:
    """Median milliseconds of each page, its requests taken in rounds."""
    client = Client(base)
    client.login()
    todo = pages(product_code)
    times: dict[str, list[float]] = {p.name: [] for p in todo}
    for n in range(runs + 1):
        for p in todo:
            started = time.perf_counter()
            status, body = client.request(p.path)
            took = (time.perf_counter() - started) * 1000
            if status != 200:
                raise RuntimeError(f"GET {p.path}: {status}\n{body[:1000]}")
            if n:  # the first round warms up
                times[p.name].append(took)
    return {name: statistics.median(ms) for name, ms in times.items()}
