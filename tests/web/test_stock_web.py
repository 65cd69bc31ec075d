"""The stock pages through Flask's test client: who may open and post what, the stock-in form
(refusals in Chinese with nothing lost), the document with its print button, write-offs, and
the ledgers with their XLSX export."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from inventory import adjustments, fund
from inventory.models import FUND_DONATION, Product, StockAdjustment, StockIn
from kiosk.database import write_transaction
from kiosk.export import read_rows
from kiosk.extensions import db
from kiosk.models import PrintJob
from kiosk.redemption import CartLine, redeem
from tests import factories

PAGES = ["/stock/in", "/stock/adjustments", "/stock/ledgers"]


def login(client, username: str) -> None:
    r = client.post("/login/password", data={"username": username, "password": "secret123"})
    assert r.status_code == 302


@pytest.fixture
def rice(supermarket):
    return factories.product(
        supermarket, name="金龙鱼大米5kg", cost_fen=2500, stock_qty=10, barcode="6901234567892"
    )


def stock_in_form(rice, **extra):
    data = {
        "supplier": "县粮油公司",
        "invoice_no": "FP-7",
        "paid_from": "other",
        "paid_from_other": "村集体",
        "note": "",
        "product_id": [str(rice.id)],
        "quantity": ["10"],
        "unit_cost": ["28.00"],
    }
    data.update(extra)
    return data


def latest_document() -> StockIn:
    return db.session.scalar(sa.select(StockIn).order_by(StockIn.id.desc()).limit(1))


def documents() -> int:
    return db.session.scalar(sa.select(sa.func.count(StockIn.id)))


@pytest.mark.parametrize("url", PAGES)
def test_visitors_are_sent_to_login(client, supermarket, url):
    r = client.get(url)
    assert r.status_code == 302 and "/login" in r.headers["Location"]


@pytest.mark.parametrize("who", ["keeper1", "admin1", "super1"])
@pytest.mark.parametrize("url", PAGES)
def test_every_role_reads_the_pages(client, keeper, admin, supervisor, rice, who, url):
    login(client, who)
    r = client.get(url)
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "office-nav" in page and "库存与账目" in page
    assert "stock.css" in page
    if who == "super1":
        assert "只读" in page
        assert 'method="post"' not in page.replace('action="/logout"', "").split("logout")[-1]
    else:
        assert "只读" not in page


def test_the_stock_in_form_is_for_keepers_and_admins(client, keeper, supervisor, rice):
    login(client, "keeper1")
    page = client.get("/stock/in").get_data(as_text=True)
    assert 'id="stock-in-form"' in page and 'id="stock-search"' in page
    assert "stock.js" in page and "6901234567892" in page  # the catalogue for the scanner
    client.post("/logout")
    login(client, "super1")
    page = client.get("/stock/in").get_data(as_text=True)
    assert 'id="stock-in-form"' not in page and 'id="recent-documents"' in page


@pytest.mark.parametrize(
    "url",
    [
        "/stock/in",
        "/stock/products",
        "/stock/adjustments",
        "/stock/adjustments/1/approve",
        "/stock/adjustments/1/reject",
        "/stock/in/1/print",
    ],
)
def test_supervisors_write_nothing(client, supervisor, keeper, rice, url):
    req = adjustments.request_adjustment(
        supervisor.supermarket_id, rice.id, 1, "damage", note="破损", actor=keeper
    )
    assert req.id == 1
    login(client, "super1")
    before = documents()
    r = client.post(url, data=stock_in_form(rice, name="新商品", quantity=["1"], reason="damage"))
    assert r.status_code == 403
    assert documents() == before
    db.session.expire_all()
    assert db.session.get(StockAdjustment, 1).status == "pending"
    assert db.session.get(Product, rice.id).stock_qty == 10


def test_a_keeper_receives_stock_and_sees_the_document(client, keeper, rice):
    login(client, "keeper1")
    r = client.post("/stock/in", data=stock_in_form(rice, print_slip="1"))
    assert r.status_code == 302
    doc = latest_document()
    assert r.headers["Location"].endswith(f"/stock/in/{doc.id}?new=1")
    assert (doc.supplier, doc.invoice_no, doc.paid_from, doc.total_cost_fen) == (
        "县粮油公司",
        "FP-7",
        "村集体",
        28000,
    )
    db.session.expire_all()
    p = db.session.get(Product, rice.id)
    assert (p.stock_qty, p.unit_cost_fen, p.points_price) == (20, 2650, 27)
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert doc.display_no in page and "入库成功" in page
    assert "入库单已打印" in page  # printed after the commit, as asked
    assert "补打入库单" in page  # printed once: the button now reprints
    assert 'data-clear-draft="' in page
    assert db.session.scalar(sa.select(sa.func.count(PrintJob.id))) == 1


def test_the_print_button_prints_then_reprints(client, keeper, rice):
    login(client, "keeper1")
    client.post("/stock/in", data=stock_in_form(rice))
    doc = latest_document()
    page = client.get(f"/stock/in/{doc.id}").get_data(as_text=True)
    assert "打印入库单" in page and "补打入库单" not in page
    assert "data-clear-draft" not in page
    r = client.post(f"/stock/in/{doc.id}/print")
    assert r.status_code == 302
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "入库单已打印" in page and "补打入库单" in page
    client.post(f"/stock/in/{doc.id}/print")
    jobs = db.session.scalars(sa.select(PrintJob).order_by(PrintJob.id)).all()
    assert [j.copy_no for j in jobs] == [1, 2]
    assert "补打（第2份）" in jobs[1].text
    assert client.post("/stock/in/999/print").status_code == 404


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"product_id": [], "quantity": [], "unit_cost": []}, "入库单没有商品"),
        ({"quantity": ["0"]}, "第1行：数量必须是正整数"),
        ({"quantity": ["1.5"]}, "第1行：数量必须是正整数"),
        ({"unit_cost": ["12.345"]}, "第1行：进价要写成元"),
        ({"unit_cost": ["-3"]}, "第1行：进价要写成元"),
        # Too large says the limit (issue 17), not that the number is malformed.
        ({"quantity": ["99999999"]}, "第1行：数量太大，一次最多入库100000"),
        ({"unit_cost": ["99999999"]}, "第1行：进价太大：每件最多100000元"),
        ({"unit_cost": ["100000.01"]}, "第1行：进价太大：每件最多100000元"),
        ({"product_id": ["99999"]}, "没有找到商品"),
        ({"paid_from": ""}, "请选择付款来源"),
        ({"paid_from_other": ""}, "请写明付款来源"),
        ({"paid_from": "fund"}, "基金池余额不足：现有0.00元，本单需要280.00元"),
    ],
)
def test_refusals_are_in_chinese_and_keep_what_was_typed(client, keeper, rice, changes, message):
    login(client, "keeper1")
    before = documents()
    r = client.post("/stock/in", data=stock_in_form(rice, **changes))
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert message in page
    assert 'value="县粮油公司"' in page and 'value="FP-7"' in page
    if changes.get("product_id") != []:
        assert '"draft": [{"product_id": ' in page  # the lines, for the page to show again
    assert documents() == before
    db.session.expire_all()
    assert db.session.get(Product, rice.id).stock_qty == 10


def test_paid_from_the_fund_pool(client, keeper, rice, supermarket):
    with write_transaction():
        fund.post_entry(supermarket.id, FUND_DONATION, 100_000, actor=None)
    login(client, "keeper1")
    page = client.get("/stock/in").get_data(as_text=True)
    assert "余额1000.00元" in page
    r = client.post("/stock/in", data=stock_in_form(rice, paid_from="fund"))
    assert r.status_code == 302
    assert fund.balance_fen(supermarket.id) == 100_000 - 28_000
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "基金池" in page and "（支出280.00元，支出后余额720.00元）" in page


def test_a_closed_month_is_refused_on_the_page(client, keeper, rice, supermarket):
    from inventory.models import MonthClose
    from inventory.periods import month_of
    from kiosk.timeutil import utcnow

    with write_transaction():
        db.session.add(MonthClose(supermarket_id=supermarket.id, month=month_of(utcnow())))
    login(client, "keeper1")
    r = client.post("/stock/in", data=stock_in_form(rice))
    assert r.status_code == 422 and "该月已结账" in r.get_data(as_text=True)


def test_a_keeper_adds_a_new_product_during_stock_in(client, keeper, supermarket):
    login(client, "keeper1")
    r = client.post(
        "/stock/products",
        data={"name": "老干妈", "unit": "瓶", "category": "调味", "barcode": "6911234567890"},
    )
    assert r.status_code == 302
    p = db.session.scalar(sa.select(Product).where(Product.barcode == "6911234567890"))
    assert r.headers["Location"].endswith(f"/stock/in?added={p.id}")
    assert (p.name, p.unit, p.stock_qty) == ("老干妈", "瓶", 0)
    again = client.post("/stock/products", data={"name": "别的", "barcode": "6911234567890"})
    assert again.status_code == 422
    page = again.get_data(as_text=True)
    assert "条码 6911234567890 已经登记过商品" in page and 'value="别的"' in page


def test_write_offs_on_the_page(client, keeper, admin, rice, supermarket):
    login(client, "keeper1")
    bad = client.post(
        "/stock/adjustments",
        data={"product_id": str(rice.id), "quantity": "3", "reason": "", "note": "破损"},
    )
    assert bad.status_code == 422 and "请选择报损原因" in bad.get_data(as_text=True)
    huge = client.post(
        "/stock/adjustments",
        data={
            "product_id": str(rice.id),
            "quantity": "99999999",
            "reason": "damage",
            "note": "破损",
        },
    )
    assert "报损数量太大：一次最多100000" in huge.get_data(as_text=True)
    r = client.post(
        "/stock/adjustments",
        data={"product_id": str(rice.id), "quantity": "3", "reason": "damage", "note": "老鼠咬破"},
    )
    assert r.status_code == 302
    page = client.get("/stock/adjustments").get_data(as_text=True)
    assert "报损申请已提交" in page and "老鼠咬破" in page and "待审批" in page
    assert "/approve" not in page and "/reject" not in page  # keepers do not decide
    req = db.session.scalar(sa.select(StockAdjustment))
    assert client.post(f"/stock/adjustments/{req.id}/approve").status_code == 403
    client.post("/logout")
    login(client, "admin1")
    page = client.get("/stock/adjustments").get_data(as_text=True)
    assert f"/stock/adjustments/{req.id}/approve" in page
    r = client.post(f"/stock/adjustments/{req.id}/approve")
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Product, rice.id).stock_qty == 7
    twice = client.post(f"/stock/adjustments/{req.id}/approve")
    assert twice.status_code == 422 and "已批准" in twice.get_data(as_text=True)


def test_an_admin_sees_no_approve_button_on_their_own_request(client, admin, rice):
    login(client, "admin1")
    client.post(
        "/stock/adjustments",
        data={"product_id": str(rice.id), "quantity": "1", "reason": "expiry", "note": "过期"},
    )
    req = db.session.scalar(sa.select(StockAdjustment))
    page = client.get("/stock/adjustments").get_data(as_text=True)
    assert f"/stock/adjustments/{req.id}/approve" not in page
    assert f"/stock/adjustments/{req.id}/reject" in page and "撤回" in page
    r = client.post(f"/stock/adjustments/{req.id}/approve")
    assert r.status_code == 422 and "不能审批自己提交的报损申请" in r.get_data(as_text=True)


@pytest.fixture
def redeemed(supermarket, keeper, rice):
    hh = factories.household(supermarket, points=100, head_name="张三丰", number="DC-001")
    _, payload = factories.card(hh)
    return redeem(
        supermarket.id,
        card_payload=payload,
        lines=[CartLine(rice.id, 2)],
        keeper=keeper,
        idempotency_key="web-ledger-0001",
    )


def test_the_ledgers_page_and_export(client, supervisor, rice, redeemed):
    login(client, "super1")
    page = client.get("/stock/ledgers").get_data(as_text=True)
    assert "物品入库台账" in page and "RK000001" in page and "金龙鱼大米5kg" in page
    page = client.get("/stock/ledgers?book=redemption").get_data(as_text=True)
    assert "DC-001" in page and "张*丰" in page and "张三丰" not in page
    assert 'id="f-household"' in page
    r = client.get("/stock/ledgers/export?book=redemption&household=DC-001")
    assert r.status_code == 200
    assert r.mimetype.endswith("spreadsheetml.sheet")
    assert "filename*=UTF-8''" in r.headers["Content-Disposition"]
    rows = read_rows(r.data)
    assert rows[0][0] == "物品兑换领取台账"
    assert rows[5][2:6] == ["DC-001", "张*丰", "金龙鱼大米5kg", 2]
    r = client.get("/stock/ledgers/export?book=stock_in")
    assert read_rows(r.data)[0][0] == "物品入库台账"


def test_bad_ledger_filters_show_a_message(client, keeper, rice):
    login(client, "keeper1")
    page = client.get("/stock/ledgers?from=2026-11-10&to=2026-11-01").get_data(as_text=True)
    assert "结束日期不能早于开始日期" in page
    r = client.get("/stock/ledgers/export?from=bad")
    assert r.status_code == 302 and "/stock/ledgers" in r.headers["Location"]


def test_the_ledger_pages_through_long_months(client, keeper, supermarket):
    p = factories.product(supermarket, name="盐", stock_qty=0)
    from inventory.stock import StockInLine, create_stock_in

    create_stock_in(supermarket.id, [StockInLine(p.id, 1, 100)] * 120, actor=keeper)
    login(client, "keeper1")
    page = client.get("/stock/ledgers").get_data(as_text=True)
    assert "第1页，共3页" in page and 'id="page-next"' in page and 'id="page-prev"' not in page
    page = client.get("/stock/ledgers?page=3").get_data(as_text=True)
    assert "第3页，共3页" in page and page.count('class="num"') // 3 == 20
    assert "共120行" in page


@pytest.mark.parametrize("url", PAGES)
def test_the_pages_render_in_english_too(client, keeper, rice, url):
    login(client, "keeper1")
    r = client.get(url + "?lang=en")
    assert r.status_code == 200
    assert '<html lang="en">' in r.get_data(as_text=True)
