"""Every office and counter page on a phone (390×844): the top bar's buttons (退出, English,
日结单 …) and each page's controls stay within a finger's reach. The page never scrolls
sideways (overflow-x is hidden), so a button past the right edge could not be reached at all;
a wide table scrolls inside itself instead.

The demo village is loaded and every page linked from the signed-in user's pages is visited
(one page of each kind: /households/1 stands for every household's page), in Chinese and in
English, whose labels are longer."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

import pytest

from kiosk.demo import DEMO_USERS, load_demo
from tests.browser_support import (
    LiveServer,
    browser,  # noqa: F401  (fixture)
    browser_app,
    new_page,
    out_of_reach,
    seeded,
    shoot,
)

pytestmark = pytest.mark.browser

PHONE = (390, 844)
DOWNLOADS = (".xlsx", ".pdf", ".csv", ".mjpg", "/export")
PASSWORDS = {username: password for username, password, *_ in DEMO_USERS}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    app = browser_app(tmp_path_factory.mktemp("phone"))
    with seeded(app):
        load_demo()
    with LiveServer(app) as server:
        yield server.url


def kind(url: str) -> tuple[str, tuple[str, ...]]:
    """A page's kind: its path with numbers as N, and its query's names (not their values)."""
    parts = urlsplit(url)
    names = tuple(sorted(k for k, _ in parse_qsl(parts.query) if k != "lang"))
    return re.sub(r"\d+", "N", parts.path), names


def sign_in(page, url: str, username: str) -> None:
    page.goto(f"{url}/login?mode=password")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORDS[username])
    page.locator("form.password-form button[type=submit]").click()
    page.wait_for_load_state()
    assert "/login" not in page.url


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("username", ["admin", "keeper"])
def test_every_page_keeps_its_controls_within_reach_on_a_phone(
    browser,  # noqa: F811
    demo,
    username,
    lang,
):
    page = new_page(browser, PHONE)
    sign_in(page, demo, username)
    page.goto(f"{page.url.split('?')[0]}?lang={lang}")
    start = page.url
    seen: set[tuple[str, tuple[str, ...]]] = set()
    todo = [start]
    problems: dict[str, list[str]] = {}
    visited = 0
    while todo:
        url = todo.pop(0)
        if kind(url) in seen:
            continue
        seen.add(kind(url))
        page.goto(url)
        page.wait_for_load_state()
        visited += 1
        assert page.evaluate("document.documentElement.lang").startswith(lang), url
        cut = out_of_reach(page)
        if cut:
            problems[url.removeprefix(demo)] = cut
        for href in page.evaluate("[...document.querySelectorAll('a[href]')].map(a => a.href)"):
            href = href.split("#")[0]
            if (
                href.startswith(demo + "/")
                and "logout" not in href
                and "lang=" not in href
                and not any(d in urlsplit(href).path for d in DOWNLOADS)
                and kind(href) not in seen
            ):
                todo.append(href)
    assert visited >= (20 if username == "admin" else 5), visited
    assert problems == {}
    page.goto(start)
    shoot(page, f"phone-{username}-{lang}")
    assert page.js_errors == []
