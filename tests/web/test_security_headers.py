"""Security headers on every answer (pages, the API, static files, error pages), and a strict
Content-Security-Policy that every page keeps: no inline script or event handler, no
``javascript:`` URL, no ``eval``, no inline style.

The browser tests load the demo village and open every page kind as admin, keeper and
supervisor in Debian's chromium; any Content-Security-Policy violation (a console message or a
``securitypolicyviolation`` event) fails them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from inventory import stocktake
from inventory.models import Donation, Donor, MonthClose, StockIn
from kiosk import imports
from kiosk.demo import DEMO_USERS, load_demo
from kiosk.extensions import db
from kiosk.models import IMPORT_HOUSEHOLDS, NOTICE_PUBLISHED, Household, Notice, Objection, User
from kiosk.web.headers import CONTENT_SECURITY_POLICY
from tests.browser_support import (
    LiveServer,
    browser,  # noqa: F401  (fixture)
    browser_app,
    new_page,
    seeded,
    shoot,
)

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
SCRIPTS = ROOT / "kiosk" / "static" / "js"


def csp_directives(value: str) -> dict[str, list[str]]:
    """A Content-Security-Policy header as {directive: [sources]}."""
    out: dict[str, list[str]] = {}
    for part in value.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


def assert_secure(response) -> None:
    """The headers every answer carries, whatever its kind or status."""
    headers = {name.lower(): value for name, value in dict(response.headers).items()}
    assert headers.get("x-content-type-options") == "nosniff"
    assert headers.get("x-frame-options") == "DENY"
    assert headers.get("referrer-policy") in ("same-origin", "no-referrer")
    csp = csp_directives(headers.get("content-security-policy", ""))
    assert csp.get("default-src") == ["'self'"]
    assert csp.get("script-src") == ["'self'"]
    assert csp.get("style-src") == ["'self'"]
    assert csp.get("object-src") == ["'none'"]
    assert csp.get("frame-ancestors") == ["'none'"]
    assert csp.get("base-uri") == ["'self'"]
    assert csp.get("form-action") == ["'self'"]
    assert csp.get("connect-src") == ["'self'"]


def login(client, username: str, password: str = "secret123"):
    return client.post("/login/password", data={"username": username, "password": password})


# -- every kind of answer --------------------------------------------------------------------


def test_a_page_carries_the_security_headers(client, admin):
    login(client, "admin1")
    response = client.get("/households")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert_secure(response)


def test_the_login_page_carries_them_before_anyone_signs_in(client, supermarket):
    response = client.get("/login")
    assert response.status_code == 200
    assert_secure(response)


def test_an_api_answer_carries_them(client, supermarket):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert_secure(response)
    refused = client.get("/api/v1/households")
    assert refused.status_code == 401
    assert refused.is_json
    assert_secure(refused)


def test_a_static_file_carries_them(client, supermarket):
    response = client.get("/static/js/common.js")
    assert response.status_code == 200
    assert response.mimetype in ("text/javascript", "application/javascript")
    assert_secure(response)
    response.close()


def test_a_404_page_carries_them(client, supermarket):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert_secure(response)
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404
    assert_secure(api)


def test_an_error_page_carries_them(app, client, supermarket, monkeypatch):
    def broken():
        raise RuntimeError("a bug in a view")

    monkeypatch.setitem(app.view_functions, "auth.login", broken)
    response = client.get("/login")
    assert response.status_code == 500
    assert "系统出错了" in response.get_data(as_text=True)
    assert_secure(response)


def test_a_view_may_keep_its_own_header(app, client, supermarket, monkeypatch):
    """The headers are defaults: a view that needs another value for one keeps it."""
    from flask import make_response

    def framed():
        response = make_response("ok")
        response.headers["X-Frame-Options"] = "SAMEORIGIN"
        return response

    monkeypatch.setitem(app.view_functions, "auth.login", framed)
    response = client.get("/login")
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_policy_allows_no_inline_script_and_no_eval():
    csp = csp_directives(CONTENT_SECURITY_POLICY)
    for directive in ("default-src", "script-src", "style-src"):
        assert "'unsafe-inline'" not in csp[directive]
        assert "'unsafe-eval'" not in csp[directive]
        assert "*" not in csp[directive]
    assert csp["img-src"] == ["'self'", "data:", "blob:"]
    assert csp["media-src"] == ["'self'", "blob:"]


# -- what the pages are made of (the policy would refuse these in a browser) -----------------

_SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.I)
_EVENT_HANDLER = re.compile(r"<[a-zA-Z][^>]*?\son[a-z]+\s*=", re.S)


def _templates() -> list[Path]:
    return sorted(TEMPLATES.rglob("*.html"))


def test_templates_have_no_inline_script():
    found = []
    for path in _templates():
        for match in _SCRIPT_TAG.finditer(path.read_text(encoding="utf-8")):
            attrs = match.group(1)
            if "src=" not in attrs and 'type="application/json"' not in attrs:
                found.append(f"{path.relative_to(ROOT)}: {match.group(0)}")
    assert found == []


@pytest.mark.parametrize(
    "pattern,what",
    [
        (_EVENT_HANDLER, "inline event handler"),
        (re.compile(r"javascript:", re.I), "javascript: URL"),
        (re.compile(r"\sstyle\s*=", re.I), "inline style attribute"),
        (re.compile(r"<style\b", re.I), "inline style block"),
    ],
)
def test_templates_have_nothing_the_policy_refuses(pattern, what):
    found = [
        f"{path.relative_to(ROOT)}: {match.group(0)[-60:]}"
        for path in _templates()
        for match in pattern.finditer(path.read_text(encoding="utf-8"))
    ]
    assert found == [], what


@pytest.mark.parametrize(
    "pattern,what",
    [
        (re.compile(r"\beval\s*\("), "eval"),
        (re.compile(r"new\s+Function\b"), "new Function"),
        (re.compile(r"set(Timeout|Interval)\s*\(\s*['\"`]"), "code in a string"),
        (re.compile(r"javascript:", re.I), "javascript: URL"),
        (re.compile(r"setAttribute\(\s*['\"]style['\"]|cssText|\sstyle=", re.I), "inline style"),
        (re.compile(r"setAttribute\(\s*['\"]on[a-z]+['\"]", re.I), "inline event handler"),
    ],
)
def test_scripts_use_nothing_the_policy_refuses(pattern, what):
    found = [
        f"{path.relative_to(ROOT)}: {match.group(0)}"
        for path in sorted(SCRIPTS.glob("*.js"))
        for match in pattern.finditer(path.read_text(encoding="utf-8"))
    ]
    assert found == [], what


# -- every page kind in a real browser -------------------------------------------------------

PASSWORDS = {username: password for username, password, *_ in DEMO_USERS}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo village with a count in progress and a previewed import, served on a free port."""
    app = browser_app(tmp_path_factory.mktemp("csp"))
    with seeded(app):
        load_demo(households_count=8)
        admin = db.session.scalar(sa.select(User).where(User.username == "admin"))
        sm_id = admin.supermarket_id
        count = stocktake.start_count(sm_id, actor=admin, note="CSP")
        batch, _ = imports.preview_import(
            sm_id,
            IMPORT_HOUSEHOLDS,
            "households.xlsx",
            imports.template_bytes(IMPORT_HOUSEHOLDS),
            actor=admin,
        )

        def first(column, *where):
            return db.session.scalar(sa.select(sa.func.min(column)).where(*where))

        ids = {
            "household": first(Household.id),
            "notice": first(Notice.id, Notice.status == NOTICE_PUBLISHED),
            "objection": first(Objection.id),
            "stock_in": first(StockIn.id),
            "donation": first(Donation.id),
            "donor": first(Donor.id),
            "month": first(MonthClose.month),
            "count": count.id,
            "batch": batch.id,
        }
    assert all(ids.values()), ids
    with LiveServer(app) as server:
        yield {"url": server.url, "ids": ids}


# One of each page kind, and the error pages.
PAGES = [
    "/counter",
    "/self",
    "/scanner/tablet",
    "/households",
    "/households/{household}",
    "/households/new",
    "/households/{household}/edit",
    "/intake",
    "/intake/import",
    "/intake/import/{batch}",
    "/intake/standards",
    "/notice/",
    "/notice/{notice}",
    "/notice/{notice}/print",
    "/notice/screen",
    "/notice/objections",
    "/notice/objections/{objection}",
    "/stock/in",
    "/stock/in/{stock_in}",
    "/stock/adjustments",
    "/stock/ledgers",
    "/fund",
    "/fund/donations",
    "/fund/donations/{donation}",
    "/fund/donations/new",
    "/fund/donors",
    "/fund/donors/{donor}",
    "/fund/public",
    "/fund/ledger",
    "/stocktake",
    "/stocktake/new",
    "/stocktake/{count}/count",
    "/stocktake/{count}",
    "/month-end/",
    "/month-end/{month}",
    "/month-end/{month}/print",
    "/audit",
    "/users",
    "/admin",
    "/admin/policy",
    "/admin/assessments",
    "/admin/vetoes",
    "/admin/preview",
    "/admin/printer",
    "/device",
]

_OFFICE_ONLY = {p for p in PAGES if p.startswith(("/households", "/intake", "/notice/", "/audit"))}
_ADMIN_ONLY = {p for p in PAGES if p.startswith(("/users", "/admin"))} - {"/admin/printer"}
_WRITERS_ONLY = {"/counter", "/scanner/tablet", "/households/new", "/households/{household}/edit"}
_WRITERS_ONLY |= {"/fund/donations/new", "/stocktake/new", "/stocktake/{count}/count"}

# The pages each role opens (200); the error pages (404, and a 403 for a page the role may not
# open) are visited by every role, as their pages differ by who is signed in.
OPENS = {
    "admin": PAGES,
    "keeper": [p for p in PAGES if p not in _OFFICE_ONLY | _ADMIN_ONLY or p == "/notice/screen"],
    "supervisor": [p for p in PAGES if p not in _WRITERS_ONLY],
}
FORBIDDEN = {"admin": [], "keeper": ["/audit"], "supervisor": ["/counter"]}

_REPORT_VIOLATIONS = """
document.addEventListener('securitypolicyviolation', (e) => {
  window.__jifenCspViolation(
    `${e.violatedDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}`
  );
});
"""


def watch_csp(page) -> list[str]:
    """Every Content-Security-Policy violation on this page from now on, as text."""
    violations: list[str] = []

    def on_console(message) -> None:
        if "Content Security Policy" in message.text:
            violations.append(f"console: {message.text}")

    page.on("console", on_console)
    page.expose_function("__jifenCspViolation", lambda text: violations.append(f"event: {text}"))
    page.add_init_script(_REPORT_VIOLATIONS)
    return violations


def sign_in(page, url: str, username: str) -> None:
    page.goto(f"{url}/login?mode=password")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORDS[username])
    page.locator("form.password-form button[type=submit]").click()
    page.wait_for_load_state()
    assert "/login" not in page.url


def settle(page) -> None:
    """Wait until the page has loaded and its scripts have run their first turn."""
    page.wait_for_load_state("load")
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => setTimeout(done)))")


@pytest.mark.browser
@pytest.mark.parametrize("username", ["admin", "keeper", "supervisor"])
def test_every_page_kind_keeps_the_policy(browser, demo, username):  # noqa: F811
    url, ids = demo["url"], demo["ids"]
    page = new_page(browser, (1280, 800))
    violations = watch_csp(page)
    sign_in(page, url, username)
    expected = dict.fromkeys(OPENS[username], 200)
    expected.update(dict.fromkeys(FORBIDDEN[username], 403))
    expected["/no-such-page"] = 404
    answered = {}
    for path in expected:
        response = page.goto(url + path.format(**ids))
        settle(page)
        assert response is not None
        assert_secure(response)
        answered[path] = response.status
        assert violations == [], path
    assert answered == expected
    assert page.js_errors == []
    page.context.close()


@pytest.mark.browser
def test_the_watch_sees_an_inline_script_and_an_inline_style(browser, demo):  # noqa: F811
    """The policy is enforced, and the watch above reports what it refuses."""
    page = new_page(browser, (1280, 800))
    violations = watch_csp(page)
    page.goto(demo["url"] + "/login")
    settle(page)
    assert violations == []
    page.evaluate(
        """() => {
          const s = document.createElement('script');
          s.textContent = 'window.__inlineRan = true';
          document.body.append(s);
        }"""
    )
    page.evaluate("() => document.body.setAttribute('style', 'background: red')")
    settle(page)
    assert page.evaluate("window.__inlineRan === undefined")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") != "rgb(255, 0, 0)"
    assert any("script-src" in v for v in violations), violations
    assert any("style-src" in v for v in violations), violations
    page.context.close()


@pytest.mark.browser
def test_the_month_end_print_button_prints(browser, demo):  # noqa: F811
    """The A4 page's print button, once an inline onclick, now wired from monthend.js."""
    page = new_page(browser, (1280, 800))
    violations = watch_csp(page)
    sign_in(page, demo["url"], "admin")
    page.goto(demo["url"] + "/month-end/{month}/print".format(**demo["ids"]))
    settle(page)
    page.evaluate(
        "() => { window.__printed = 0; window.print = () => { window.__printed += 1; }; }"
    )
    page.locator("#me-print-now").click()
    page.wait_for_function("() => window.__printed === 1")
    shoot(page, "csp-monthend-print")
    assert violations == []
    assert page.js_errors == []
    page.context.close()


@pytest.mark.browser
def test_the_error_page_goes_back(browser, demo):  # noqa: F811
    """The error page's 返回上一页, once a javascript: link, goes back one step."""
    url = demo["url"]
    page = new_page(browser, (1280, 800))
    violations = watch_csp(page)
    sign_in(page, url, "supervisor")
    page.goto(url + "/notice/")
    response = page.goto(url + "/counter")
    assert response.status == 403
    shoot(page, "csp-error-page")
    page.locator("#error-back").click()
    page.wait_for_url(url + "/notice/")
    assert violations == []
    assert page.js_errors == []
    page.context.close()
