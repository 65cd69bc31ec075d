"""The printer page (/admin/printer) through Flask's test client: keepers, admins and
supervisors may open it (supervisors read-only, without the print buttons), it says the
printer's state in Chinese, and it lists the receipts that did not print by number."""

from __future__ import annotations

import pytest

from kiosk.redemption import CartLine, redeem
from tests import factories
from tests.hardware.test_printing import FakeNetworkPrinter

URL = "/admin/printer"


def login(client, username: str) -> None:
    r = client.post("/login/password", data={"username": username, "password": "secret123"})
    assert r.status_code == 302


@pytest.fixture
def dead_printer(app):
    """A network printer on a bound but closed local port: connections are refused."""
    fake = FakeNetworkPrinter()
    app.config["JIFEN_PRINTER"] = fake.config()
    yield fake
    fake.stop()


def test_visitors_are_sent_to_login(client, supermarket):
    r = client.get(URL)
    assert r.status_code == 302
    assert "/login" in r.headers["Location"]


@pytest.mark.parametrize(
    ("username", "fixture", "operates"),
    [("keeper1", "keeper", True), ("admin1", "admin", True), ("super1", "supervisor", False)],
)
def test_who_may_open_the_page_and_who_may_print(client, request, username, fixture, operates):
    request.getfixturevalue(fixture)
    login(client, username)
    r = client.get(URL)
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "打印机" in page
    assert "printer.js" in page
    assert 'id="check-printer"' in page  # a status check is a read: everyone may ask
    assert ('id="print-test-page"' in page) is operates
    assert ("只读" in page) is not operates
    # Keepers get no tabs to the rule pages they may not open; the others get the rules group.
    assert ('href="/admin"' in page) is (fixture != "keeper")


def test_preview_printer_says_receipts_show_on_screen_in_chinese(client, keeper):
    login(client, "keeper1")
    page = client.get(URL).get_data(as_text=True)
    assert 'data-status="online"' in page
    # Not "状态：在线" beside "未接打印机" (issue 17), and the connection not the word "preview".
    assert "状态：<strong" in page and ">屏幕显示小票</strong>" in page
    assert ">在线</strong>" not in page
    assert "未接打印机" in page
    assert '<dd id="printer-described">屏幕（不打印纸质小票）</dd>' in page
    assert ">preview<" not in page
    assert "80毫米" in page
    assert "文字模式" in page
    assert "全部小票都已打印" in page
    assert 'id="retry-jobs"' not in page  # nothing to resend


def test_dead_printer_says_offline_and_lists_the_failed_receipt(
    client, supermarket, keeper, dead_printer
):
    hh = factories.household(supermarket, points=100, head_name="张三丰")
    _, payload = factories.card(hh)
    rice = factories.product(supermarket, name="大米", cost_fen=1000, stock_qty=5)
    red = redeem(
        supermarket.id,
        card_payload=payload,
        lines=[CartLine(rice.id, 1)],
        keeper=keeper,
        idempotency_key="web-printer-1",
    )
    login(client, "keeper1")
    page = client.get(URL).get_data(as_text=True)
    assert 'data-status="offline"' in page
    assert ">离线</strong>" in page
    assert "网络打印机" in page
    assert "58毫米" in page
    assert f"小票 {red.receipt_no}" in page
    assert "失败" in page
    assert "已试1次" in page
    assert 'id="retry-jobs"' in page
    assert "共1张没有打印" in page


def test_the_page_in_english(client, keeper):
    login(client, "keeper1")
    page = client.get(URL + "?lang=en").get_data(as_text=True)
    assert ">Receipts on screen</strong>" in page  # the preview printer (no printer)
    assert "Print test page" in page


def test_linked_from_the_hub_and_the_keepers_home(client, admin, keeper):
    login(client, "admin1")
    assert 'href="/admin/printer"' in client.get("/admin").get_data(as_text=True)
    client.post("/logout")
    login(client, "keeper1")
    r = client.get("/home")
    assert r.status_code == 200
    assert 'id="tile-unprinted"' in r.get_data(as_text=True)
    assert 'href="/admin/printer"' in r.get_data(as_text=True)
