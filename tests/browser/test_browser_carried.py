"""大同's carried fraction in a real browser: the counter's household panel and the self-service
screen show "另有结转0.55分" under a balance of 8, and nothing for a household without one."""

from __future__ import annotations

import pytest

from kiosk.assessments import record_assessment
from tests import factories
from tests.browser.test_browser_counter import login_by_pin
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


@pytest.fixture(scope="module")
def village(tmp_path_factory):
    app = browser_app(tmp_path_factory.mktemp("carried"))
    with seeded(app):
        sm = factories.supermarket()
        factories.policy(sm, "datong")
        factories.user("keeper1", "keeper", sm, pin="1234", display_name="王店长")
        scored = factories.household(sm, points=0, head_name="刘大同", number="DT-001")
        record_assessment(scored.id, "2024Q1", 86, actor=None)
        record_assessment(scored.id, "2024Q2", 85, actor=None)  # 8.55: 8 posted, 0.55 carried
        plain = factories.household(sm, points=30, head_name="陈小二", number="DT-002")
        _, scored_card = factories.card(scored)
        _, plain_card = factories.card(plain)
        factories.product(sm, name="加碘食盐", cost_fen=300, stock_qty=5, category="调味")
    with LiveServer(app) as server:
        yield {"url": server.url, "scored": scored_card, "plain": plain_card}


@pytest.mark.parametrize("size", [*VIEWPORTS, (800, 480)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_counter_shows_the_carried_fraction(browser, village, size):  # noqa: F811
    page = new_page(browser, size)
    login_by_pin(page, village["url"])
    nothing_focused(page)
    wedge_scan(page, village["scored"])
    page.wait_for_selector("#hh-carried:visible")
    assert page.inner_text("#hh-balance") == "8"
    assert "另有结转0.55分" in page.inner_text("#hh-carried")
    shoot(page, "counter-carried")
    assert_fits(page)
    assert page.js_errors == []


def test_counter_hides_the_note_for_a_household_without_a_carry(browser, village):  # noqa: F811
    page = new_page(browser, VIEWPORTS[-1])
    login_by_pin(page, village["url"])
    nothing_focused(page)
    wedge_scan(page, village["plain"])
    page.wait_for_selector("#hh-number:text-is('DT-002')")
    assert page.inner_text("#hh-balance") == "30"
    assert page.locator("#hh-carried").is_hidden()
    assert page.js_errors == []


@pytest.mark.parametrize("size", [*VIEWPORTS, (800, 480)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_self_service_shows_the_carried_fraction(browser, village, size):  # noqa: F811
    page = new_page(browser, size)
    page.goto(village["url"] + "/self")
    page.wait_for_selector("#self-waiting:visible")
    nothing_focused(page)
    wedge_scan(page, village["scored"])
    page.wait_for_selector("#self-carried:visible")
    assert page.inner_text("#self-balance") == "8"
    assert "另有结转0.55分" in page.inner_text("#self-carried")
    shoot(page, "self-carried")
    assert_fits(page)
    assert page.js_errors == []
