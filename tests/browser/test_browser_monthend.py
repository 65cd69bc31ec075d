"""Month-end close (月结) in a real browser: an admin opens the month to close, ticks the
confirmation, closes it and sees the lock; a keeper sees the report but no close button; the
A4 page prints with its sign-off lines. Screenshots go to test-artifacts/."""

from __future__ import annotations

from datetime import datetime

import pytest

from inventory import periods
from tests import factories
from tests.browser_support import (
    VIEWPORTS,
    LiveServer,
    assert_fits,
    browser,  # noqa: F401  (fixture)
    browser_app,
    new_page,
    seeded,
    shoot,
)
from tests.services.test_monthend import build_books

pytestmark = pytest.mark.browser


@pytest.fixture
def village(tmp_path, monkeypatch):
    """The February–March 2025 books of tests/services/test_monthend.py; the clock says 2 April 2025."""
    factories.pin_clock(monkeypatch, datetime(2025, 4, 2, 9, 0))
    app = browser_app(tmp_path)
    with seeded(app):
        sm = factories.supermarket()
        keeper = factories.user("keeper1", "keeper", sm, pin="1234", display_name="王店长")
        admin = factories.user("admin1", "admin", sm, display_name="李主任")
        build_books(sm, keeper, admin)
        sm_id = sm.id
    with LiveServer(app) as server:
        yield {"app": app, "url": server.url, "sm_id": sm_id}


def login(page, url: str, username: str) -> None:
    page.goto(url + "/login?mode=password")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "secret123")
    page.locator("form.password-form button[type=submit]").click()
    page.wait_for_url(url + ("/counter" if username.startswith("keeper") else "/home"))


@pytest.mark.parametrize("size", VIEWPORTS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_admin_closes_february_and_sees_the_lock(browser, village, size):  # noqa: F811
    url = village["url"]
    page = new_page(browser, size)
    login(page, url, "admin1")
    page.goto(url + "/month-end/")
    assert page.locator(".office-nav [aria-current=page]").inner_text() == "月结"
    assert "下一个要结账的月份：2025-02" in page.locator("#me-next").inner_text()
    assert_fits(page)
    shoot(page, "monthend-index")
    page.locator("#open-next").click()
    page.wait_for_url(url + "/month-end/2025-02")
    assert "未结账（预览）" in page.locator("#me-state").inner_text()
    shoot(page, "monthend-report-open")
    assert_fits(page)
    # The close needs the confirmation ticked: the browser will not send the form without it.
    page.locator("#me-close").click()
    assert page.url == url + "/month-end/2025-02"
    with seeded(village["app"]):
        assert not periods.is_closed(village["sm_id"], "2025-02")
    page.locator("#me-confirm").check()
    page.locator("#me-close").click()
    page.wait_for_selector(".me-msg-ok")
    assert "2025-02 已结账" in page.locator(".me-msg-ok").inner_text()
    state = page.locator("#me-state").inner_text()
    assert state.startswith("已结账") and "李主任" in state
    assert page.locator("#me-close").count() == 0
    with seeded(village["app"]):
        assert periods.is_closed(village["sm_id"], "2025-02")
    shoot(page, "monthend-report-closed")
    page.locator("#back-to-months").click()
    row = page.locator("#me-months tr[data-month='2025-02']")
    assert "已结账" in row.inner_text() and "李主任" in row.inner_text()
    assert "下一个要结账的月份：2025-03" in page.locator("#me-next").inner_text()
    shoot(page, "monthend-index-after-close")
    assert page.js_errors == []


def test_keeper_sees_no_close_and_the_a4_page_prints(browser, village):  # noqa: F811
    url = village["url"]
    page = new_page(browser, (1280, 800))
    login(page, url, "keeper1")
    page.goto(url + "/month-end/2025-03")
    assert page.locator("#me-close").count() == 0
    assert "月份要按顺序结账" in page.locator("#me-refusals").inner_text()
    shoot(page, "monthend-report-keeper")
    page.screenshot(path=str(_artifact("monthend-report-keeper-full.png")), full_page=True)
    assert_fits(page)
    # The A4 page, as the printer sees it: sign-off lines, no buttons.
    page.goto(url + "/month-end/2025-03/print")
    page.emulate_media(media="print")
    assert page.locator("#me-print-now").is_hidden()
    assert page.locator(".me-sign-line").count() == 3
    page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
    page.screenshot(path=str(_artifact("monthend-a4-print.png")), full_page=True)
    pdf = page.pdf(format="A4", print_background=True)
    assert pdf.startswith(b"%PDF") and _pages(pdf) == 1
    assert page.js_errors == []


def _artifact(name: str):
    from tests.browser_support import ARTIFACTS

    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name


def _pages(pdf: bytes) -> int:
    return pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages")
