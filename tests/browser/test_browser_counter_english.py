"""The counter and the self-service screen in English (issue 20): a 寨里 household (a star tier,
the elders' canteen meal) and a 大同 household scanned with the page in English show no Chinese
but the names, and the same scan in Chinese reads as it always did.

English words are longer than Chinese ones: at every size, down to the 800×480 panel, the shop's
name and every button of the top bar are shown whole, no tile's text runs out of its tile, and
no word is broken inside (a word wraps onto the next line whole, as "Canteen / lunch").

Every name here (supermarkets, villages, people, goods, categories, units) is in Latin letters,
so any Chinese character on the English page is a word the page failed to put in English."""

from __future__ import annotations

import re
from datetime import date

import pytest

from kiosk import assessments, auth, cards, households, points, redemption, rules, standards
from kiosk.clock import local_now
from kiosk.database import write_transaction
from kiosk.extensions import db
from kiosk.models import Supermarket, User
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
    new_page,
    nothing_focused,
    seeded,
    shoot,
    wedge_scan,
)

pytestmark = pytest.mark.browser

CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


# Each word the browser broke across two lines ("Cantee / n lunch"): its letters' boxes sit at
# more than one height. Hyphens count as a word's end ("Stock-in" may wrap after "Stock-"). The
# receipt's paper (a <pre>) is left out: it is printed text, laid out by the printer's width.
_BROKEN_WORDS = r"""() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (n.parentElement.closest('pre, script')) continue;
    for (const m of n.data.matchAll(/[^\s\-\u2010-\u2014]+/g)) {
      const r = document.createRange();
      r.setStart(n, m.index);
      r.setEnd(n, m.index + m[0].length);
      const tops = new Set();
      for (const q of r.getClientRects()) if (q.width > 0) tops.add(Math.round(q.top));
      if (tops.size > 1) out.push(`"${m[0]}" in ${n.parentElement.id || n.parentElement.className}`);
    }
  }
  return out;
}"""

# The boxes (not inline text) inside ``selector`` whose content is wider than the box: text cut
# off, or run out over the next box. A box clipped in height (overflow hidden) counts too.
_OVERFLOWING = """selector => {
  const out = [];
  for (const box of document.querySelectorAll(selector)) {
    for (const e of [box, ...box.querySelectorAll('*')]) {
      const s = getComputedStyle(e);
      if (s.display === 'inline' || !e.getClientRects().length) continue;
      const clipsHeight = s.overflowY === 'hidden' || s.overflowY === 'clip';
      if (e.scrollWidth > e.clientWidth + 1 || (clipsHeight && e.scrollHeight > e.clientHeight + 1)) {
        out.push(`${e.id || e.className || e.tagName} "${e.textContent.trim().slice(0, 30)}" ` +
          `${e.scrollWidth}x${e.scrollHeight} in ${e.clientWidth}x${e.clientHeight}`);
      }
    }
  }
  return out;
}"""


def assert_english_fits(page) -> None:
    """The page fits its window (``assert_fits``), the top bar and the tiles show their text
    whole, and no word on the page is broken inside."""
    assert_fits(page)
    assert page.evaluate(_OVERFLOWING, ".topbar, .tile") == []
    assert page.evaluate(_BROKEN_WORDS) == []
    assert broken_amounts(page) == []


def chinese_in(text: str) -> list[str]:
    """Each Chinese character in ``text`` with a little of what surrounds it."""
    return [text[max(0, m.start() - 20) : m.end() + 20] for m in CJK.finditer(text)]


def _family(sm: Supermarket, number: str, people: list[tuple[str, date | None]]):
    return households.create_household(
        sm.id,
        number=number,
        head_name=people[0][0],
        village="East Village",
        members=[households.MemberInput(name, "", born) for name, born in people],
        actor=None,
    )


@pytest.fixture
def shop(tmp_path):
    """A shop on 寨里's rules: a 65-year-old scored 85 this quarter (四星级, the canteen meal is
    hers) and her son 75 (三星级); a 40-year-old scored 85 (四星级, too young for the canteen);
    and a household of 120 points the test scans under 大同's."""
    app = browser_app(tmp_path)
    with seeded(app):
        with write_transaction():
            sm = Supermarket(
                code="ZL01",
                name="East Village Points Shop",
                town="Hilltown",
                village="East Village",
            )
            db.session.add(sm)
        mary = auth.create_user(
            "mary", display_name="Mary", role="keeper", password="secret123", pin="1234",
            supermarket_id=sm.id,
        )  # fmt: skip
        admin = auth.create_user(
            "admin1", display_name="Ann", role="admin", password="secret123", supermarket_id=sm.id
        )
        policies.set_policy(sm.id, presets.ZHAILI, actor=None)
        today = local_now().date()
        elders = _family(
            sm,
            "Z-01",
            [("Liu Ying", date(today.year - 65, 1, 1)), ("Liu Bo", date(today.year - 40, 1, 1))],
        )
        period = rules.period_key(today, rules.PERIOD_QUARTER)
        for member, score in zip(elders.members, (85, 75), strict=True):
            assessments.record_assessment(
                elders.id, period, score, member_id=member.id, actor=admin
            )
        younger = _family(sm, "Z-02", [("Wang Wu", date(today.year - 40, 1, 1))])
        assessments.record_assessment(
            younger.id, period, 85, member_id=younger.members[0].id, actor=admin
        )
        # An award item the household may report itself on the self-service screen.
        standards.create_item(sm.id, code="S1", title="Sweeping the square", points=5, actor=admin)
        oil = factories.product(
            sm, name="Peanut oil 5L", cost_fen=5000, stock_qty=5, category="Grain", unit="can"
        )
        factories.product(
            sm,
            name="Long-grain jasmine rice 10kg",
            cost_fen=6000,
            stock_qty=3,
            category="Grain",
            unit="bag",
        )
        meal = factories.product(
            sm,
            name="Canteen lunch",
            kind="service",
            cost_fen=800,
            stock_qty=0,
            category="Services",
            unit="meal",
            restriction_key="elder_canteen",
        )
        town = _family(sm, "D-01", [("Zhang San", None)])
        points.award_points(town.id, 120, reason="volunteering", actor=None)
        zhaili_card = cards.payload_for(cards.issue_card(elders.id, actor=None))
        datong_card = cards.payload_for(cards.issue_card(town.id, actor=None))
        younger_card = cards.payload_for(cards.issue_card(younger.id, actor=None))
        ids = {"sm": sm.id, "mary": mary.id, "elders": elders.id, "oil": oil.id, "meal": meal.id}
    with LiveServer(app) as server:
        yield {
            "app": app,
            "url": server.url,
            "ids": ids,
            "zhaili": zhaili_card,
            "datong": datong_card,
            "younger": younger_card,
        }


def _counter(browser, url: str, keeper: str, lang: str, size=(1024, 600)):  # noqa: F811
    """The counter page in ``lang``, the keeper logged in by PIN."""
    return counter_by_pin(browser, url, keeper, lang=lang, size=size)


def _scan(page, card: str) -> None:
    nothing_focused(page)
    wedge_scan(page, card)
    page.wait_for_selector("#screen-shop:visible")
    page.wait_for_selector("#decision-reasons li")


def _shown(page) -> str:
    """What a person reads on the page: its title and visible text, without the language
    switch (it names the other language in its own words, 中文)."""
    switch = page.locator("a[lang='zh-CN']")
    assert switch.inner_text() == "中文"
    return page.title() + "\n" + page.inner_text("body").replace("中文", "", 1)


@pytest.mark.parametrize("size", [*VIEWPORTS, (800, 480)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_counter_in_english_shows_no_chinese(browser, shop, size):  # noqa: F811
    page = _counter(browser, shop["url"], "Mary", "en", size)
    assert chinese_in(_shown(page)) == []
    shoot(page, "counter-english-waiting")
    assert_english_fits(page)
    _scan(page, shop["zhaili"])
    decision = page.inner_text("#decision")
    assert "Tier: Three-star" in decision  # the family's tier (tier_label)
    assert "Four-star" in decision  # a member's, in a reason
    assert "Free meals at the elders' canteen: 1 eligible" in decision
    page.get_by_role("tab", name="Services").click()
    meal = page.locator(".tile", has_text="Canteen lunch")
    assert meal.locator(".tile-price").inner_text() == "Free"  # her eligibility, read in English
    meal.click()
    page.wait_for_selector(".cart-line:has-text('Canteen lunch')")
    assert chinese_in(_shown(page)) == []
    shoot(page, "counter-english-zhaili")
    assert_english_fits(page)
    page.locator("#btn-confirm").click()
    page.wait_for_selector("#screen-receipt:visible")
    paper = page.inner_text("#receipt-text")
    assert "Canteen lunch" in paper
    # The screen around the receipt is English; the receipt itself is the printed paper's text,
    # laid out in Chinese whatever the page's language.
    assert chinese_in(_shown(page).replace(paper, "")) == []
    shoot(page, "counter-english-receipt")
    assert_english_fits(page)
    page.locator("#btn-void").click()
    page.wait_for_selector("#void-modal:visible")
    shoot(page, "counter-english-void")
    assert_english_fits(page)
    page.locator("#void-cancel").click()
    page.wait_for_selector("#void-modal", state="hidden")
    assert page.js_errors == []
    page.context.close()

    with seeded(shop["app"]):
        policies.set_policy(shop["ids"]["sm"], presets.DATONG, actor=None)
    page = _counter(browser, shop["url"], "Mary", "en", size)
    _scan(page, shop["datong"])
    assert page.inner_text("#hh-balance") == "120"
    assert chinese_in(_shown(page)) == []
    shoot(page, "counter-english-datong")
    assert_english_fits(page)
    assert page.js_errors == []
    page.context.close()


def _refused_meal(browser, shop, lang: str, size):  # noqa: F811
    """The counter in ``lang`` with the 40-year-old's household scanned and the canteen meal,
    which is not hers, tapped: the message below the tiles says why and what she can take."""
    page = _counter(browser, shop["url"], "Mary", lang, size)
    _scan(page, shop["younger"])
    stock = page.locator(".tile", has_text="Peanut oil 5L").locator(".tile-stock").inner_text()
    page.get_by_role("tab", name="Services").click()
    page.locator(".tile", has_text="Canteen lunch").click()
    page.wait_for_selector("#shop-message .banner:visible")
    # A message longer than its box scrolls from its first line: none of it is above the box.
    above = page.evaluate(
        """() => document.querySelector('#shop-message .banner').getBoundingClientRect().top -
          document.querySelector('#banner-text').getBoundingClientRect().top"""
    )
    assert above <= 1, f"the message's first {above}px are cut off above its box"
    # 22 px, and a step smaller on the 800×480 panel, where the box is smaller.
    font = page.evaluate("getComputedStyle(document.querySelector('#banner-text')).fontSize")
    assert font == ("18px" if size == (800, 480) else "22px")
    return page, stock, page.inner_text("#shop-message #banner-text")


@pytest.mark.parametrize("size", [*VIEWPORTS, (800, 480)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_counter_messages_in_english_punctuation(browser, shop, size):  # noqa: F811
    """A tile's stock, a refused tap and the list of what the points still buy are written with
    English spaces and punctuation (no Chinese colon, full stop or list comma)."""
    page, stock, message = _refused_meal(browser, shop, "en", size)
    assert stock == "Stock 5 can"
    assert message == (
        "Canteen lunch: Not eligible. "
        "Still affordable: Peanut oil 5L 50 pts, Long-grain jasmine rice 10kg 60 pts"
    )
    assert chinese_in(_shown(page)) == []
    shoot(page, "counter-english-refused-tap")
    assert_english_fits(page)
    assert page.js_errors == []
    page.context.close()

    page, stock, message = _refused_meal(browser, shop, "zh", size)
    assert stock == "库存 5can"
    assert message == (
        "Canteen lunch：不在兑换范围。还够兑换：Peanut oil 5L 50分、Long-grain jasmine rice 10kg 60分"
    )
    shoot(page, "counter-chinese-refused-tap")
    assert_fits(page)
    # A price or a stock keeps its number and unit on one line ("50分", never "50 / 分").
    assert broken_amounts(page) == []
    page.get_by_role("tab", name="Grain").click()
    page.wait_for_selector(".tile:has-text('Peanut oil 5L')")
    shoot(page, "counter-chinese-grain")
    assert broken_amounts(page) == []
    assert page.js_errors == []
    page.context.close()


def test_counter_in_chinese_reads_as_before(browser, shop):  # noqa: F811
    page = _counter(browser, shop["url"], "Mary", "zh")
    _scan(page, shop["zhaili"])
    reasons = page.inner_text("#decision-reasons")
    assert "长者食堂免费就餐：本户有1人符合条件" in reasons
    assert "评分85分，四星级（每季度100元）" in reasons
    assert "评分75分，三星级（每季度50元）" in reasons
    assert reasons.endswith(
        "；家庭星级三星级\n本季度可兑换额度150元，已用0元，剩余150元\n长者食堂免费就餐：本户有1人符合条件"
    )
    assert page.inner_text("#decision .fact-tier") == "等级：三星级"
    page.get_by_role("tab", name="Services").click()
    meal = page.locator(".tile", has_text="Canteen lunch")
    assert meal.locator(".tile-price").inner_text() == "免费"
    assert page.js_errors == []
    page.context.close()


def _deed_and_voided_redemption(shop) -> None:
    """Points for the elders' household's good deed, and a redemption of two goods, voided."""
    ids = shop["ids"]
    with seeded(shop["app"]):
        points.award_points(ids["elders"], 10, reason="sweeping the square", actor=None)
        mary = db.session.get_one(User, ids["mary"])
        done = redemption.redeem(
            ids["sm"],
            card_payload=shop["zhaili"],
            lines=[redemption.CartLine(ids["meal"], 1), redemption.CartLine(ids["oil"], 1)],
            keeper=mary,
            idempotency_key="self-service",
            print_receipt=False,
        )
        redemption.void_redemption(done.id, actor=mary, reason="Wrong item")


def _goods(page) -> dict[str, str]:
    """The self-service's goods list: each name with its price as shown."""
    items = page.locator("#self-goods .goods-item")
    return {
        item.locator(".goods-name").inner_text(): item.locator(".goods-price").inner_text()
        for item in items.all()
    }


@pytest.mark.parametrize("size", [*VIEWPORTS, (800, 480)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_self_service_in_english_shows_no_chinese(browser, shop, size):  # noqa: F811
    """The elders' household with points for a good deed and a voided redemption of two goods:
    the history's reason, the goods and the voided mark read in English."""
    _deed_and_voided_redemption(shop)
    page = new_page(browser, size)
    page.goto(shop["url"] + "/self?lang=en")
    page.wait_for_selector("#self-waiting:visible")
    shoot(page, "self-english-waiting")
    assert_english_fits(page)
    nothing_focused(page)
    wedge_scan(page, shop["zhaili"])
    page.wait_for_selector("#self-result:visible")
    page.wait_for_selector("#self-reasons li")
    assert "Four-star" in page.inner_text("#self-reasons")
    assert ": sweeping the square" in page.inner_text("#self-history")
    voided = page.inner_text("#self-redemptions .redemption-item.voided")
    assert voided.endswith(" 50 pts (voided)\nPeanut oil 5L×1, Canteen lunch×1"), voided
    # What the counter would charge her: the canteen meal is free to the eligible elder.
    assert _goods(page) == {
        "Canteen lunch": "Free",
        "Peanut oil 5L": "50 pts/can",
        "Long-grain jasmine rice 10kg": "60 pts/bag",
    }
    assert chinese_in(_shown(page)) == []
    shoot(page, "self-english")
    assert_english_fits(page)
    page.locator("#btn-report").click()
    page.wait_for_selector("#self-report:visible")
    page.wait_for_function("() => document.querySelectorAll('#self-report-item option').length")
    items = page.locator("#self-report-item option").all_inner_texts()
    assert items == ["S1. Sweeping the square (+5)"], items
    assert chinese_in(_shown(page)) == []
    shoot(page, "self-english-report")
    assert_english_fits(page)
    assert page.js_errors == []
    page.context.close()


@pytest.mark.parametrize("size", [*VIEWPORTS, (800, 480)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_self_service_in_chinese_reads_as_before(browser, shop, size):  # noqa: F811
    _deed_and_voided_redemption(shop)
    page = new_page(browser, size)
    page.goto(shop["url"] + "/self")
    page.wait_for_selector("#self-waiting:visible")
    nothing_focused(page)
    wedge_scan(page, shop["zhaili"])
    page.wait_for_selector("#self-result:visible")
    assert "：sweeping the square\t+10" in page.inner_text("#self-history")
    voided = page.inner_text("#self-redemptions .redemption-item.voided")
    assert voided.endswith(" 50分（已作废）\nPeanut oil 5L×1、Canteen lunch×1"), voided
    assert _goods(page) == {
        "Canteen lunch": "免费",
        "Peanut oil 5L": "50分/can",
        "Long-grain jasmine rice 10kg": "60分/bag",
    }
    shoot(page, "self-chinese")
    assert_fits(page)
    assert broken_amounts(page) == []
    page.locator("#btn-report").click()
    page.wait_for_function("() => document.querySelectorAll('#self-report-item option').length")
    items = page.locator("#self-report-item option").all_inner_texts()
    assert items == ["S1. Sweeping the square（+5）"], items
    assert page.js_errors == []
    page.context.close()
