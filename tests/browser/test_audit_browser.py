"""The log and users pages in a real browser (CSRF on, as in production): an admin deactivates
a keeper and hands out a token; the supervisor reads the log with the change in words and the
chain intact; the keeper prints the closing slip from the counter. Screenshots at both sizes go
to test-artifacts/."""

from __future__ import annotations

import re

import pytest

from tests import factories
from tests.browser_support import (
    ARTIFACTS,
    VIEWPORTS,
    LiveServer,
    assert_fits,
    browser,  # noqa: F401  (fixture)
    browser_app,
    new_page,
    seeded,
    shoot,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def office(tmp_path):
    app = browser_app(tmp_path)
    with seeded(app):
        sm = factories.supermarket()
        factories.user("keeper1", "keeper", sm, pin="1234", display_name="王店长")
        factories.user("keeper2", "keeper", sm, pin="5678", display_name="陈店长")
        factories.user("admin1", "admin", sm, display_name="李主任")
        factories.user("super1", "supervisor", sm, display_name="赵监督")
        hh = factories.household(sm, head_name="张三丰")
        factories.card(hh)
        factories.product(sm, name="香皂", cost_fen=350, stock_qty=20)
    with LiveServer(app) as server:
        yield {"app": app, "url": server.url}


def shoot_full(page, name: str) -> None:
    """The viewport (as a person first sees it) and the whole page below it."""
    shoot(page, name)
    size = page.viewport_size
    # The page scrolls inside its main area: a tall window shows all of it at once.
    page.set_viewport_size({"width": size["width"], "height": 2400})
    page.screenshot(path=str(ARTIFACTS / f"{name}-full-{size['width']}x{size['height']}.png"))
    page.set_viewport_size(size)


def login(page, url: str, username: str) -> None:
    page.goto(url + "/login?mode=password")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "secret123")
    page.locator("form.password-form button[type=submit]").click()
    page.wait_for_load_state()


@pytest.mark.parametrize("size", VIEWPORTS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_users_then_log_then_closing_slip(browser, office, size):  # noqa: F811
    url = office["url"]
    page = new_page(browser, size)
    login(page, url, "admin1")
    page.goto(url + "/users")
    row = page.locator("tr[data-username=keeper2]")
    row.locator("button", has_text="停用").click()
    page.wait_for_load_state()
    assert "已停用陈店长" in page.inner_text(".audit-msg-info")
    assert "已停用" in page.locator("tr[data-username=keeper2] .user-state").inner_text()
    shoot_full(page, "users-admin")
    assert_fits(page)
    page.locator("tr[data-username=keeper1] input[name=label]").fill("库房平板")
    page.locator("tr[data-username=keeper1] button", has_text="发放令牌").click()
    page.wait_for_load_state()
    token = page.inner_text("#token-value")
    assert re.fullmatch(r"jf_[A-Za-z0-9_-]{20,}", token)
    shoot(page, "users-token")
    page.click("#token-done")
    assert token not in page.content()
    assert page.js_errors == []

    supervisor = new_page(browser, size)
    login(supervisor, url, "super1")
    supervisor.goto(url + "/audit")
    assert "停用用户" in supervisor.inner_text("#log-table")
    assert "完好" in supervisor.inner_text("#chains")
    shoot_full(supervisor, "audit-log")
    supervisor.select_option("#f-action", "token.issue")
    supervisor.click("#f-apply")
    supervisor.wait_for_load_state()
    assert "共1条" in supervisor.inner_text("#log-summary")
    assert "库房平板" in supervisor.inner_text("#log-table")
    supervisor.goto(url + "/users")
    assert "只读" in supervisor.inner_text("#users")
    assert supervisor.locator("#new-user").count() == 0
    shoot_full(supervisor, "users-supervisor")
    assert supervisor.js_errors == []

    keeper = new_page(browser, size)
    login(keeper, url, "keeper1")
    keeper.wait_for_url(url + "/counter")
    keeper.click("#print-closing")
    keeper.wait_for_url(re.compile(r".*/audit/closing/\d+.*"))
    text = keeper.inner_text("#closing-text")
    assert "日结单" in text and "操作日志链头" in text
    shoot(keeper, "closing-slip")
    keeper.click("#back-counter")
    keeper.wait_for_url(url + "/counter")
    assert keeper.js_errors == []
    for p in (page, supervisor, keeper):
        p.context.close()
