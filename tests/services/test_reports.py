"""The report functions (kiosk/reports/) that the office's pages and ``jifen report`` share:
each workbook is opened with openpyxl and its cells read back."""

from __future__ import annotations

from datetime import date

import pytest

from inventory import donations
from kiosk import audit, intake, standards
from kiosk.export import read_rows
from kiosk.reports import audit as audit_reports
from kiosk.reports import fund as fund_reports
from kiosk.reports import intake as intake_reports
from kiosk.reports import monthend as monthend_reports
from kiosk.reports import visits as visit_reports
from kiosk.timeutil import local_date, utcnow
from tests import factories


@pytest.fixture
def admin2(supermarket):
    return factories.user("admin2", "admin", supermarket, display_name="周书记")


@pytest.fixture
def today(app):
    return local_date(utcnow(), app.config["JIFEN_TIMEZONE"])


def _body(rows: list[list], header: str) -> list[list]:
    """The rows under the header row whose first cell is ``header``, up to the first blank."""
    start = next(i for i, r in enumerate(rows) if r[0] == header) + 1
    body = []
    for row in rows[start:]:
        if all(v is None for v in row):
            break
        body.append(row)
    return body


def test_proposals_register_lists_every_proposal_with_its_state(supermarket, admin, admin2):
    home = factories.household(supermarket, number="A-01", head_name="张三")
    first = intake.propose(
        supermarket.id,
        intake.ProposalInput(home.id, date(2024, 5, 1), amount=5, reason="打扫卫生"),
        actor=admin,
    )
    intake.approve(first.id, actor=admin2)
    intake.propose(
        supermarket.id,
        intake.ProposalInput(home.id, date(2024, 5, 2), amount=-2, reason="乱堆乱放"),
        actor=admin,
    )
    data, name = intake_reports.proposals_xlsx(supermarket)
    assert name == "加减分台账.xlsx"
    rows = read_rows(data)
    assert rows[0][0] == "加减分登记台账"
    assert rows[1][0] == supermarket.name
    body = _body(rows, "编号")
    assert [(r[1], r[2], r[3], r[6], r[7], r[9], r[10], r[11]) for r in body] == [
        ("2024-05-01", "A-01", "张三", "打扫卫生", 5, "已确认", "李主任", "周书记"),
        ("2024-05-02", "A-01", "张三", "乱堆乱放", -2, "待确认", "李主任", None),
    ]
    assert rows[-1][0].startswith("评议小组签字")


def test_standards_list_shows_retired_ones_as_such(supermarket, admin):
    standards.create_item(supermarket.id, code="K1", title="打扫卫生", points=2, actor=admin)
    old = standards.create_item(supermarket.id, code="K2", title="乱扔垃圾", points=-1, actor=admin)
    standards.update_item(old.id, title="乱扔垃圾", points=-1, active=False, actor=admin)
    data, name = intake_reports.standards_xlsx(supermarket)
    assert name == "积分标准.xlsx"
    body = _body(read_rows(data), "编号")
    assert [r[:5] for r in body if r[0] in ("K1", "K2")] == [
        ["K1", "打扫卫生", 2, None, "使用中"],
        ["K2", "乱扔垃圾", -1, None, "已停用"],
    ]


def test_fund_reports_the_pool_the_register_and_the_public_list(supermarket, keeper, admin, today):
    donor = donations.create_donor(supermarket.id, name="王德福", kind="xiangxian", actor=keeper)
    kept = donations.record_cash_donation(
        supermarket.id, donor_id=donor.id, amount_fen=50000, donated_on=today, actor=keeper
    )
    wrong = donations.record_cash_donation(
        supermarket.id, donor_id=donor.id, amount_fen=1000, donated_on=today, actor=keeper
    )
    donations.reverse_donation(wrong.id, actor=admin, reason="金额记错")

    data, name = fund_reports.pool_ledger_xlsx(supermarket, today, today)
    assert name == f"基金池台账_{today.isoformat()}_{today.isoformat()}.xlsx"
    rows = read_rows(data)
    assert rows[0][0] == f"{supermarket.name} 基金池台账"
    body = _body(rows, "时间")
    assert [r[1] for r in body[:-1]] == ["捐赠收入", "捐赠收入", "冲销"]
    assert body[-1][0] == "合计"
    assert [str(r[6]) for r in body] == ["500", "510", "500", "500"]  # the running balance
    assert body[0][7] == "王店长"

    data, name = fund_reports.donations_xlsx(supermarket, today, today)
    assert name.startswith("捐赠登记簿_")
    body = _body(read_rows(data), "收据号")
    assert [(r[0], r[2], r[3], r[4], str(r[6]), r[7]) for r in body] == [
        (kept.receipt_no, "王德福", "乡贤", "现金", "500", "有效"),
        (wrong.receipt_no, "王德福", "乡贤", "现金", "10", "已撤销"),
    ]
    assert body[1][8] == "金额记错"

    data, name = fund_reports.public_list_xlsx(supermarket, today, today)
    assert name.startswith("捐赠公示_")
    rows = read_rows(data)
    body = _body(rows, "序号")
    assert [str(r[6]) for r in body] == ["500", "500"]  # the reversed one is not published
    assert body[-1][1] == "合计"
    assert "13800000000" not in str(rows)


def test_visit_list_marks_who_was_visited(supermarket, admin, today):
    seen = factories.household(supermarket, number="A-01", head_name="张三")
    factories.household(supermarket, number="A-02", head_name="李四")
    intake.propose(
        supermarket.id,
        intake.ProposalInput(seen.id, today, amount=1, reason="打扫卫生"),
        actor=admin,
    )
    data, name = visit_reports.month_visits_xlsx(supermarket, today.replace(day=1))
    assert name == f"月记录-{today:%Y-%m}.xlsx"
    body = _body(read_rows(data), "村民小组")
    assert [r[1:] for r in body] == [["A-01", "张三", "已记录", 1], ["A-02", "李四", "未记录", 0]]


def test_audit_log_in_words(supermarket, admin):
    factories.household(supermarket, number="A-01", head_name="张三")
    events = audit.all_matching(audit.LogFilter(supermarket_id=supermarket.id))
    data, name = audit_reports.log_xlsx(supermarket, events, "")
    assert name.startswith(f"操作日志-{supermarket.code}-")
    rows = read_rows(data)
    assert rows[2][0] == "全部日期"
    body = _body(rows, "链号")
    assert len(body) == len(events) > 0
    assert all(len(r[6]) == 16 for r in body)  # the hash's first 16 characters


def test_month_report_has_stock_fund_and_tieout_sheets(supermarket, today):
    factories.product(supermarket, name="大米", cost_fen=2500, stock_qty=4)
    month = f"{today:%Y-%m}"
    data, name = monthend_reports.month_report_xlsx(supermarket, month)
    assert name == f"月结对账表-{month}.xlsx"
    stock, pool, tie = (read_rows(data, i) for i in range(3))
    assert stock[0][0] == f"库存月结表 {month}"
    assert "未结账" in stock[1][0]
    rice = next(r for r in _body(stock, "编号") if r[1] == "大米")
    assert rice[17] == 4  # the book quantity at the end of the month
    assert [r[0] for r in _body(pool, "项目")] == [
        "期初余额",
        "现金捐赠",
        "采购支出",
        "撤销冲回",
        "期末余额",
    ]
    assert _body(tie, "项目")[0][0].startswith("本月兑换")
