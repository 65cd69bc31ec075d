"""Donations in a real browser: a keeper records a cash donation from the fund page and sees the
pool's balance move and the thank-you receipt on the detail page; an admin's goods form picks a
product by scanning its barcode. Screenshots of every fund page at both sizes go to
test-artifacts/."""

from __future__ import annotations

import pytest

from inventory import donations
from inventory.donations import GoodsLine
from kiosk.clock import local_now
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


@pytest.fixture
def village(tmp_path):
    """A supermarket with 300.00 yuan in the pool from a 乡贤, a donor enterprise, rice with a
    barcode; a keeper and an admin."""
    app = browser_app(tmp_path)
    with seeded(app):
        sm = factories.supermarket()
        factories.user("keeper1", "keeper", sm, pin="1234", display_name="王店长")
        factories.user("admin1", "admin", sm, display_name="李主任")
        person = donations.create_donor(
            sm.id, name="王德福", kind="xiangxian", contact="13800000000", actor=None
        )
        bank = donations.create_donor(sm.id, name="县农商银行", kind="enterprise", actor=None)
        rice = factories.product(
            sm, name="金龙鱼大米5kg", cost_fen=2500, stock_qty=10, barcode="6901234567892"
        )
        today = local_now().date()
        donations.record_cash_donation(
            sm.id, donor_id=person.id, amount_fen=30000, donated_on=today, actor=None
        )
        donations.record_goods_donation(
            sm.id,
            donor_id=bank.id,
            lines=[GoodsLine(rice.id, 5, 2600)],
            donated_on=today,
            note="爱心物资",
            actor=None,
        )
        ids = {"bank": bank.id, "rice": rice.id}
    with LiveServer(app) as server:
        yield {"app": app, "url": server.url, "ids": ids}


def shoot_content(page, name: str) -> None:
    """A screenshot from the fund area's own links down (the office tabs above them fill a
    1024×600 screen for an admin)."""
    page.evaluate("document.querySelector('.fund-subnav').scrollIntoView()")
    shoot(page, name)


def login(page, url: str, username: str) -> None:
    page.goto(url + "/login?mode=password")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "secret123")
    page.locator("form.password-form button[type=submit]").click()
    page.wait_for_url(url + ("/counter" if username.startswith("keeper") else "/home"))


@pytest.mark.parametrize("size", VIEWPORTS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_keeper_records_a_cash_donation_and_sees_the_balance_move(browser, village, size):  # noqa: F811
    page = new_page(browser, size)
    url = village["url"]
    login(page, url, "keeper1")
    page.goto(url + "/fund")
    assert page.locator("#fund-balance").inner_text().startswith("300.00")
    assert page.locator("#limit-form").count() == 0  # keepers do not set the advance
    shoot(page, "fund-index")
    assert_fits(page)

    page.locator("#new-cash").click()
    page.wait_for_url("**/fund/donations/new?form=cash")
    page.select_option("#donor-select", label="县农商银行（企业）")
    page.fill("#amount", "abc")
    page.locator("#donation-save").click()
    assert "捐赠金额应为数字" in page.locator("#page-error").inner_text()
    assert page.locator("#donor-select").input_value() == str(village["ids"]["bank"])
    shoot_content(page, "fund-cash-refused")
    page.fill("#amount", "1000")
    page.fill("#note", "年度助力")
    page.locator("#donation-save").click()
    page.wait_for_url("**/fund/donations/*")
    messages = page.locator(".fund-msg-ok").all_inner_texts()
    assert "已登记捐赠 JZ000003，金额 1000.00 元" in messages
    assert "收据已打印" in messages
    receipt = page.locator("#receipt-text").inner_text()
    assert "捐赠收据" in receipt and "县农商银行" in receipt and "壹仟元整" in receipt
    shoot_content(page, "fund-donation")
    assert_fits(page)

    page.locator("a.btn", has_text="基金池").first.click()
    page.wait_for_url(url + "/fund")
    assert page.locator("#fund-balance").inner_text().startswith("1300.00")
    assert "JZ000003" in page.locator("#recent-table").inner_text()
    assert page.js_errors == []


@pytest.mark.parametrize("size", VIEWPORTS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_admin_pages_and_a_scanned_goods_donation(browser, village, size):  # noqa: F811
    page = new_page(browser, size)
    url = village["url"]
    login(page, url, "admin1")
    page.goto(url + "/fund")
    assert page.locator("#limit-form").count() == 1
    shoot(page, "fund-index-admin")

    page.goto(url + "/fund/donations/new?form=goods")
    page.select_option("#donor-select", label="县农商银行（企业）")
    nothing_focused(page)
    wedge_scan(page, "6901234567892")
    assert "已选：金龙鱼大米5kg" in page.locator("#scan-note").inner_text()
    first = page.locator("#goods-rows tr").first
    assert first.locator(".goods-product").input_value() == str(village["ids"]["rice"])
    assert first.locator(".goods-qty").input_value() == "1"
    # The average cost now, (10 × 25.00 + 5 × 26.00) / 15, offered as the assessed value.
    assert first.locator(".goods-value").input_value() == "25.33"
    shoot_content(page, "fund-goods-scanned")
    # The scanner ignores the same code within 1.5 s (one press read twice); a second bag
    # scanned after that adds one to its row.
    after_repeat_window(page)
    nothing_focused(page)
    wedge_scan(page, "6901234567892")
    assert first.locator(".goods-qty").input_value() == "2"
    page.locator("#add-row").click()
    assert page.locator("#goods-rows tr").count() == 6
    shoot_content(page, "fund-goods-form")
    assert_fits(page)
    page.locator("#donation-save").click()
    page.wait_for_url("**/fund/donations/*")
    assert "金龙鱼大米5kg" in page.locator("#donation-lines").inner_text()
    assert page.locator("#reverse-form").count() == 1
    page.locator("[data-reason]").first.click()
    assert page.locator("#reverse-reason").input_value() == "登记重复"
    shoot_content(page, "fund-goods-donation")

    for path, name in [
        ("/fund/donors", "fund-donors"),
        ("/fund/donations", "fund-donations"),
        ("/fund/ledger", "fund-ledger"),
        ("/fund/public", "fund-public"),
    ]:
        page.goto(url + path)
        shoot_content(page, name)
        assert_fits(page)
    notice = page.locator("#notice").inner_text()
    assert "王*福" in notice and "王德福" not in notice and "13800000000" not in notice
    page.emulate_media(media="print")
    assert page.locator(".office-nav").is_hidden()
    assert page.locator(".fund-public-tools").is_hidden()
    shoot(page, "fund-public-print")
    assert page.js_errors == []
