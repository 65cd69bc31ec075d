"""The counter and self-service screens at 1280×800, 1024×600 and 800×480 (cheap 7-inch
panels), measured in a real browser: every refusal reason inside the window, five cart lines
and the total in sight, tiles that say why before they are tapped, messages that cover no
tile, a network failure told from a server error, a cart that survives a reload, the void
stamp; self-service with masked names, the event's day, its history and 查询完毕 in sight,
and an idle timer that touching and scrolling keep alive."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from kiosk import intake
from kiosk.rules import Policy, Tier, Window
from tests import factories
from tests.browser_support import (
    LiveServer,
    assert_fits,
    broken_amounts,
    browser,  # noqa: F401  (fixture)
    browser_app,
    new_page,
    nothing_focused,
    seeded,
    shoot,
)

pytestmark = pytest.mark.browser

SIZES = [(1280, 800), (1024, 600), (800, 480)]
SIZE_IDS = [f"{w}x{h}" for w, h in SIZES]
CHEAP = ["食用盐", "料酒500ml", "陈醋500ml", "香皂125g", "作业本", "铅笔10支", "橡皮", "牙刷2支"]


def _next_month(today: date) -> int:
    return (today.replace(day=1) + timedelta(days=32)).month


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """A keeper; a household that may redeem, one refused with many reasons, one with little."""
    app = browser_app(tmp_path_factory.mktemp("fit"), JIFEN_COUNTER_DONE_SECONDS=30)
    with seeded(app):
        sm = factories.supermarket()
        factories.user("keeper1", "keeper", sm, pin="1234", display_name="王店长")
        rich = factories.household(sm, points=400, head_name="张三丰", number="DC-001")
        poor = factories.household(sm, points=10, head_name="李四", number="DC-002")
        _, rich_card = factories.card(rich)
        _, poor_card = factories.card(poor)
        for i, name in enumerate(CHEAP):
            category = ["调味", "日用品", "文具"][i % 3]
            factories.product(sm, name=name, cost_fen=300 + 100 * i, stock_qty=9, category=category)
        factories.product(sm, name="金龙鱼大米5kg", cost_fen=2500, stock_qty=10, category="粮油")
        factories.product(
            sm, name="东北长粒香大米10kg装", cost_fen=5200, stock_qty=3, category="粮油"
        )
        for name in ("洗护", "服务", "家电"):
            factories.product(sm, name=f"{name}样品", cost_fen=100, stock_qty=2, category=name)
        sm_id = sm.id
    with LiveServer(app) as server:
        yield {"app": app, "url": server.url, "sm": sm_id, "rich": rich_card, "poor": poor_card}


def _set_policy(shop, policy: Policy) -> None:
    with seeded(shop["app"]):
        from kiosk.extensions import db
        from kiosk.models import Supermarket

        factories.policy(db.session.get(Supermarket, shop["sm"]), policy)


@pytest.fixture
def open_policy(shop):
    """Open this month (as a village's window is on its day), with its reasons on screen."""
    _set_policy(shop, Policy(window=Window("months", (date.today().month,))))
    return shop


@pytest.fixture
def closed_policy(shop):
    """Closed this month, open the next (so 下次可兑换 is shown), with a reserved base and a
    quota tier: many reasons for the keeper to read."""
    policy = Policy(
        name="测试规则",
        reserved_base=50,
        tier_basis="points",
        tiers=(Tier("一星", 0, 999999, quota_yuan=80),),
        window=Window("months", (_next_month(date.today()),)),
    )
    _set_policy(shop, policy)
    return shop


def counter_page(browser, shop, size):  # noqa: F811
    page = new_page(browser, size)
    page.goto(shop["url"] + "/login?mode=password")
    page.fill("input[name=username]", "keeper1")
    page.fill("input[name=password]", "secret123")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(shop["url"] + "/counter")
    return page


# A scanner's burst typed inside the page in one go: on a loaded machine Playwright's own typing
# can arrive with gaps a scanner never makes, and these tests are about the screens, not that.
_BURST = """(code) => {
  for (const key of [...code, 'Enter']) {
    document.dispatchEvent(new KeyboardEvent('keydown', {key, bubbles: true, cancelable: true}));
  }
}"""


def scan(page, card: str) -> None:
    nothing_focused(page)
    page.evaluate(_BURST, card)
    page.wait_for_selector("#screen-shop:visible, #banner:visible")
    assert page.locator("#screen-shop").is_visible(), page.inner_text("#banner-text")


# Boxes of the elements matched by a selector, with the window and their clipping ancestor.
_BOXES = """(sel) => [...document.querySelectorAll(sel)].map(e => {
  const r = e.getBoundingClientRect();
  let clip = {top: 0, left: 0, right: innerWidth, bottom: innerHeight};
  for (let p = e.parentElement; p; p = p.parentElement) {
    const s = getComputedStyle(p);
    if (s.overflowX !== 'visible' || s.overflowY !== 'visible') {
      const c = p.getBoundingClientRect();
      clip = {top: Math.max(clip.top, c.top), left: Math.max(clip.left, c.left),
              right: Math.min(clip.right, c.right), bottom: Math.min(clip.bottom, c.bottom)};
    }
  }
  return {text: e.textContent.trim(), top: r.top, left: r.left, right: r.right,
          bottom: r.bottom, width: r.width, clip};
})"""


def boxes(page, selector: str) -> list[dict]:
    return page.evaluate(_BOXES, selector)


def fully_visible(box: dict) -> bool:
    c = box["clip"]
    return (
        box["width"] > 0
        and box["left"] >= c["left"] - 1
        and box["right"] <= c["right"] + 1
        and box["top"] >= c["top"] - 1
        and box["bottom"] <= c["bottom"] + 1
    )


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_every_refusal_reason_is_inside_the_window(browser, closed_policy, size):  # noqa: F811
    page = counter_page(browser, closed_policy, size)
    scan(page, closed_policy["rich"])
    assert page.inner_text("#decision-verdict") == "暂时不能兑换"
    assert "下次可兑换" in page.inner_text("#decision-facts")  # the chip that pushed them off
    reasons = boxes(page, "#decision-reasons li")
    assert len(reasons) >= 4
    cut = [r["text"][:12] for r in reasons if not fully_visible(r)]
    assert not cut, f"reasons cut off at {size}: {cut}"
    shoot(page, "fit-refusal")
    assert broken_amounts(page) == []
    assert_fits(page)
    # The goods say it too, before any tap: dimmed, with the short reason.
    tile = page.locator(".tile", has_text="金龙鱼大米5kg")
    page.get_by_role("tab", name="粮油").click()
    assert "tile-no" in tile.get_attribute("class")
    assert "不在兑换月份" in tile.inner_text()
    assert page.js_errors == []


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_five_cart_lines_and_the_total_in_sight(browser, open_policy, size):  # noqa: F811
    page = counter_page(browser, open_policy, size)
    scan(page, open_policy["rich"])
    for name in CHEAP:
        tile = page.locator(".tile", has_text=name)
        if not tile.is_visible():
            for tab in ("调味", "日用品", "文具"):
                page.get_by_role("tab", name=tab).click()
                if tile.is_visible():
                    break
        tile.click()
    assert page.locator(".cart-line").count() == 8
    lines = boxes(page, ".cart-line")
    assert sum(fully_visible(b) for b in lines) >= 5, f"only {lines} visible"
    for total in boxes(page, "#cart-total") + boxes(page, "#balance-after"):
        assert fully_visible(total)
    assert page.inner_text("#cart-total") == str(sum(3 + i for i in range(8)))
    # The category tabs stay on one line; every tile's text stays inside its tile.
    tops = {round(b["top"]) for b in boxes(page, "#category-tabs .tab")}
    assert len(tops) == 1, f"tabs wrap onto {len(tops)} lines"
    page.get_by_role("tab", name="粮油").click()
    spill = page.evaluate(
        """() => [...document.querySelectorAll('.tile')].flatMap(t => {
             const r = t.getBoundingClientRect();
             return [...t.children].filter(c => { const b = c.getBoundingClientRect();
               return b.right > r.right + 1 || b.bottom > r.bottom + 1 || b.left < r.left - 1; })
               .map(c => c.textContent); })"""
    )
    assert spill == []
    shoot(page, "fit-cart")
    # On every tab, each price and stock keeps its number and unit on one line ("1分").
    for tab in page.locator("#category-tabs .tab").all():
        tab.click()
        assert broken_amounts(page) == [], tab.inner_text()
    assert_fits(page)
    assert page.js_errors == []


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_tiles_say_why_and_messages_cover_no_tile(browser, open_policy, size):  # noqa: F811
    page = counter_page(browser, open_policy, size)
    scan(page, open_policy["poor"])
    page.get_by_role("tab", name="粮油").click()
    rice = page.locator(".tile", has_text="金龙鱼大米5kg")
    assert "tile-no" in rice.get_attribute("class") and "积分不足" in rice.inner_text()
    page.get_by_role("tab", name="调味").click()
    salt = page.locator(".tile", has_text="食用盐")
    assert "tile-no" not in salt.get_attribute("class")
    page.get_by_role("tab", name="粮油").click()
    rice.click()
    page.wait_for_selector("#banner:visible")
    text = page.inner_text("#banner-text")
    assert "还差15分" in text and "还够兑换：" in text and "食用盐" in text
    banner = boxes(page, "#banner")[0]
    for covered in boxes(page, "#category-tabs") + boxes(page, ".tile"):
        overlap = not (
            banner["bottom"] <= covered["top"]
            or banner["top"] >= covered["bottom"]
            or banner["right"] <= covered["left"]
            or banner["left"] >= covered["right"]
        )
        # A tile scrolled out of the tiles' box is not covered by anything on screen.
        if fully_visible(covered):
            assert not overlap, f"the message covers {covered['text'][:10]}"
    assert fully_visible(banner)
    shoot(page, "fit-tile-refused")
    assert broken_amounts(page) == []
    assert_fits(page)


def test_network_failure_is_not_a_server_error(browser, open_policy):  # noqa: F811
    page = counter_page(browser, open_policy, SIZES[1])
    page.context.set_offline(True)
    nothing_focused(page)
    page.evaluate(_BURST, open_policy["rich"])
    page.wait_for_selector("#banner:visible")
    assert page.inner_text("#banner-text") == "网络连接中断，请检查网线/WiFi，恢复后点重试"
    assert page.inner_text("#banner-close") == "重试"
    page.context.set_offline(False)
    page.locator("#banner-close").click()  # 重试: the same card again
    page.wait_for_selector("#screen-shop:visible")
    assert page.inner_text("#hh-name") == "张*丰"

    # A server that answers with an error page is a server error, not the network.
    page.locator("#btn-cancel").click()  # (and the scanner forgets the card: scan it again)
    page.route(
        re.compile(r".*/api/v1/scan$"),
        lambda route: route.fulfill(status=502, body="<html>Bad Gateway</html>"),
    )
    nothing_focused(page)
    page.evaluate(_BURST, open_policy["rich"])
    page.wait_for_selector("#banner:visible")
    assert "系统出错了" in page.inner_text("#banner-text")
    assert "网络" not in page.inner_text("#banner-text")
    page.unroute(re.compile(r".*/api/v1/scan$"))

    # A lost connection while confirming: the network message, the cart kept for 重试.
    page.locator("#banner-close").click()
    page.evaluate("window.jifenCounter.reset()")  # the same card again within 1.5 s
    scan(page, open_policy["rich"])
    page.get_by_role("tab", name="调味").click()
    page.locator(".tile", has_text="食用盐").click()
    page.route(
        re.compile(r".*/api/v1/redemptions$"), lambda route: route.abort("internetdisconnected")
    )
    page.locator("#btn-confirm").click()
    page.wait_for_selector("#banner:visible")
    assert page.inner_text("#banner-text").startswith("网络连接中断")
    assert page.inner_text("#btn-confirm") == "重试"
    # Reloaded before the network is back: the cart and its key are kept, so 重试 after the
    # reload cannot redeem twice.
    key = page.evaluate("window.jifenCounter.state.key")
    page.unroute(re.compile(r".*/api/v1/redemptions$"))
    page.reload()
    page.wait_for_selector("#screen-shop:visible")
    page.wait_for_selector("#btn-confirm:has-text('重试')")
    assert page.evaluate("window.jifenCounter.state.key") == key
    assert page.locator(".cart-line", has_text="食用盐").count() == 1
    sent = []
    page.on("request", lambda r: r.url.endswith("/api/v1/redemptions") and sent.append(r))
    page.locator("#btn-confirm").click()
    page.wait_for_selector("#screen-receipt:visible")
    assert [r.post_data_json["idempotency_key"] for r in sent] == [key]
    assert page.js_errors == []


def test_reload_mid_cart_keeps_the_cart(browser, open_policy):  # noqa: F811
    page = counter_page(browser, open_policy, SIZES[2])
    scan(page, open_policy["rich"])
    page.get_by_role("tab", name="调味").click()
    page.locator(".tile", has_text="食用盐").click()
    page.locator(".tile", has_text="食用盐").click()
    page.get_by_role("tab", name="日用品").click()
    page.locator(".tile", has_text="料酒500ml").click()
    page.reload()
    page.wait_for_selector("#screen-shop:visible")
    page.wait_for_selector(".cart-line >> nth=1")
    assert page.locator(".cart-line").count() == 2
    assert page.inner_text("#cart-total") == str(3 * 2 + 4)
    # Cancel forgets it: a reload is back at the waiting screen.
    page.locator("#btn-cancel").click()
    page.reload()
    page.wait_for_selector("#screen-waiting:visible")
    assert page.evaluate("sessionStorage.length") == 0
    # Confirm forgets it too.
    scan(page, open_policy["rich"])
    page.get_by_role("tab", name="调味").click()
    page.locator(".tile", has_text="食用盐").click()
    page.locator("#btn-confirm").click()
    page.wait_for_selector("#screen-receipt:visible")
    assert page.evaluate("sessionStorage.length") == 0
    # The voided receipt: 已作废 and a 作废 stamp over the slip; a reprint says 【作废】.
    page.locator("#btn-void").click()
    page.locator("#void-reasons .reason", has_text="拿错物品").click()
    page.locator("#void-ok").click()
    page.wait_for_selector("#counter.is-voided")
    stamp = page.evaluate(
        "getComputedStyle(document.querySelector('.receipt-right'), '::after').content"
    )
    assert stamp == '"作废"'
    page.locator("#btn-reprint").click()
    page.wait_for_selector("#receipt-text:has-text('【作废】')")
    shoot(page, "fit-voided")
    assert_fits(page)
    assert page.js_errors == []


# ---------------------------------------------------------------- self-service


@pytest.fixture(scope="module")
def village(tmp_path_factory):
    app = browser_app(tmp_path_factory.mktemp("self"), JIFEN_SELF_SERVICE_IDLE_SECONDS=2)
    with seeded(app):
        sm = factories.supermarket()
        first = factories.user("admin1", "admin", sm)
        second = factories.user("admin2", "admin", sm)
        hh = factories.household(
            sm, points=20, head_name="崔大山", number="DC-030", members=["崔大山", "崔强峰"]
        )
        for i in range(12):
            factories.points_award(hh, 1 + i, reason=f"第{i + 1}次志愿服务")
        member = next(m for m in hh.members if m.name == "崔强峰")
        proposal = intake.propose(
            sm.id,
            intake.ProposalInput(
                hh.id, date(2026, 3, 5), amount=4, member_id=member.id, reason="门前三包"
            ),
            actor=first,
        )
        intake.approve(proposal.id, actor=second)
        _, card = factories.card(hh)
        factories.product(sm, name="金龙鱼大米5kg", cost_fen=2500, stock_qty=10, category="粮油")
    with LiveServer(app) as server:
        yield {"url": server.url, "card": card}


def self_result(browser, village, size):  # noqa: F811
    page = new_page(browser, size)
    page.goto(village["url"] + "/self")
    page.wait_for_selector("#self-waiting:visible")
    nothing_focused(page)
    page.evaluate(_BURST, village["card"])
    page.wait_for_selector("#self-result:visible")
    return page


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_self_service_history_masked_dated_and_in_sight(browser, village, size):  # noqa: F811
    page = self_result(browser, village, size)
    history = page.inner_text("#self-history")
    assert "崔*峰：" in history and "崔强峰" not in page.content()
    row = page.locator("#self-history tr", has_text="门前三包")
    assert row.locator("td").first.inner_text() == "2026-03-05"  # the day, not the approval
    rows = boxes(page, "#self-history tr")
    assert fully_visible(rows[0]), "no history row in sight"
    for done in boxes(page, "#btn-done"):
        assert fully_visible(done), "查询完毕 off the screen"
    shoot(page, "fit-self")
    assert broken_amounts(page) == []
    assert_fits(page)
    assert page.js_errors == []


def test_self_service_touch_and_scroll_keep_it_alive(browser, village):  # noqa: F811
    page = self_result(browser, village, SIZES[2])
    page.evaluate(
        """() => { window.__cleared = null;
             new MutationObserver(() => {
               if (document.getElementById('selfservice').dataset.state === 'waiting'
                   && window.__cleared === null) { window.__cleared = Date.now(); }
             }).observe(document.getElementById('selfservice'), {attributes: true}); }"""
    )
    start = page.evaluate("Date.now()")
    # Scroll the history for longer than the idle time (2 s): the screen stays.
    box = page.locator("#self-right")
    while page.evaluate("Date.now()") - start < 3500:
        box.evaluate("el => { el.scrollTop = el.scrollTop > 0 ? 0 : 40; }")
        page.wait_for_timeout(400)  # the resident's pace, not a wait for the page
        assert page.locator("#self-result").is_visible()
    # A touch keeps it too.
    page.locator("#self-balance").tap()
    touched = page.evaluate("Date.now()")
    # Then nobody touches it: it clears itself, about the idle time after the last touch.
    page.wait_for_selector("#self-waiting:visible", timeout=6_000)
    cleared = page.evaluate("window.__cleared")
    assert cleared - touched >= 1_500
    assert page.inner_text("#self-history") == ""
