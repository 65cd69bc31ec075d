"""Shared Playwright helpers: a real server on a free port, Debian's chromium, screenshots.

Browser tests build their own app on a file SQLite database (the server answers from another
thread), seed it through tests.factories, and drive the pages as a keeper or resident would.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from kiosk.extensions import db
from tests.conftest import make_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
VIEWPORTS = [(1280, 800), (1024, 600)]


class LiveServer:
    """The app served by werkzeug on 127.0.0.1 and a free port, in a background thread."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)


def browser_app(tmp_path: Path, **config: Any) -> Flask:
    """An app on its own SQLite file, as the parametrized fixture would build for sqlite.

    CSRF protection is on, as in production: the pages' forms and their API calls (with the
    ``X-CSRFToken`` header) must carry the token.
    """
    return make_app(SimpleNamespace(), tmp_path, {"WTF_CSRF_ENABLED": True, **config})


@contextmanager
def seeded(app: Flask) -> Iterator[None]:
    """An app context for seeding or checking data; the session is closed on leaving, so the
    server thread never waits on a transaction the test left open."""
    with app.app_context():
        try:
            yield
        finally:
            db.session.remove()


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's chromium, headless, through Playwright's sync API."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def browser(chromium_process: Any) -> Iterator[Any]:
    """The test process's chromium (``chromium_process`` in conftest, started once); the
    pages a module opened are closed after it."""
    yield chromium_process
    for context in chromium_process.contexts:
        context.close()


def new_page(browser: Any, size: tuple[int, int]) -> Any:
    """A fresh browser context (no cookies) with a touchscreen of the given size."""
    context = browser.new_context(
        viewport={"width": size[0], "height": size[1]}, has_touch=True, locale="zh-CN"
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # A script, handler or style the Content-Security-Policy refuses is no exception, only a
    # console message: count it as an error too, so every browser test checks the policy.
    page.on("console", lambda m: "Content Security Policy" in m.text and errors.append(m.text))
    page.js_errors = errors  # type: ignore[attr-defined]
    return page


def shoot(page: Any, name: str) -> None:
    """Save a screenshot under test-artifacts/ (named with the viewport size)."""
    ARTIFACTS.mkdir(exist_ok=True)
    size = page.viewport_size
    page.screenshot(path=str(ARTIFACTS / f"{name}-{size['width']}x{size['height']}.png"))


# Controls a finger cannot reach: shown, but beyond the window's left or right edge and not
# inside something that scrolls sideways (the page itself never does: overflow-x is hidden, so
# the document's width alone cannot tell a cut-off button).
_OUT_OF_REACH = """() => {
  const out = [];
  const controls = 'a[href], button, input:not([type=hidden]), select, textarea, [role=button]';
  for (const e of document.querySelectorAll(controls)) {
    const r = e.getBoundingClientRect();
    if (!r.width || !r.height || getComputedStyle(e).visibility === 'hidden') continue;
    let scrolls = false;
    for (let p = e.parentElement; p && p !== document.body; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX;
      if (o === 'auto' || o === 'scroll') { scrolls = true; break; }
    }
    if (scrolls) continue;
    if (r.right > window.innerWidth + 1 || r.left < -1) {
      const label = (e.textContent || e.value || e.name || '').trim().slice(0, 16);
      out.push(`${e.id || e.tagName.toLowerCase()} "${label}" at ${Math.round(r.left)}–${Math.round(r.right)}px`);
    }
  }
  return out;
}"""


def out_of_reach(page: Any) -> list[str]:
    """The controls shown beyond the window's sides (see ``_OUT_OF_REACH``)."""
    return page.evaluate(_OUT_OF_REACH)


def assert_fits(page: Any) -> None:
    """No horizontal scrolling at this viewport, and every control within reach."""
    scroll_width, inner_width = page.evaluate(
        "[document.documentElement.scrollWidth, window.innerWidth]"
    )
    assert scroll_width <= inner_width, f"page is {scroll_width}px wide in a {inner_width}px window"
    cut = out_of_reach(page)
    assert not cut, f"out of reach in a {inner_width}px window: {cut}"


# Each number and the unit written after it ("1分", "50 pts", "5can") that the browser set on
# two lines inside ``selector``: its letters' boxes sit at more than one height. A price or a
# stock read "…1" at a line's end and "分" below.
_BROKEN_AMOUNTS = r"""selector => {
  const out = [];
  for (const box of document.querySelectorAll(selector)) {
    const walker = document.createTreeWalker(box, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      for (const m of n.data.matchAll(/\d+(?:\.\d+)?(?:[\u4e00-\u9fff]| ?[A-Za-z]+)/g)) {
        const r = document.createRange();
        r.setStart(n, m.index);
        r.setEnd(n, m.index + m[0].length);
        const tops = new Set();
        for (const q of r.getClientRects()) if (q.width > 0) tops.add(Math.round(q.top));
        if (tops.size > 1) out.push(`"${m[0]}" in ${n.parentElement.className}: "${n.data}"`);
      }
    }
  }
  return out;
}"""

# Where a number and its unit are shown: the tiles, the cart's lines, the self-service's goods,
# the decision's facts ("Quota left this period: 150 yuan") and the message banner.
AMOUNTS = ".tile, .cart-line, .goods-item, .decision-facts, #banner-text"


def broken_amounts(page: Any, selector: str = AMOUNTS) -> list[str]:
    """The numbers set apart from their unit on two lines (see ``_BROKEN_AMOUNTS``)."""
    return page.evaluate(_BROKEN_AMOUNTS, selector)


def after_repeat_window(page: Any, repeat_ms: int = 1500) -> None:
    """Wait until the page's own clock is past the scanner's repeat window (``repeatMs`` in
    kiosk/static/js/common.js), counted from now: call it once the last scan has shown on the
    page, and the same code scanned next is taken again.

    The scanner compares the events' timestamps, so this waits on the page's clock, never on
    the test's: a busy machine that delivers the first scan late cannot shorten the gap."""
    since = page.evaluate("() => performance.now()")
    page.wait_for_function("until => performance.now() > until", arg=since + repeat_ms)


def wedge_scan(page: Any, text: str, delay: float = 5) -> None:
    """Type as a USB keyboard-wedge scanner does: fast characters, then Enter.

    The page tells a scan from typing by the key events' timestamps (common.js), so each key
    is stamped ``delay`` ms after the one before, as the scanner sends them, however late a
    busy machine delivers it: the test process's pauses never break a burst in two. A key is
    never stamped ahead of the clock (the page compares its own clock with these stamps)."""
    cdp = page.context.new_cdp_session(page)
    try:
        start = time.time()
        for i, char in enumerate([*text, "\r"]):
            at = start + i * delay / 1000
            time.sleep(max(0.0, at - time.time()))
            name, code, key_code = _KEY_NAMES.get(char) or _char_key(char)
            cdp.send(
                "Input.dispatchKeyEvent",
                {
                    "type": "keyDown",
                    "key": name,
                    "code": code,
                    "windowsVirtualKeyCode": key_code,
                    "text": char,
                    "unmodifiedText": char,
                    "timestamp": at,
                },
            )
            cdp.send(
                "Input.dispatchKeyEvent",
                {
                    "type": "keyUp",
                    "key": name,
                    "code": code,
                    "windowsVirtualKeyCode": key_code,
                    "timestamp": at,
                },
            )
    finally:
        cdp.detach()


_KEY_NAMES = {"\r": ("Enter", "Enter", 13), " ": (" ", "Space", 32)}


def key_pin(page: Any, pin: str) -> None:
    """Key ``pin`` on the PIN page's keypad and log in.

    The keypad is wired by login.js, which runs after the keys are on screen: wait for it to say
    it is ready (a click before then goes nowhere, and the login fails with a short PIN)."""
    page.wait_for_selector("#pin-keypad[data-ready]")
    for digit in pin:
        page.locator(f"#pin-keypad .key[data-key='{digit}']").click()
    page.wait_for_function(
        "n => document.querySelector('#pin-input').value.length === n", arg=len(pin)
    )
    page.locator("#pin-submit").click()


def counter_by_pin(
    browser: Any, url: str, keeper: str, *, lang: str = "zh", size=(1024, 600), pin: str = "1234"
) -> Any:
    """A new page on the counter in ``lang``, ``keeper`` (the name on their tile) logged in by
    PIN, waiting for a card."""
    page = new_page(browser, size)
    page.goto(f"{url}/login?lang={lang}")
    page.get_by_role("link", name=keeper).click()
    key_pin(page, pin)
    page.wait_for_url(url + "/counter")
    page.wait_for_selector("#screen-waiting:visible")
    return page


def _char_key(char: str) -> tuple[str, str, int]:
    """A character's key name, physical key and Windows key code, as a US keyboard sends it."""
    if char.isdigit():
        return char, f"Digit{char}", ord(char)
    if char.isascii() and char.isalpha():
        return char, f"Key{char.upper()}", ord(char.upper())
    return char, "", 0


def nothing_focused(page: Any) -> None:
    page.evaluate("document.activeElement && document.activeElement.blur()")
    assert page.evaluate("document.activeElement === document.body")
