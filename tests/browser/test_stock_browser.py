"""Stock-in in a real browser: a keeper scans goods with the (simulated) wedge scanner with
nothing focused, types quantities and costs in yuan, sees the running total and the points
price each line leads to, adds unknown goods on the spot without losing the lines, and submits
to the document with its print button; then the write-off and ledger pages as they look."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from inventory.models import Product, StockIn
from kiosk.extensions import db
from tests import factories
from tests.browser_support import (
    VIEWPORTS,
    LiveServer,
    after_repeat_window,
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

RICE = "6901234567892"
SOAP = "6920174736731"
NEW = "6911234567890"


@pytest.fixture
def shop(tmp_path):
    app = browser_app(tmp_path)
    with seeded(app):
        sm = factories.supermarket()
        factories.user("keeper1", "keeper", sm, pin="1234", display_name="王店长")
        factories.product(sm, name="金龙鱼大米5kg", cost_fen=2500, stock_qty=10, barcode=RICE)
        factories.product(
            sm, name="立白洗衣粉", cost_fen=1250, stock_qty=6, category="日用品", barcode=SOAP
        )
        factories.product(sm, name="加碘食盐", cost_fen=300, stock_qty=5, category="调味")
    with LiveServer(app) as server:
        yield {"app": app, "url": server.url}


def login(page, url: str) -> None:
    page.goto(url + "/login?mode=password")
    page.fill("input[name=username]", "keeper1")
    page.fill("input[name=password]", "secret123")
    page.locator("form.password-form button[type=submit]").click()
    page.wait_for_load_state()


@pytest.mark.parametrize("size", VIEWPORTS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_stock_in_by_wedge_scan(browser, shop, size):  # noqa: F811
    page = new_page(browser, size)
    url = shop["url"]
    login(page, url)
    page.goto(url + "/stock/in")
    page.wait_for_selector("#stock-products .stock-product")
    assert page.locator("#stock-products .stock-product").count() == 3
    shoot(page, "stock-in-empty")

    # Two scans of the rice and one of the soap, with nothing focused.
    nothing_focused(page)
    wedge_scan(page, RICE)
    page.wait_for_selector(".stock-line[data-product-id]")
    assert "已加入：金龙鱼大米5kg" in page.inner_text("#scan-note")
    after_repeat_window(page)  # the scanner ignores the same code twice within 1.5 s
    nothing_focused(page)
    wedge_scan(page, RICE)
    page.wait_for_function("() => document.querySelector('.stock-qty-input').value === '2'")
    nothing_focused(page)
    wedge_scan(page, SOAP)
    page.wait_for_function("() => document.querySelectorAll('.stock-line').length === 2")
    # Last costs are offered; the keeper types today's.
    rows = page.locator(".stock-line")
    assert rows.nth(0).locator(".stock-cost-input").input_value() == "25.00"
    shoot(page, "stock-in-scanned")
    rows.nth(0).locator(".stock-qty-input").fill("10")
    rows.nth(0).locator(".stock-cost-input").fill("28")
    rows.nth(1).locator(".stock-plus").click()
    rows = page.locator(".stock-line")
    rows.nth(1).locator(".stock-cost-input").fill("12.5")
    # 10 × 28.00 + 2 × 12.50 = 305.00; rice average (10×25 + 10×28)/20 = 26.50 → 27 points.
    assert page.inner_text("#stock-total") == "305.00"
    assert page.inner_text("#stock-count") == "2"
    assert rows.nth(0).locator(".stock-points").inner_text() == "25 → 27"
    assert rows.nth(1).locator(".stock-points").inner_text() == "现13分"
    # A scan while the cost field has focus still adds goods and leaves the typed cost alone.
    rows.nth(1).locator(".stock-cost-input").click()
    wedge_scan(page, RICE)
    page.wait_for_function("() => document.querySelector('.stock-qty-input').value === '11'")
    assert page.locator(".stock-line").nth(1).locator(".stock-cost-input").input_value() == "12.5"
    page.locator(".stock-line").nth(0).locator(".stock-minus").click()
    assert page.inner_text("#stock-total") == "305.00"

    # An unknown barcode opens the new-goods form with the code filled in.
    nothing_focused(page)
    wedge_scan(page, NEW)
    page.wait_for_selector("#new-product:visible")
    assert "没有找到条码为 " + NEW in page.inner_text("#scan-note")
    assert page.input_value("#np-barcode") == NEW
    page.fill("#supplier", "县粮油公司")
    page.fill("#invoice-no", "FP-2026-11")
    page.check("#paid-other")
    page.fill("#paid-from-other", "村集体")
    # A scan while the supplier field has focus: goods added, the field kept, nothing sent.
    page.click("#supplier")
    wedge_scan(page, SOAP)
    soap_qty = "document.querySelectorAll('.stock-qty-input')[1].value"
    page.wait_for_function(f"() => {soap_qty} === '3'")
    assert page.input_value("#supplier") == "县粮油公司"
    assert page.url.endswith("/stock/in")
    page.locator(".stock-line").nth(1).locator(".stock-minus").click()
    page.wait_for_function(f"() => {soap_qty} === '2'")
    shoot(page, "stock-in-lines")
    assert_fits(page)
    page.fill("#np-name", "老干妈")
    page.fill("#np-unit", "瓶")
    page.fill("#np-category", "调味")
    page.locator("#np-save").click()
    # Back on the form: the lines and the header survived, and the new goods are a line.
    page.wait_for_function("() => document.querySelectorAll('.stock-line').length === 3")
    assert "added=" not in page.url
    assert page.input_value("#supplier") == "县粮油公司"
    assert page.input_value("#paid-from-other") == "村集体"
    assert page.inner_text("#stock-total") == "305.00"
    page.locator(".stock-line").nth(2).locator(".stock-qty-input").fill("6")
    page.locator(".stock-line").nth(2).locator(".stock-cost-input").fill("9.9")
    assert page.inner_text("#stock-total") == "364.40"

    # A cost with three decimals is stopped on the page, in Chinese.
    page.locator(".stock-line").nth(2).locator(".stock-cost-input").fill("9.999")
    page.locator("#stock-submit").click()
    page.wait_for_selector("#banner:visible")
    assert "第3行：进价要写成元" in page.inner_text("#banner-text")
    page.locator("#banner-close").click()
    page.locator(".stock-line").nth(2).locator(".stock-cost-input").fill("9.90")
    page.locator("#stock-submit").click()
    page.wait_for_url("**/stock/in/*")
    assert "入库成功" in page.inner_text("#stock-document")
    assert "补打入库单" in page.inner_text("#print-slip")  # printed once on submit
    assert page.inner_text("#doc-total") == "364.40"
    shoot(page, "stock-in-document")
    assert_fits(page)
    assert page.js_errors == []

    with seeded(shop["app"]):
        doc = db.session.scalar(sa.select(StockIn).order_by(StockIn.id.desc()).limit(1))
        assert (doc.supplier, doc.invoice_no, doc.paid_from, doc.total_cost_fen) == (
            "县粮油公司",
            "FP-2026-11",
            "村集体",
            36440,
        )
        rice = db.session.scalar(sa.select(Product).where(Product.barcode == RICE))
        assert (rice.stock_qty, rice.unit_cost_fen, rice.points_price) == (20, 2650, 27)
        new = db.session.scalar(sa.select(Product).where(Product.barcode == NEW))
        assert (new.name, new.stock_qty, new.unit_cost_fen, new.points_price) == (
            "老干妈",
            6,
            990,
            10,
        )

    # The next stock-in starts empty: the draft was cleared with the document.
    page.locator("#next-stock-in").click()
    page.wait_for_selector("#stock-products .stock-product")
    assert page.locator(".stock-line").count() == 0
    assert page.input_value("#supplier") == ""

    page.goto(url + "/stock/adjustments")
    shoot(page, "stock-adjustments")
    assert_fits(page)
    nothing_focused(page)
    wedge_scan(page, SOAP)
    page.wait_for_function(
        "() => document.activeElement && document.activeElement.id === 'adjust-qty'"
    )
    with seeded(shop["app"]):
        soap_id = db.session.scalar(sa.select(Product.id).where(Product.barcode == SOAP))
    assert page.input_value("#adjust-product") == str(soap_id)

    page.goto(url + "/stock/ledgers")
    assert "RK000004" in page.inner_text("#ledger-table")
    shoot(page, "stock-ledgers")
    assert_fits(page)
    assert page.js_errors == []


@pytest.fixture
def office(tmp_path):
    """An admin's view: a redemption standing, one voided, and a keeper's pending write-off."""
    from inventory import adjustments
    from kiosk.redemption import CartLine, redeem, void_redemption

    app = browser_app(tmp_path)
    with seeded(app):
        sm = factories.supermarket()
        keeper = factories.user("keeper1", "keeper", sm, pin="1234", display_name="王店长")
        admin = factories.user("admin1", "admin", sm, display_name="李主任")
        rice = factories.product(
            sm, name="金龙鱼大米5kg", cost_fen=2500, stock_qty=10, barcode=RICE
        )
        soap = factories.product(sm, name="立白洗衣粉", cost_fen=1250, stock_qty=6, barcode=SOAP)
        for number, name, lines in (
            ("DC-001", "张三丰", [CartLine(rice.id, 1), CartLine(soap.id, 2)]),
            ("DC-002", "李四", [CartLine(soap.id, 1)]),
        ):
            hh = factories.household(sm, points=200, head_name=name, number=number)
            _, payload = factories.card(hh)
            r = redeem(
                sm.id,
                card_payload=payload,
                lines=lines,
                keeper=keeper,
                idempotency_key=f"browser-{number}-0001",
            )
        void_redemption(r.id, actor=admin, reason="扫错了户")
        adjustments.request_adjustment(
            sm.id, soap.id, 2, "damage", note="包装破损漏粉", actor=keeper
        )
        soap_id = soap.id
    with LiveServer(app) as server:
        yield {"app": app, "url": server.url, "soap": soap_id}


def test_an_admin_approves_a_write_off_and_reads_the_pickup_ledger(browser, office):  # noqa: F811
    page = new_page(browser, (1280, 800))
    url = office["url"]
    page.goto(url + "/login?mode=password")
    page.fill("input[name=username]", "admin1")
    page.fill("input[name=password]", "secret123")
    page.locator("form.password-form button[type=submit]").click()
    page.wait_for_load_state()
    page.goto(url + "/stock/adjustments")
    assert "1条待审批" in page.inner_text("#pending-count")
    shoot(page, "stock-adjustments-pending")
    page.locator("#adjust-table button.approve").click()
    page.wait_for_selector(".stock-msg-info")
    assert "已批准，库存已减少" in page.inner_text(".stock-msg-info")
    assert "已批准" in page.inner_text("#adjust-table")
    with seeded(office["app"]):
        assert db.session.get(Product, office["soap"]).stock_qty == 6 - 2 - 1 + 1 - 2

    page.goto(url + "/stock/ledgers?book=redemption")
    table = page.inner_text("#ledger-table")
    assert "张*丰" in table and "李*" in table and "张三丰" not in page.content()
    assert "已作废" in table and "作废冲回" in table
    assert page.locator("tr.stock-reversal").count() == 1
    assert page.locator("tr.is-voided").count() == 1
    page.evaluate("document.querySelector('#ledger-filters').scrollIntoView()")
    shoot(page, "stock-ledgers-redemption")
    assert_fits(page)
    with page.expect_download() as download:
        page.locator("#export-xlsx").click()
    assert download.value.suggested_filename.startswith("物品兑换领取台账_")
    assert page.js_errors == []
