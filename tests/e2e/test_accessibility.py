"""axe-core on every page of the portal and the console, in headless Chromium
against a real gunicorn: logged out, as each portal role and as each staff
role. No serious or critical violation, and no serious or critical "needs
review" item unless docs/accessibility.md explains its rule.

The pages come from the Flask url_map (every GET rule of the ``portal`` and
``staff`` blueprints), so a new page is covered as soon as it exists: one
without a visit recipe below (or a reason it is not an HTML page) fails
``test_every_get_page_has_a_recipe``. axe-core is the npm package installed
by ``make axe`` (tests/a11y/package.json), injected into each page from the
file; nothing is fetched from the network."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from licserver.extensions import db
from licserver.models import Order, User
from licserver.runtime import context
from licserver.services import SYSTEM_ORIGIN, demo
from licserver.services import policies as policy_service
from licserver.services import staff as staff_service
from licserver.services.imports import jobs
from licserver.services.stores import integrations
from licserver.services.webhooks import endpoints
from tests.live import LiveServer
from tests.support.browser import CHROMIUM, new_page
from tests.support.console import PASSWORD as STAFF_PASSWORD
from tests.support.console import StaffMaker
from tests.support.portal import PASSWORD, ROLES, Account, AccountMaker

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "tests" / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
EXPLAINED_DOC = ROOT / "docs" / "accessibility.md"
SERIOUS = {"serious", "critical"}

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM) and os.environ.get("CI") != "true",
        reason="chromium is not installed (apt-get install chromium); CI runs these",
    ),
]


@dataclass
class Seed:
    """What the recipes fill the pages' arguments with."""

    account: Account
    license_id: str
    activation_id: str
    user_id: int  # a portal user other than the owner
    order_id: int
    product: str
    policy: str
    webhook: str
    integration: str
    import_job: int


Recipe = Callable[[Seed], str]

# Not HTML pages: what a browser downloads or a page links to.
NOT_PAGES = {
    "portal.static": "static files",
    "staff.static": "static files",
    "staff.charts_css": "the charts' stylesheet",
    "portal.history_csv": "CSV download",
    "portal.download": "a release file's download",
    "staff.import_template": "CSV template download",
}
NOT_PAGES.update({f"staff.{n}_csv": "CSV download" for n in ("audit", "customers", "products")})
NOT_PAGES.update({f"staff.{n}_csv": "CSV download" for n in ("installations", "licenses")})
NOT_PAGES["staff.orders_csv"] = "CSV download"

# Pages seen logged out (each other page, logged out, redirects to its log-in).
ANONYMOUS = {
    "portal.login": lambda s: "/portal/login",
    "portal.forgot": lambda s: "/portal/forgot",
    "portal.invitation": lambda s: "/portal/invitation/not-a-valid-token",
    "portal.reset": lambda s: "/portal/reset/not-a-valid-token",
    "staff.login": lambda s: "/admin/login",
    "staff.login_code": lambda s: "/admin/login/code",
}


def _lic(suffix: str = "") -> Recipe:
    return lambda s: f"/portal/licenses/{s.license_id}{suffix}"


PORTAL: dict[str, Recipe] = {
    "portal.index": lambda s: "/portal/",
    "portal.account": lambda s: "/portal/account",
    "portal.downloads": lambda s: "/portal/downloads",
    "portal.history": lambda s: "/portal/history",
    "portal.licenses": lambda s: "/portal/licenses",
    "portal.license": _lic(),
    "portal.regenerate_password": _lic("/activation-password"),
    "portal.deactivate": _lic("/installations/{a}/deactivate"),
    "portal.reissue_key": _lic("/key"),
    "portal.request_more_form": _lic("/more"),
    "portal.offline_activate": _lic("/offline"),
    "portal.offline_deactivate": _lic("/offline/deactivate"),
    "portal.payments": lambda s: "/portal/payments",
    "portal.invoice": lambda s: f"/portal/payments/{s.order_id}",
    "portal.users": lambda s: "/portal/users",
    "portal.edit_user": lambda s: f"/portal/users/{s.user_id}",
    "portal.remove_user": lambda s: f"/portal/users/{s.user_id}/remove",
    "portal.invite": lambda s: "/portal/users/new",
}

STAFF: dict[str, Recipe] = {
    "staff.index": lambda s: "/admin/",
    "staff.account": lambda s: "/admin/account",
    "staff.change_password": lambda s: "/admin/account/password",
    "staff.audit": lambda s: "/admin/audit",
    "staff.customers": lambda s: "/admin/customers",
    "staff.customer": lambda s: f"/admin/customers/{s.account.number}",
    "staff.new_customer": lambda s: "/admin/customers/new",
    "staff.edit_customer": lambda s: f"/admin/customers/{s.account.number}/edit",
    "staff.new_user": lambda s: f"/admin/customers/{s.account.number}/users/new",
    "staff.edit_user": lambda s: f"/admin/customers/{s.account.number}/users/{s.user_id}",
    "staff.new_order": lambda s: f"/admin/customers/{s.account.number}/orders/new",
    "staff.imports": lambda s: "/admin/imports",
    "staff.import_job": lambda s: f"/admin/imports/{s.import_job}",
    "staff.installations": lambda s: "/admin/installations",
    "staff.integrations": lambda s: "/admin/integrations",
    "staff.integration": lambda s: f"/admin/integrations/{s.integration}",
    "staff.licenses": lambda s: "/admin/licenses?status=active",
    "staff.license": lambda s: f"/admin/licenses/{s.license_id}",
    "staff.edit_license": lambda s: f"/admin/licenses/{s.license_id}/edit",
    "staff.bulk_preview": lambda s: "/admin/licenses/bulk?status=active&action=extend_days&days=30",
    "staff.offline_activate": lambda s: "/admin/offline",
    "staff.offline_deactivate": lambda s: "/admin/offline/deactivate",
    "staff.orders": lambda s: "/admin/orders",
    "staff.policies": lambda s: f"/admin/policies?product={s.product}",
    "staff.policy": lambda s: f"/admin/policies/p/{s.policy}",
    "staff.products": lambda s: "/admin/products",
    "staff.edit_product": lambda s: f"/admin/products/{s.product}/edit",
    "staff.new_product": lambda s: "/admin/products/new",
    "staff.releases": lambda s: f"/admin/releases?product={s.product}",
    "staff.requests_queue": lambda s: "/admin/requests",
    "staff.accounts": lambda s: "/admin/staff",
    "staff.tokens": lambda s: "/admin/tokens",
    "staff.webhooks": lambda s: "/admin/webhooks",
    "staff.webhook": lambda s: f"/admin/webhooks/{s.webhook}",
}


# Pages only a form's POST answers with: the button the test presses after
# checking the recipe's page, to check the answer too (as whoever may press it).
SUBMIT = {"staff.bulk_preview": "#bulk-run"}


def get_pages(app: Flask) -> set[str]:
    """Every GET endpoint of the portal and the console."""
    return {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint.split(".")[0] in ("portal", "staff") and "GET" in (rule.methods or ())
    }


Explained = list[tuple[str, str, str]]


def explained_items() -> Explained:
    """The "needs review" items docs/accessibility.md explains, as (rule id, a
    part of axe's reason, a part of the node's selector): its table's rows
    "| `rule-id` | `reason` | `selector` | ... |"."""
    row = re.compile(r"^\| `([a-z0-9-]+)` \| `([^`]+)` \| `([^`]+)` \|", re.MULTILINE)
    return row.findall(EXPLAINED_DOC.read_text())


def _is_explained(rule: str, node: dict[str, Any], explained: Explained) -> bool:
    """A row matches by rule, a part of the reason, and a part of the selector
    or the element's tag name."""
    parts = {node["tag"], *re.split(r"[ >\[.#:]+", node["target"])}
    return any(rule == r and part in node["why"] and where in parts for r, part, where in explained)


def test_every_get_page_has_a_recipe(app: Flask) -> None:
    known = set(NOT_PAGES) | set(ANONYMOUS) | set(PORTAL) | set(STAFF)
    missing = sorted(get_pages(app) - known)
    assert not missing, f"GET pages without a visit recipe in {__file__}: {missing}"
    gone = sorted(known - get_pages(app))
    assert not gone, f"recipes of pages that no longer exist: {gone}"


def _seed(acc: Account) -> Seed:
    ctx = context()
    lic = acc.licenses[0]
    demo.add_orders(ctx, acc.number, lic.id)
    order_id = db.session.scalars(select(Order.id).order_by(Order.id)).first()
    user_id = db.session.scalars(select(User.id).where(User.email == acc.emails["basic"])).one()
    policy = policy_service.create(
        ctx, SYSTEM_ORIGIN, product=lic.product, name="floating", settings={"model": "floating"}
    )
    hook, _ = endpoints.create(ctx, url="https://hooks.example/in", events=["license.*"])
    integ = integrations.create(ctx, {"provider": "generic", "name": "Web shop"})
    job = jobs.create(ctx, "customers", "old.csv", b"external_id,name,email\n1,A,a@a.test\n", None)
    seed = Seed(
        account=acc,
        license_id=lic.id,
        activation_id=acc.activations[0]["activation_id"],
        user_id=user_id,
        order_id=int(order_id or 0),
        product=lic.product,
        policy=policy.public_id,
        webhook=hook.public_id,
        integration=integ.public_id,
        import_job=job.id,
    )
    db.session.remove()
    return seed


@dataclass
class Finding:
    who: str
    path: str
    kind: str  # violation / needs review
    rule: str
    impact: str
    help: str
    targets: list[str]
    why: str

    def __str__(self) -> str:
        where = ", ".join(self.targets[:3])
        return (
            f"{self.who} {self.path}: {self.kind} {self.rule} ({self.impact}): {self.help} "
            f"[{where}] {self.why}"
        )


AXE_RUN = """async () => {
  const r = await axe.run(document, {resultTypes: ['violations', 'incomplete'], elementRef: true});
  // what axe measured, for the colour rules: ' (fg #000000 on bg #ffffff: 21:1, ...)'
  const seen = (d) => d && d.contrastRatio !== undefined
    ? ` (fg ${d.fgColor} on bg ${d.bgColor}: ${d.contrastRatio}:1, ${d.fontSize})` : '';
  // SVG text (the charts' labels): its fill and the fills of the chart's
  // backgrounds, which axe cannot see behind text in an <svg>
  const paint = (el) => {
    const svg = el && el.closest && el.closest('svg');
    if (!svg || el.localName !== 'text') return null;
    const fill = (e) => getComputedStyle(e).fill;
    return {fill: fill(el), size: getComputedStyle(el).fontSize,
            behind: [...svg.querySelectorAll('.background')].map(fill)};
  };
  const pick = (items) => items.map(i => ({
    rule: i.id, impact: i.impact, help: i.help,
    nodes: i.nodes.map(n => ({impact: n.impact, target: n.target.join(' '),
      tag: n.element ? n.element.localName : '', paint: paint(n.element),
      why: [...n.any, ...n.all, ...n.none].map(c => c.message + seen(c.data)).join('; ')}))}));
  return {violations: pick(r.violations), incomplete: pick(r.incomplete)};
}"""


def _luminance(rgb: str) -> float:
    """WCAG 2 relative luminance of a computed colour, "rgb(52, 64, 84)"."""
    parts = [int(v) / 255 for v in re.findall(r"\d+", rgb)[:3]]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in parts]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(fg: str, bg: str) -> float:
    hi, lo = sorted((_luminance(fg), _luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _svg_text_too_faint(node: dict[str, Any]) -> str | None:
    """For a chart label axe could not judge: why its measured contrast fails
    (under 4.5:1 on one of the chart's backgrounds, or no colours to measure)."""
    paint = node.get("paint")
    if not paint or not paint["behind"] or "rgb(" not in paint["fill"]:
        return None if not paint else f"no colours to measure: {paint}"
    worst = min(contrast(paint["fill"], bg) for bg in paint["behind"])
    if worst < 4.5:
        return f"measured {worst:.2f}:1 ({paint['fill']} on {paint['behind']})"
    return None


TOKEN_RE = re.compile(r'value="[^"]{40,}"|nonce="[^"]*"')


def _check(
    page: Any, base: str, who: str, path: str, explained: Explained, seen: set[str]
) -> list[Finding]:
    if path:  # else: the page the browser is on
        resp = page.goto(base + path)
        assert resp is not None and resp.status < 500, f"{who} {path}: {resp and resp.status}"
    path = path or page.url.removeprefix(base) + " (answer to a POST)"
    html = TOKEN_RE.sub("", page.content())
    if html in seen:  # the same page as another role's (less its tokens): checked
        return []
    seen.add(html)
    result = page.evaluate(AXE_RUN)  # axe is there: an init script of the page's context
    out = []
    for kind, items in (
        ("violation", result["violations"]),
        ("needs review", result["incomplete"]),
    ):
        for item in items:
            nodes = [n for n in item["nodes"] if (n["impact"] or item["impact"]) in SERIOUS]
            if kind == "needs review":
                for n in nodes:
                    faint = _svg_text_too_faint(n)  # explained as fine, measured not fine
                    n["why"] += f"; {faint}" if faint else ""
                    n["ok"] = not faint and _is_explained(item["rule"], n, explained)
                nodes = [n for n in nodes if not n["ok"]]
            if not nodes:
                continue
            impact = nodes[0]["impact"] or item["impact"]
            out.append(
                Finding(
                    who,
                    path,
                    kind,
                    item["rule"],
                    impact,
                    item["help"],
                    [n["target"][:200] for n in nodes],
                    nodes[0]["why"],
                )
            )
    return out


def _login(page: Any, base: str, url: str, login_field: str, login: str, password: str) -> None:
    page.goto(base + url)
    page.fill(login_field, login)
    page.fill("#password", password)
    page.click("button.primary")
    page.wait_for_load_state()
    assert "/login" not in page.url, f"log-in of {login} failed: {page.url}"


def _new_password(page: Any) -> None:
    page.fill("#current", STAFF_PASSWORD)
    page.fill("#password", STAFF_PASSWORD + " anew")
    page.fill("#confirm", STAFF_PASSWORD + " anew")
    page.click("button.primary")
    page.wait_for_load_state()
    assert "Your password is changed" in page.inner_text("body"), "the password was not changed"


def test_every_page_passes_axe(
    live_server: Callable[..., LiveServer],
    make_account: AccountMaker,
    make_staff: StaffMaker,
    chromium: Any,
) -> None:
    if not AXE.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{AXE} is missing: run `make axe` (npm ci in tests/a11y)")
        pytest.skip("axe-core is not installed: make axe")
    server = live_server(workers=2)
    seed = _seed(make_account("acme", activations=1))
    explained = explained_items()
    base = server.url
    findings: list[Finding] = []
    seen: set[str] = set()
    only = re.compile(os.environ.get("AXE_PAGES", ""))  # a regex of endpoints, while fixing
    visits = [("anonymous", None, None, ANONYMOUS)]
    visits += [(f"portal {r}", "/portal/login", seed.account.emails[r], PORTAL) for r in ROLES]
    support = make_staff("support")
    # as an admin creates accounts: a temporary password, changed at the first log-in
    staff_service.set_password(context(), support.public_id, STAFF_PASSWORD, SYSTEM_ORIGIN)
    db.session.remove()
    visits.append(("staff support", "/admin/login", support.email, STAFF))
    visits.append(("staff admin", "/admin/login", make_staff("admin").email, STAFF))
    pressed: set[str] = set()
    for who, login_url, login, recipes in visits:
        page = new_page(chromium, bypass_csp=True)
        # axe-core in every document the page loads, compiled once (a script tag
        # added to each page took 0.1 s: an eighth of this test)
        page.context.add_init_script(path=str(AXE))
        # tall: axe judges the contrast of what is in the viewport only (a form field
        # below the fold is "needs review: partially obscured")
        page.set_viewport_size({"width": 1280, "height": 4000})
        try:
            if login_url == "/portal/login":
                _login(page, base, login_url, "#login", login, PASSWORD)
            elif login_url:
                _login(page, base, login_url, "#email", login, STAFF_PASSWORD)
                if page.url.endswith("/admin/account/password"):  # a temporary password
                    findings += _check(page, base, who, "", explained, seen)
                    _new_password(page)
            for endpoint in sorted(e for e in recipes if only.search(e)):
                path = recipes[endpoint](seed).replace("{a}", seed.activation_id)
                findings += _check(page, base, who, path, explained, seen)
                button = SUBMIT.get(endpoint)
                if button and page.locator(button).count():  # the page a POST answers with
                    pressed.add(endpoint)
                    page.click(button)
                    page.wait_for_load_state()
                    findings += _check(page, base, who, "", explained, seen)
        finally:
            page.context.close()
    assert pressed == {e for e in SUBMIT if only.search(e)}, f"buttons not found: {SUBMIT}"
    assert not findings, f"{len(findings)} serious or critical axe findings:\n" + "\n".join(
        str(f) for f in findings
    )
