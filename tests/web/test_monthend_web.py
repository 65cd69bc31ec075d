"""The month-end pages: who may see, close and print; the report on screen, in XLSX, on the
A4 page and on the summary slip; refusals shown on the page and nothing lost."""

from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa

from hardware import slips
from hardware.receipt import slip_text, text_width
from inventory import monthend, periods
from inventory.models import COUNT_SUBMITTED, MonthClose, Stocktake
from kiosk.database import write_transaction
from kiosk.export import read_rows
from kiosk.extensions import db
from kiosk.models import PrintJob
from tests import factories
from tests.services import test_monthend as scenario

books = scenario.books  # the February–March 2025 scenario, as a fixture here too


def _login(client, username: str) -> None:
    r = client.post("/login/password", data={"username": username, "password": "secret123"})
    assert r.status_code in (302, 303)


@pytest.mark.parametrize(
    ("who", "status"), [("keeper1", 200), ("admin1", 200), ("super1", 200), (None, 302)]
)
def test_pages_open_for_the_office_roles(client, books, keeper, admin, supervisor, who, status):
    if who:
        _login(client, who)
    for url in ("/month-end/", "/month-end/2025-03", "/month-end/2025-03/print"):
        assert client.get(url).status_code == status
    assert client.get("/month-end/2025-03/report.xlsx").status_code == status


def test_bad_month_is_not_found(client, books, admin):
    _login(client, "admin1")
    assert client.get("/month-end/2025-13").status_code == 404
    assert client.get("/month-end/latest").status_code == 404


@pytest.mark.parametrize("who", ["keeper1", "super1"])
def test_only_admins_may_close(client, books, keeper, supervisor, who):
    _login(client, who)
    page = client.get("/month-end/2025-02").get_data(as_text=True)
    assert 'id="me-close"' not in page
    assert client.post("/month-end/2025-02/close").status_code == 403
    assert db.session.scalar(sa.select(sa.func.count(MonthClose.id))) == 0


def test_admin_closes_in_order_and_sees_the_lock(client, books, admin):
    _login(client, "admin1")
    index = client.get("/month-end/").get_data(as_text=True)
    assert "2025-02" in index and "2025-04" in index  # first month .. the current month
    page = client.get("/month-end/2025-03").get_data(as_text=True)
    assert "月份要按顺序结账：请先结 2025-02" in page and 'id="me-close"' not in page
    # Posting the form anyway is refused with the reason, and nothing is closed.
    r = client.post("/month-end/2025-03/close", follow_redirects=True)
    assert "月份要按顺序结账" in r.get_data(as_text=True)
    assert not periods.is_closed(books["rice"].supermarket_id, "2025-03")

    page = client.get("/month-end/2025-02").get_data(as_text=True)
    assert 'id="me-close"' in page
    r = client.post("/month-end/2025-02/close")
    assert r.status_code == 302 and r.headers["Location"].endswith("/month-end/2025-02")
    page = client.get("/month-end/2025-02").get_data(as_text=True)
    assert "2025-02 已结账" in page and "me-state-closed" in page and 'id="me-close"' not in page
    r = client.post("/month-end/2025-03/close", follow_redirects=True)
    assert "2025-03 已结账" in r.get_data(as_text=True)
    index = client.get("/month-end/").get_data(as_text=True)
    assert index.count("me-tag-closed") == 2
    # A closed month refuses a second close, said on the page.
    r = client.post("/month-end/2025-03/close", follow_redirects=True)
    assert "不能结账：2025-03 已经结账" in r.get_data(as_text=True)


def test_an_unposted_count_is_listed_as_the_reason(client, books, admin):
    monthend.close_month(books["rice"].supermarket_id, "2025-02", actor=admin)
    with write_transaction():
        db.session.add(
            Stocktake(
                supermarket_id=books["rice"].supermarket_id,
                status=COUNT_SUBMITTED,
                started_at=factories.utc(datetime(2025, 3, 29, 9, 0)),
            )
        )
    _login(client, "admin1")
    page = client.get("/month-end/2025-03").get_data(as_text=True)
    assert "已提交待审核，盘点过账后才能结账" in page
    index = client.get("/month-end/").get_data(as_text=True)
    assert "已提交待审核" in index


def test_report_page_and_a4_show_the_figures(client, books, supervisor):
    _login(client, "super1")
    page = client.get("/month-end/2025-03").get_data(as_text=True)
    assert "未结账（预览）" in page
    assert 'id="me-closing-value">381.71<' in page  # 307.99 + 73.72
    assert 'id="me-fund-closing">1055.00<' in page
    assert "积分向上取整的进位差" in page and ">1.20<" in page
    a4 = client.get("/month-end/2025-03/print").get_data(as_text=True)
    for line in ("超市管理员（经办）", "村两委（审核）", "监督小组（监督）"):
        assert line in a4
    assert "@media print" in client.get("/static/css/monthend.css").get_data(as_text=True)


def test_xlsx_has_stock_fund_and_tieout(client, books, keeper):
    _login(client, "keeper1")
    r = client.get("/month-end/2025-03/report.xlsx")
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    stock = read_rows(r.data, 0)
    assert stock[0][0] == "库存月结表 2025-03"
    header = stock[2]
    rice = next(row for row in stock if row[1] == "大米5kg")
    assert rice[header.index("期初数量")] == 10
    assert rice[header.index("期末账面")] == 12
    assert float(rice[header.index("期末金额")]) == 307.99
    assert rice[header.index("盘点实数")] == 12
    total = next(row for row in stock if row[1] == "合计")
    assert float(total[header.index("期末金额")]) == 381.71
    assert any("监督小组签字" in str(row[0]) for row in stock if row and row[0])
    fund_rows = read_rows(r.data, 1)
    assert any(row[0] == "期末余额" and float(row[1]) == 1055 for row in fund_rows if row[0])
    tie = read_rows(r.data, 2)
    diff = next(row for row in tie if row[0] and row[0].startswith("差额"))
    assert float(diff[2]) == 1.20


def test_summary_slip_prints(client, books, keeper, admin):
    monthend.close_month(books["rice"].supermarket_id, "2025-02", actor=admin)
    monthend.close_month(books["rice"].supermarket_id, "2025-03", actor=admin)
    _login(client, "keeper1")
    r = client.post("/month-end/2025-03/slip", follow_redirects=True)
    assert "月结小票已打印" in r.get_data(as_text=True)
    job = db.session.scalar(sa.select(PrintJob).where(PrintJob.kind == "month_end"))
    assert job.status == "printed"
    for text in ("月结汇总 2025-03", "已结账", "381.71", "1055.00", "进位差", "监督小组："):
        assert text in job.text
    assert job.payload.startswith(b"\x1b@")


def test_slip_layout_fits_the_paper():
    data = slips.MonthSlipData(
        supermarket_name="大同镇积分超市",
        month="2025-03",
        state="未结账（预览，数字可能还会变化）",
        stock=[("期初", "309.00"), ("期末", "381.71")],
        fund=[("期末", "1055.00")],
        tieout=[("兑换积分（净）", "65分")],
    )
    for columns in (32, 48):
        slip = slips.month_end_slip(data, columns)
        text = slip_text(slip)
        assert all(text_width(line) <= columns for line in text.splitlines())
        assert "月结汇总 2025-03" in text and "期末" in text and "村两委：" in text
