"""The counter in a real browser: PIN login, wedge scans with nothing focused, tiles and
barcodes, confirm, receipt, reset; slow typing is not a scan; refusals in Chinese."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from kiosk import points
from kiosk.extensions import db
from kiosk.models import Household, Redemption
from tests import factories
from tests.browser_support import (
    VIEWPORTS,
    LiveServer,
    assert_fits,
    browser,  # noqa: F401  (fixture)
    browser_app,
    key_pin,
    new_page,
    nothing_focused,
    seeded,
    shoot,
    wedge_scan,
)

pytestmark = pytest.mark.browser

RICE_BARCODE = "6901234567892"
SOAP_BARCODE = "6920174736731"


@pytest.fixture
def shop(tmp_path):
    """A served app with a keeper, two households with cards, and goods in two categories."""
    app = browser_app(tmp_path, JIFEN_COUNTER_DONE_SECONDS=3)
    with seeded(app):
        sm = factories.supermarket()
        factories.user("keeper1", "keeper", sm, pin="1234", display_name="王店长")
        rich = factories.household(sm, points=100, head_name="张三丰", number="DC-001")
        poor = factories.household(sm, points=10, head_name="李四", number="DC-002")
        _, rich_card = factories.card(rich)
        _, poor_card = factories.card(poor)
        factories.product(
            sm,
            name="金龙鱼大米5kg",
            cost_fen=2500,
            stock_qty=10,
            category="粮油",
            barcode=RICE_BARCODE,
        )
        factories.product(sm, name="花生油1.8L", cost_fen=3000, stock_qty=4, category="粮油")
        factories.product(
            sm,
            name="立白洗衣粉",
            cost_fen=1250,
            stock_qty=6,
            category="日用品",
            barcode=SOAP_BARCODE,
        )
        factories.product(sm, name="毛巾", cost_fen=800, stock_qty=0, category="日用品")
        factories.product(sm, name="加碘食盐", cost_fen=300, stock_qty=5, category="调味")
        ids = {"rich": rich.id, "poor": poor.id}
    with LiveServer(app) as server:
        yield {
            "app": app,
            "url": server.url,
            "rich_card": rich_card,
            "poor_card": poor_card,
            "ids": ids,
        }


def login_by_pin(page, url: str) -> None:
    page.goto(url + "/counter")
    assert page.url.startswith(url + "/login")
    shoot(page, "login-pin")
    assert_fits(page)
    page.get_by_role("link", name="王店长").click()
    key_pin(page, "1234")
    page.wait_for_url(url + "/counter")


def balance(app, household_id: int) -> int:
    with seeded(app):
        return db.session.get(Household, household_id).account.balance


@pytest.mark.parametrize("size", VIEWPORTS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_counter_flow(browser, shop, size):  # noqa: F811
    page = new_page(browser, size)
    url = shop["url"]
    login_by_pin(page, url)
    page.wait_for_selector("#screen-waiting:visible")
    assert "请扫描积分卡" in page.inner_text("#screen-waiting")
    shoot(page, "counter-waiting")
    assert_fits(page)

    nothing_focused(page)
    wedge_scan(page, shop["rich_card"])
    page.wait_for_selector("#screen-shop:visible")
    assert page.inner_text("#hh-name") == "张*丰"
    assert "张三丰" not in page.content()
    assert page.inner_text("#hh-number") == "DC-001"
    assert page.inner_text("#hh-balance") == "100"
    assert "可以兑换" in page.inner_text("#decision")
    assert "可用积分100分" in page.inner_text("#decision")
    out = page.locator(".tile", has_text="毛巾")
    page.get_by_role("tab", name="日用品").click()
    assert out.is_disabled()
    page.get_by_role("tab", name="粮油").click()

    page.locator(".tile", has_text="金龙鱼大米5kg").click()
    nothing_focused(page)
    wedge_scan(page, SOAP_BARCODE)
    page.wait_for_selector(".cart-line:has-text('立白洗衣粉')")
    assert page.locator(".cart-line").count() == 2
    assert page.inner_text("#cart-total") == "38"
    assert page.inner_text("#balance-after") == "62"
    shoot(page, "counter-cart")
    assert_fits(page)

    # + and − on a line
    soap = page.locator(".cart-line", has_text="立白洗衣粉")
    soap.locator(".qty-plus").click()
    assert page.inner_text("#cart-total") == "51"
    soap.locator(".qty-minus").click()
    assert page.inner_text("#cart-total") == "38"

    page.locator("#btn-confirm").click()
    page.wait_for_selector("#screen-receipt:visible")
    receipt = page.inner_text("#receipt-text")
    assert "DT01-00000001" in receipt
    assert "金龙鱼大米5kg" in receipt and "立白洗衣粉" in receipt
    assert page.inner_text("#receipt-no") == "DT01-00000001"
    assert page.inner_text("#done-balance") == "62"
    assert "小票" in page.inner_text("#print-status")
    shoot(page, "counter-receipt")
    assert_fits(page)
    assert balance(shop["app"], shop["ids"]["rich"]) == 62

    # The done screen goes back to waiting by itself.
    page.wait_for_selector("#screen-waiting:visible", timeout=8_000)
    assert page.inner_text("#hh-name") in ("", "张*丰")
    assert page.evaluate("window.jifenCounter.state.cart.length") == 0
    assert page.js_errors == []


@pytest.mark.parametrize("size", [VIEWPORTS[1]], ids=lambda s: f"{s[0]}x{s[1]}")
def test_slow_typing_is_not_a_scan(browser, shop, size):  # noqa: F811
    page = new_page(browser, size)
    login_by_pin(page, shop["url"])
    scans = []
    page.on("request", lambda r: scans.append(r.url) if "/api/v1/scan" in r.url else None)
    nothing_focused(page)
    wedge_scan(page, shop["rich_card"], delay=200)
    # A scan taken makes the counter busy at once, until the server's answer shows the shop.
    page.wait_for_function("() => !window.jifenCounter.state.busy")
    assert page.locator("#screen-waiting").is_visible()
    assert scans == []
    # The same card at scanner speed right after is taken.
    wedge_scan(page, shop["rich_card"])
    page.wait_for_selector("#screen-shop:visible")
    assert len(scans) == 1


def test_full_width_and_repeat_scans(browser, shop):  # noqa: F811
    page = new_page(browser, VIEWPORTS[0])
    login_by_pin(page, shop["url"])
    normalized = page.evaluate("Kiosk.normalizeCode('ｊｆ０１２３ ４５')")
    assert normalized == "JF012345"
    scans = []
    page.on("request", lambda r: scans.append(r.url) if "/api/v1/scan" in r.url else None)
    nothing_focused(page)
    wedge_scan(page, shop["rich_card"])
    wedge_scan(page, shop["rich_card"])  # a scanner's double read within 1.5 s
    page.wait_for_selector("#screen-shop:visible")
    page.wait_for_timeout(300)
    assert len(scans) == 1


@pytest.mark.parametrize("size", VIEWPORTS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_typed_card_number_on_keypad(browser, shop, size):  # noqa: F811
    page = new_page(browser, size)
    login_by_pin(page, shop["url"])
    page.locator("#btn-type-card").click()
    shoot(page, "counter-keypad")
    assert_fits(page)
    for digit in shop["rich_card"][2:]:
        page.locator(f"#keypad-keys .key[data-key='{digit}']").click()
    page.locator("#keypad-ok").click()
    page.wait_for_selector("#screen-shop:visible")
    assert page.inner_text("#hh-name") == "张*丰"


@pytest.mark.parametrize("size", VIEWPORTS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_refusal_shows_chinese_message(browser, shop, size):  # noqa: F811
    page = new_page(browser, size)
    login_by_pin(page, shop["url"])
    nothing_focused(page)
    wedge_scan(page, shop["poor_card"])
    page.wait_for_selector("#screen-shop:visible")
    # A tile the points do not reach is refused at the tap, with the shortfall in Chinese.
    page.locator(".tile", has_text="金龙鱼大米5kg").click()
    page.wait_for_selector("#banner:visible")
    assert "本次需要25分，可用积分只有10分，还差15分" in page.inner_text("#banner-text")
    shoot(page, "counter-refusal")
    assert_fits(page)
    assert page.locator(".cart-line").count() == 0
    assert page.locator("#btn-confirm").is_disabled()
    page.locator("#banner-close").click()

    # The balance drops after the scan (a deduction at the office): the service refuses.
    page.get_by_role("tab", name="调味").click()
    for _ in range(3):
        page.locator(".tile", has_text="加碘食盐").click()
    assert page.locator(".cart-line").count() == 1
    with seeded(shop["app"]):
        points.deduct_points(shop["ids"]["poor"], 5, reason="违规停车", actor=None)
    page.locator("#btn-confirm").click()
    page.wait_for_selector("#banner:visible")
    assert "本次需要9分，可用积分只有5分，还差4分" in page.inner_text("#banner-text")
    assert page.locator("#btn-confirm").is_enabled()
    assert balance(shop["app"], shop["ids"]["poor"]) == 5

    # An unknown card while the cart is open: the Chinese reason, nothing lost.
    page.locator("#banner-close").click()
    nothing_focused(page)
    wedge_scan(page, "JF" + "9" * 20)
    page.wait_for_selector("#banner:visible")
    assert "卡片无效" in page.inner_text("#banner-text")
    assert page.locator(".cart-line").count() == 1


def test_lost_response_retry_reuses_key(browser, shop):  # noqa: F811
    """The server commits but the answer is lost; 重试 sends the same key: one redemption."""
    page = new_page(browser, VIEWPORTS[0])
    login_by_pin(page, shop["url"])
    nothing_focused(page)
    wedge_scan(page, shop["rich_card"])
    page.wait_for_selector("#screen-shop:visible")
    page.locator(".tile", has_text="金龙鱼大米5kg").click()

    bodies = []

    def drop_answer(route):
        bodies.append(route.request.post_data_json)
        route.fetch()  # reaches the server, which commits
        route.abort("connectionreset")  # ...but the browser never hears back

    page.route(re.compile(r".*/api/v1/redemptions$"), drop_answer)
    page.locator("#btn-confirm").click()
    page.wait_for_selector("#banner:visible")
    assert "网络" in page.inner_text("#banner-text")
    assert page.inner_text("#btn-confirm") == "重试"
    assert page.locator(".tile", has_text="花生油1.8L").is_disabled()  # cart is frozen
    page.unroute(re.compile(r".*/api/v1/redemptions$"))
    page.route(
        re.compile(r".*/api/v1/redemptions$"),
        lambda route: (bodies.append(route.request.post_data_json), route.continue_()),
    )
    page.locator("#btn-confirm").click()
    page.wait_for_selector("#screen-receipt:visible")
    assert len(bodies) == 2 and bodies[0]["idempotency_key"] == bodies[1]["idempotency_key"]
    assert re.fullmatch(r"ui-[0-9a-f]{32}", bodies[0]["idempotency_key"])
    with seeded(shop["app"]):
        assert db.session.scalar(sa.select(sa.func.count(Redemption.id))) == 1
    assert balance(shop["app"], shop["ids"]["rich"]) == 75


@pytest.mark.parametrize("size", VIEWPORTS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_void_from_receipt(browser, shop, size):  # noqa: F811
    page = new_page(browser, size)
    login_by_pin(page, shop["url"])
    nothing_focused(page)
    wedge_scan(page, shop["rich_card"])
    page.wait_for_selector("#screen-shop:visible")
    page.locator(".tile", has_text="金龙鱼大米5kg").click()
    page.locator("#btn-confirm").click()
    page.wait_for_selector("#screen-receipt:visible")
    page.locator("#btn-void").click()
    page.locator("#void-reasons .reason", has_text="拿错物品").click()
    shoot(page, "counter-void")
    assert_fits(page)
    page.locator("#void-ok").click()
    page.wait_for_selector("#counter.is-voided")
    assert "已作废" in page.inner_text("#done-title")
    shoot(page, "counter-voided")
    assert_fits(page)
    assert balance(shop["app"], shop["ids"]["rich"]) == 100
    page.locator("#btn-next").click()
    page.wait_for_selector("#screen-waiting:visible")


@pytest.mark.parametrize("size", VIEWPORTS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_password_login_and_logout(browser, shop, size):  # noqa: F811
    page = new_page(browser, size)
    page.goto(shop["url"] + "/login?mode=password")
    shoot(page, "login-password")
    assert_fits(page)
    page.fill("input[name=username]", "keeper1")
    page.fill("input[name=password]", "wrong-pass")
    page.get_by_role("button", name="登录").click()
    assert "用户名或密码不正确" in page.inner_text("#login-error")
    shoot(page, "login-error")
    page.fill("input[name=password]", "secret123")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(shop["url"] + "/counter")
    page.locator("#logout").click()
    page.wait_for_url(re.compile(r".*/login$"))
    page.goto(shop["url"] + "/counter")
    assert "/login" in page.url


def test_error_page(browser, shop):  # noqa: F811
    for size in VIEWPORTS:
        page = new_page(browser, size)
        page.goto(shop["url"] + "/no-such-page")
        assert "没有找到" in page.inner_text("h1")
        shoot(page, "error-404")
        assert_fits(page)


@pytest.mark.parametrize("size", VIEWPORTS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_supervisor_lands_on_home_not_counter(browser, shop, size):  # noqa: F811
    with seeded(shop["app"]):
        factories.user("super1", "supervisor", None, display_name="赵监督")
    page = new_page(browser, size)
    page.goto(shop["url"] + "/login?mode=password")
    page.fill("input[name=username]", "super1")
    page.fill("input[name=password]", "secret123")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(shop["url"] + "/home")
    assert "赵监督" in page.inner_text("h1")
    shoot(page, "home-supervisor")
    assert_fits(page)
    response = page.goto(shop["url"] + "/counter")
    assert response.status == 403
    assert "没有权限" in page.inner_text("h1")
    shoot(page, "error-403")
    assert_fits(page)
