"""Resident self-service in a real browser: a wedge scan shows this household only, and the
screen wipes itself after the idle time."""

from __future__ import annotations

import pytest

from tests import factories
from tests.browser_support import (
    VIEWPORTS,
    LiveServer,
    assert_fits,
    browser,  # noqa: F401  (fixture)
    browser_app,
    new_page,
    nothing_focused,
    seeded,
    shoot,
    wedge_scan,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def village(tmp_path):
    app = browser_app(tmp_path, JIFEN_SELF_SERVICE_IDLE_SECONDS=2)
    with seeded(app):
        sm = factories.supermarket()
        mine = factories.household(sm, points=80, head_name="欧阳娜娜", number="DC-007")
        factories.points_award(mine, 15, reason="门前三包检查优秀")
        other = factories.household(sm, points=300, head_name="王大锤", number="DC-008")
        _, my_card = factories.card(mine)
        factories.card(other)
        factories.product(sm, name="金龙鱼大米5kg", cost_fen=2500, stock_qty=10, category="粮油")
        factories.product(sm, name="电饭煲", cost_fen=19900, stock_qty=2, category="家电")
    with LiveServer(app) as server:
        yield {"url": server.url, "card": my_card}


@pytest.mark.parametrize("size", VIEWPORTS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_self_service_scan_then_idle_clear(browser, village, size):  # noqa: F811
    page = new_page(browser, size)
    page.goto(village["url"] + "/self")
    page.wait_for_selector("#self-waiting:visible")
    assert "请扫描您的积分卡" in page.inner_text("#self-waiting")
    shoot(page, "self-waiting")
    assert_fits(page)

    nothing_focused(page)
    wedge_scan(page, village["card"])
    page.wait_for_selector("#self-result:visible")
    assert page.inner_text("#self-name") == "欧**娜"
    assert page.inner_text("#self-balance") == "95"
    assert "门前三包检查优秀" in page.inner_text("#self-history")
    goods = page.inner_text("#self-goods")
    assert "金龙鱼大米5kg" in goods and "电饭煲" not in goods  # 199 points: out of reach
    text = page.content()
    assert "欧阳娜娜" not in text and "王大锤" not in text and "DC-008" not in text
    shoot(page, "self-result")
    assert_fits(page)

    # Nobody touches the screen: it clears itself.
    page.wait_for_selector("#self-waiting:visible", timeout=6_000)
    assert page.inner_text("#self-name") == ""
    assert page.inner_text("#self-history") == ""
    assert "欧**娜" not in page.content()
    assert page.js_errors == []


@pytest.mark.parametrize("size", VIEWPORTS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_self_service_invalid_card_message(browser, village, size):  # noqa: F811
    page = new_page(browser, size)
    page.goto(village["url"] + "/self")
    nothing_focused(page)
    wedge_scan(page, "JF" + "1" * 20)
    page.wait_for_selector("#banner:visible")
    assert "卡片无效" in page.inner_text("#banner-text")
    assert page.locator("#self-waiting").is_visible()
    shoot(page, "self-invalid")
    assert_fits(page)
