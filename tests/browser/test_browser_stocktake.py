"""Stocktake in a real browser: a keeper starts a count and counts with the wedge scanner
(nothing focused), an admin on a phone types a barcode at the same time and the keeper's page
picks it up by polling; + / − / typed quantity; submit, approve and sign-off."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from inventory.models import Product, StockMovement, StocktakeCount
from kiosk.extensions import db
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

RICE = "6901234567892"
SOAP = "6920174736731"
OIL = "6971234500017"
PHONE = (390, 844)


@pytest.fixture
def shop(tmp_path):
    app = browser_app(tmp_path)
    with seeded(app):
        sm = factories.supermarket()
        factories.user("keeper1", "keeper", sm, pin="1234", display_name="王店长")
        factories.user("admin1", "admin", sm, display_name="李主任")
        factories.user("super1", "supervisor", sm, display_name="赵监督")
        factories.product(sm, name="金龙鱼大米5kg", cost_fen=2500, stock_qty=10, barcode=RICE)
        factories.product(sm, name="花生油1.8L", cost_fen=3000, stock_qty=4, barcode=OIL)
        factories.product(
            sm, name="立白洗衣粉", cost_fen=1250, stock_qty=6, category="日用品", barcode=SOAP
        )
    with LiveServer(app) as server:
        yield {"app": app, "url": server.url}


def login(page, url: str, username: str, next_path: str) -> None:
    page.goto(f"{url}/login?mode=password&next={next_path}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "secret123")
    page.locator("form.password-form button[type=submit]").click()
    page.wait_for_url(url + next_path)


def qty_is(page, barcode: str, n: int) -> None:
    """Wait until the line of this barcode shows the counted quantity n."""
    page.wait_for_function(
        "([code, n]) => document.querySelector(`.st-line[data-barcode='${code}'] .st-qty`)"
        ".textContent.trim() === n",
        arg=[barcode, str(n)],
    )


def row(page, name: str):
    return page.locator(".st-line", has_text=name)


def test_count_by_scanning_with_two_people(browser, shop):  # noqa: F811
    url = shop["url"]
    kiosk = new_page(browser, (1280, 800))
    login(kiosk, url, "keeper1", "/stocktake")
    shoot(kiosk, "stocktake-list-empty")
    kiosk.locator("#st-new").click()
    kiosk.wait_for_url(url + "/stocktake/new")
    shoot(kiosk, "stocktake-start")
    assert_fits(kiosk)
    kiosk.locator("#st-start").click()
    kiosk.wait_for_url(url + "/stocktake/1/count")
    assert "已开始第1号盘点" in kiosk.inner_text("#st-flashes")
    assert kiosk.inner_text("#st-counted") == "0" and kiosk.inner_text("#st-total") == "3"
    assert "未清点" in row(kiosk, "金龙鱼大米5kg").inner_text()

    # The wedge scanner types into the page with nothing focused: each scan is +1.
    nothing_focused(kiosk)
    wedge_scan(kiosk, RICE)
    qty_is(kiosk, RICE, 1)
    wedge_scan(kiosk, RICE)
    qty_is(kiosk, RICE, 2)
    assert kiosk.inner_text("#st-counted") == "1"
    assert "金龙鱼大米5kg：2" in kiosk.inner_text("#st-last")
    shoot(kiosk, "stocktake-count-scanned")
    assert_fits(kiosk)

    # Someone else counts on a phone at the same time: typed barcode, then + on the line.
    phone = new_page(browser, PHONE)
    login(phone, url, "admin1", "/stocktake/1/count")
    shoot(phone, "stocktake-count-phone-top")
    phone.fill("#st-barcode", RICE)
    phone.locator("#st-typed-add").click()
    qty_is(phone, RICE, 3)
    assert phone.input_value("#st-barcode") == ""
    row(phone, "立白洗衣粉").locator(".st-plus").click()
    qty_is(phone, SOAP, 1)
    shoot(phone, "stocktake-count-phone")
    assert_fits(phone)

    # The kiosk sees the phone's counts without reloading (polling).
    qty_is(kiosk, RICE, 3)
    kiosk.wait_for_function("() => document.getElementById('st-counted').textContent === '2'")
    assert "李主任" in row(kiosk, "立白洗衣粉").inner_text()

    # − on the soap, then a typed total for the soap on the on-screen keypad.
    row(kiosk, "立白洗衣粉").locator(".st-minus").click()
    qty_is(kiosk, SOAP, 0)
    row(kiosk, "立白洗衣粉").locator(".st-set").click()
    for digit in "5":
        kiosk.locator(f"#keypad-keys .key[data-key='{digit}']").click()
    shoot(kiosk, "stocktake-count-keypad")
    kiosk.locator("#keypad-ok").click()
    qty_is(kiosk, SOAP, 5)
    # An unknown barcode is refused in Chinese and counts nothing.
    nothing_focused(kiosk)
    wedge_scan(kiosk, "6999999999999")
    kiosk.wait_for_selector("#banner:visible")
    assert "没有找到条码为 6999999999999 的商品" in kiosk.inner_text("#banner-text")
    kiosk.locator("#banner-close").click()

    # Only the uncounted line under "未清点".
    kiosk.locator("#st-filter .tab[data-filter=uncounted]").click()
    visible = [t.strip() for t in kiosk.locator(".st-line:visible .st-name").all_inner_texts()]
    assert visible == ["花生油1.8L"]
    shoot(kiosk, "stocktake-count-uncounted")
    kiosk.locator("#st-filter .tab[data-filter=all]").click()

    # Submit with the oil not counted: asked first, then the report.
    kiosk.once("dialog", lambda d: d.accept())
    kiosk.locator("#st-submit").click()
    kiosk.wait_for_url(url + "/stocktake/1")
    assert "已提交" in kiosk.inner_text("#st-state")
    shoot(kiosk, "stocktake-report-submitted")
    assert_fits(kiosk)
    assert kiosk.js_errors == [] and phone.js_errors == []

    # The phone's page notices the count is no longer counting and goes to the report.
    phone.wait_for_url(url + "/stocktake/1", timeout=10_000)

    # The admin approves on the phone; the supervisor signs off.
    phone.locator("#st-approve").click()
    phone.wait_for_selector("#st-flashes")
    assert "已审批" in phone.inner_text("#st-flashes")
    # 7 bags of rice at 25.00 and 1 of 6 soap at 12.50 missing; the oil was not counted.
    assert phone.inner_text("#st-loss") == "187.50"
    assert phone.inner_text("#st-gain") == "0.00"
    shoot(phone, "stocktake-report-approved-phone")
    assert_fits(phone)
    supervisor = new_page(browser, (1024, 600))
    login(supervisor, url, "super1", "/stocktake/1")
    supervisor.locator("#st-sign-off").click()
    supervisor.wait_for_selector("#st-flashes")
    assert "已签字确认" in supervisor.inner_text("#st-flashes")
    assert "已签字入账" in supervisor.inner_text("#st-state")
    shoot(supervisor, "stocktake-report-posted")
    supervisor.locator("#st-report").scroll_into_view_if_needed()
    shoot(supervisor, "stocktake-report-table")
    assert_fits(supervisor)
    with seeded(shop["app"]):
        moves = db.session.execute(
            sa.select(Product.name, StockMovement.quantity)
            .join(Product, Product.id == StockMovement.product_id)
            .where(StockMovement.ref_type == "stocktake")
            .order_by(Product.name)
        ).all()
    assert sorted(moves) == sorted([("金龙鱼大米5kg", -7), ("立白洗衣粉", -1)])


@pytest.mark.parametrize("size", VIEWPORTS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_count_page_fits_the_kiosk(browser, shop, size):  # noqa: F811
    page = new_page(browser, size)
    login(page, shop["url"], "keeper1", "/stocktake/new")
    page.locator("#st-start").click()
    page.wait_for_url(shop["url"] + "/stocktake/1/count")
    nothing_focused(page)
    wedge_scan(page, OIL)
    page.wait_for_function("() => document.getElementById('st-counted').textContent === '1'")
    assert_fits(page)
    shoot(page, "stocktake-count")
    page.goto(shop["url"] + "/stocktake")
    assert "清点中" in page.inner_text("#st-list")
    assert_fits(page)
    shoot(page, "stocktake-list")
    assert page.js_errors == []


def write_y4m(path, frames, fps: int = 10) -> str:
    """Grey 640×480 frames as a Y4M video, for chromium's fake camera (it loops the file)."""
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W640 H480 F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        chroma = bytes([128]) * (320 * 240)
        for frame in frames:
            out.write(b"FRAME\n" + frame.tobytes() + chroma + chroma)
    return str(path)


@pytest.fixture(scope="module")
def camera_browser(browser, tmp_path_factory):  # noqa: F811
    """Chromium whose camera shows a barcode for 2 s, then nothing for 2 s, over and over
    (launched through the module's Playwright: only one may run at a time)."""
    from tests.browser_support import CHROMIUM, CHROMIUM_ARGS
    from tests.scan_images import ean13_image, scene

    shelf = scene(ean13_image(SOAP))
    empty = scene(None)
    video = write_y4m(tmp_path_factory.mktemp("cam") / "shelf.y4m", [shelf] * 20 + [empty] * 20)
    args = [
        *CHROMIUM_ARGS,
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ]
    b = browser.browser_type.launch(executable_path=CHROMIUM, headless=True, args=args)
    yield b
    b.close()


def test_count_with_the_phone_camera(camera_browser, shop):
    url = shop["url"]
    phone = new_page(camera_browser, PHONE)
    login(phone, url, "keeper1", "/stocktake/new")
    phone.locator("#st-start").click()
    phone.wait_for_url(url + "/stocktake/1/count")
    phone.locator("#st-camera-toggle").click()
    phone.wait_for_selector("#st-video:visible")
    assert "摄像头已打开" in phone.inner_text("#st-camera-status")
    # The barcode counts once while it stays in view, and again when it comes back.
    qty_is(phone, SOAP, 1)
    shoot(phone, "stocktake-count-camera")
    qty_is(phone, SOAP, 2)
    phone.locator("#st-camera-toggle").click()
    assert phone.locator("#st-camera").is_hidden()
    with seeded(shop["app"]):
        devices = db.session.scalars(sa.select(StocktakeCount.device)).all()
    # Once per appearance (a frame every 0.3 s would otherwise have counted a dozen).
    assert set(devices) == {"camera"} and 2 <= len(devices) <= 3
    assert phone.js_errors == []
