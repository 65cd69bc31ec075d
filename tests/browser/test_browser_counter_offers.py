"""The counter's tiles read the rules' own decision of one unit of each product (the scan's
``offers``), not a rule of their own: under 寨里's rules with one canteen meal a quarter, an
elder who has had this quarter's meal finds the meal tile dimmed with why, a tap on it adds
nothing, and the cart she does take is not refused at confirm."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from kiosk import assessments, auth, cards, households, redemption, rules
from kiosk.clock import local_now
from kiosk.database import write_transaction
from kiosk.extensions import db
from kiosk.models import Supermarket
from kiosk.rules import policies, presets
from tests import factories
from tests.browser_support import (
    VIEWPORTS,
    LiveServer,
    assert_fits,
    broken_amounts,
    browser,  # noqa: F401  (fixture)
    browser_app,
    counter_by_pin,
    nothing_focused,
    seeded,
    shoot,
    wedge_scan,
)

pytestmark = pytest.mark.browser

SIZES = [*VIEWPORTS, (800, 480)]


@pytest.fixture
def shop(tmp_path):
    """寨里's rules with one canteen meal a quarter per eligible member; a 65-year-old scored 85
    (四星级, the meal is hers) who has had this quarter's meal already."""
    app = browser_app(tmp_path)
    with seeded(app):
        with write_transaction():
            sm = Supermarket(code="ZL02", name="寨里积分超市", town="寨里镇", village="东村")
            db.session.add(sm)
        keeper = auth.create_user(
            "mary", display_name="玛丽", role="keeper", password="secret123", pin="1234",
            supermarket_id=sm.id,
        )  # fmt: skip
        limited = replace(presets.ZHAILI.restrictions[0], per_period_limit=1)
        policies.set_policy(sm.id, replace(presets.ZHAILI, restrictions=(limited,)), actor=None)
        today = local_now().date()
        elder = households.create_household(
            sm.id,
            number="Z-01",
            head_name="刘英",
            village="东村",
            members=[households.MemberInput("刘英", "", date(today.year - 65, 1, 1))],
            actor=None,
        )
        period = rules.period_key(today, rules.PERIOD_QUARTER)
        assessments.record_assessment(
            elder.id, period, 85, member_id=elder.members[0].id, actor=None
        )
        meal = factories.product(
            sm,
            name="长者食堂午餐",
            kind="service",
            cost_fen=800,
            stock_qty=0,
            category="长者食堂",
            unit="餐",
            restriction_key="elder_canteen",
        )
        factories.product(sm, name="大米", cost_fen=2000, stock_qty=9, category="粮油", unit="袋")
        payload = cards.payload_for(cards.issue_card(elder.id, actor=None))
        redemption.redeem(
            sm.id,
            card_payload=payload,
            lines=[redemption.CartLine(meal.id, 1)],
            keeper=keeper,
            idempotency_key="offers-first-meal",
            print_receipt=False,
        )
    with LiveServer(app) as server:
        yield {"url": server.url, "card": payload}


def _counter(browser, url: str, lang: str, size):  # noqa: F811
    page = counter_by_pin(browser, url, "玛丽", lang=lang, size=size)
    nothing_focused(page)
    return page


def _scan(page, card: str) -> None:
    wedge_scan(page, card)
    page.wait_for_selector("#screen-shop:visible")
    page.wait_for_selector("#decision-reasons li")


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_meal_past_its_limit_is_not_offered_and_nothing_is_refused_at_confirm(
    browser,  # noqa: F811
    shop,
    size,
):
    page = _counter(browser, shop["url"], "zh", size)
    _scan(page, shop["card"])
    assert page.inner_text("#decision-verdict") == "可以兑换"
    page.get_by_role("tab", name="长者食堂").click()
    meal = page.locator(".tile", has_text="长者食堂午餐")
    meal.wait_for()
    assert "tile-no" in (meal.get_attribute("class") or "")
    assert meal.locator(".tile-reason").inner_text() == "本季度份数已用完"
    shoot(page, "counter-meal-limit-used")
    assert_fits(page)
    assert broken_amounts(page) == []
    # A tap says why and what the quota does buy; nothing goes into the cart.
    meal.click()
    page.wait_for_selector("#shop-message .banner:visible")
    assert page.inner_text("#shop-message #banner-text") == (
        "长者食堂午餐：本季度份数已用完。还够兑换：大米 20分"
    )
    assert page.locator(".cart-line").count() == 0
    assert page.locator("#btn-confirm").is_disabled()
    shoot(page, "counter-meal-limit-tapped")
    assert_fits(page)
    # What she may take goes through at confirm.
    page.get_by_role("tab", name="粮油").click()
    rice = page.locator(".tile", has_text="大米")
    assert "tile-no" not in (rice.get_attribute("class") or "")
    rice.click()
    page.wait_for_selector(".cart-line:has-text('大米')")
    assert page.inner_text("#cart-total") == "20"
    page.locator("#btn-confirm").click()
    page.wait_for_selector("#screen-receipt:visible")
    assert "大米" in page.inner_text("#receipt-text")
    assert page.js_errors == []
    page.context.close()


def test_the_meal_past_its_limit_reads_in_english(browser, shop):  # noqa: F811
    page = _counter(browser, shop["url"], "en", (1024, 600))
    _scan(page, shop["card"])
    page.locator(".tab", has_text="长者食堂").click()
    meal = page.locator(".tile", has_text="长者食堂午餐")
    assert meal.locator(".tile-reason").inner_text() == "This quarter's share used up"
    meal.click()
    page.wait_for_selector("#shop-message .banner:visible")
    assert page.inner_text("#shop-message #banner-text") == (
        "长者食堂午餐: This quarter's share used up. Still affordable: 大米 20 pts"
    )
    assert page.locator(".cart-line").count() == 0
    shoot(page, "counter-english-meal-limit")
    assert page.js_errors == []
    page.context.close()
