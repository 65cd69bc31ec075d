"""The two books (台账): the stock-in ledger and the redemption / pickup ledger, their rows for a
range of local dates with filters, voids shown and reversed, and the XLSX read back."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
import sqlalchemy as sa

from inventory import ledgers
from inventory.models import StockMovement
from inventory.stock import StockInLine, create_stock_in
from kiosk.clock import local_now, local_to_utc
from kiosk.database import write_transaction
from kiosk.errors import ValidationFailed
from kiosk.export import read_rows
from kiosk.extensions import db
from kiosk.models import Redemption, Supermarket
from kiosk.redemption import CartLine, redeem, void_redemption
from tests import factories


@pytest.fixture
def books(supermarket, keeper, admin):
    """Two stock-ins by two people, one redemption standing and one voided."""
    rice = factories.product(supermarket, name="金龙鱼大米5kg", stock_qty=0, unit="袋")
    soap = factories.product(supermarket, name="雕牌洗衣皂", stock_qty=0, unit="块")
    first = create_stock_in(
        supermarket.id,
        [StockInLine(rice.id, 10, 2500), StockInLine(soap.id, 20, 300)],
        actor=keeper,
        supplier="县粮油公司",
        invoice_no="FP-001",
        paid_from="村集体",
    )
    second = create_stock_in(
        supermarket.id, [StockInLine(soap.id, 5, 320)], actor=admin, paid_from="镇奖励"
    )
    zhang = factories.household(supermarket, points=200, head_name="张三丰", number="DC-001")
    li = factories.household(supermarket, points=200, head_name="李四", number="DC-002")
    _, zhang_card = factories.card(zhang)
    _, li_card = factories.card(li)
    kept = redeem(
        supermarket.id,
        card_payload=zhang_card,
        lines=[CartLine(rice.id, 2), CartLine(soap.id, 1)],
        keeper=keeper,
        idempotency_key="ledger-key-0001",
    )
    voided = redeem(
        supermarket.id,
        card_payload=li_card,
        lines=[CartLine(soap.id, 3)],
        keeper=keeper,
        idempotency_key="ledger-key-0002",
    )
    void_redemption(voided.id, actor=admin, reason="扫错了户")
    return {
        "rice": rice,
        "soap": soap,
        "first": first,
        "second": second,
        "kept": kept,
        "voided": voided,
    }


def today_filters(**kw):
    today = local_now().date().isoformat()
    return ledgers.make_filters(today, today, **kw)


def test_the_stock_in_ledger_lists_every_line_in_order(app, supermarket, keeper, admin, books):
    rows = ledgers.stock_in_rows(supermarket.id, today_filters())
    assert [
        (r.document_no, r.product_name, r.quantity, r.unit_cost_fen, r.amount_fen, r.paid_from)
        for r in rows
    ] == [
        ("RK000001", "金龙鱼大米5kg", 10, 2500, 25000, "村集体"),
        ("RK000001", "雕牌洗衣皂", 20, 300, 6000, "村集体"),
        ("RK000002", "雕牌洗衣皂", 5, 320, 1600, "镇奖励"),
    ]
    assert [r.keeper for r in rows] == ["王店长", "王店长", "李主任"]
    assert rows[0].source == "县粮油公司" and rows[0].invoice_no == "FP-001"
    # Filters: goods, and who received them.
    by_soap = ledgers.stock_in_rows(supermarket.id, today_filters(product_id=books["soap"].id))
    assert [r.quantity for r in by_soap] == [20, 5]
    by_admin = ledgers.stock_in_rows(supermarket.id, today_filters(keeper_id=str(admin.id)))
    assert [r.document_no for r in by_admin] == ["RK000002"]


def test_the_date_range_is_in_local_days(app, supermarket, keeper, books):
    # Move the second stock-in to 23:30 local time on the last day of the previous month.
    first_of_month = local_now().date().replace(day=1)
    late = local_to_utc(datetime.combine(first_of_month - timedelta(days=1), time(23, 30)))
    with write_transaction():
        for m in db.session.scalars(
            sa.select(StockMovement).where(
                StockMovement.ref_type == "stock_in", StockMovement.ref_id == books["second"].id
            )
        ):
            m.created_at = late
    this_month = ledgers.stock_in_rows(supermarket.id, ledgers.make_filters(None, None))
    assert {r.document_no for r in this_month} == {"RK000001"}
    last_day = (first_of_month - timedelta(days=1)).isoformat()
    that_day = ledgers.stock_in_rows(supermarket.id, ledgers.make_filters(last_day, last_day))
    assert [r.document_no for r in that_day] == ["RK000002"]
    assert that_day[0].when.hour == 23 and that_day[0].when.minute == 30


def test_the_redemption_ledger_marks_voids_and_reverses_them(app, supermarket, keeper, books):
    rows = ledgers.redemption_rows(supermarket.id, today_filters())
    got = [
        (r.household_no, r.masked_name, r.product_name, r.quantity, r.points, r.keeper, r.status)
        for r in rows
    ]
    assert got == [
        ("DC-001", "张*丰", "金龙鱼大米5kg", 2, 50, "王店长", ""),
        ("DC-001", "张*丰", "雕牌洗衣皂", 1, 4, "王店长", ""),
        ("DC-002", "李*", "雕牌洗衣皂", 3, 12, "王店长", "已作废"),
        ("DC-002", "李*", "雕牌洗衣皂", -3, -12, "李主任", "作废冲回"),
    ]
    assert rows[2].void_reason == rows[3].void_reason == "扫错了户"
    assert sum(r.points for r in rows) == 54
    assert "张三丰" not in repr(rows) and "李四" not in repr(rows)
    by_house = ledgers.redemption_rows(supermarket.id, today_filters(household_no="DC-002"))
    assert [r.quantity for r in by_house] == [3, -3]
    by_rice = ledgers.redemption_rows(supermarket.id, today_filters(product_id=books["rice"].id))
    assert [(r.product_name, r.quantity) for r in by_rice] == [("金龙鱼大米5kg", 2)]
    # The keeper filter follows the keeper column: who handed out, or who voided.
    admin_id = db.session.get(Redemption, books["voided"].id).voided_by_id
    assert [
        r.status for r in ledgers.redemption_rows(supermarket.id, today_filters(keeper_id=admin_id))
    ] == ["作废冲回"]


def test_a_void_in_a_later_range_shows_only_the_reversal(app, supermarket, books):
    # The redemption was made yesterday (local), voided today.
    yesterday = local_now() - timedelta(days=1)
    with write_transaction():
        db.session.get(Redemption, books["voided"].id).created_at = local_to_utc(yesterday)
    rows = ledgers.redemption_rows(supermarket.id, today_filters(household_no="DC-002"))
    assert [(r.quantity, r.status) for r in rows] == [(-3, "作废冲回")]
    day = yesterday.date().isoformat()
    rows = ledgers.redemption_rows(
        supermarket.id, ledgers.make_filters(day, day, household_no="DC-002")
    )
    assert [(r.quantity, r.status) for r in rows] == [(3, "已作废")]


def test_stock_in_xlsx_reads_back_as_printed(app, supermarket, books):
    sm = db.session.get(Supermarket, supermarket.id)
    filters = today_filters()
    data, name = ledgers.ledger_xlsx("stock_in", sm, filters)
    day = filters.date_from.isoformat()
    assert name == f"物品入库台账_{filters.date_from:%Y%m%d}-{filters.date_to:%Y%m%d}.xlsx"
    rows = read_rows(data)
    assert rows[0][0] == "物品入库台账"
    assert rows[1][0] == "超市：大同镇积分超市"
    assert rows[2][0] == f"日期：{day} 至 {day}"
    assert rows[3] == list(ledgers.STOCK_IN_HEADERS)
    assert rows[4] == [
        day,
        "RK000001",
        "金龙鱼大米5kg",
        "袋",
        10,
        25,
        250,
        "县粮油公司",
        "FP-001",
        "村集体",
        "王店长",
    ]
    assert rows[6][:7] == [day, "RK000002", "雕牌洗衣皂", "块", 5, 3.2, 16]
    assert rows[7][0] == "合计" and rows[7][4] == 35 and rows[7][6] == 326
    assert rows[-1][0].startswith("经办人：") and "审核人：" in rows[-1][0]


def test_redemption_xlsx_masks_names_and_nets_voids(app, supermarket, books):
    sm = db.session.get(Supermarket, supermarket.id)
    filters = today_filters(household_no="DC-002")
    data, name = ledgers.ledger_xlsx("redemption", sm, filters)
    assert name.startswith("物品兑换领取台账_")
    rows = read_rows(data)
    assert rows[0][0] == "物品兑换领取台账"
    assert rows[3][0] == "筛选：户号：DC-002"
    assert rows[4] == list(ledgers.REDEMPTION_HEADERS)
    day = filters.date_from.isoformat()
    receipt = books["voided"].receipt_no
    assert rows[5] == [
        day,
        receipt,
        "DC-002",
        "李*",
        "雕牌洗衣皂",
        3,
        "块",
        12,
        "王店长",
        "已作废：扫错了户",
    ]
    assert rows[6] == [
        day,
        receipt,
        "DC-002",
        "李*",
        "雕牌洗衣皂",
        -3,
        "块",
        -12,
        "李主任",
        "作废冲回：扫错了户",
    ]
    assert rows[7][0] == "合计" and rows[7][5] == 0 and rows[7][7] == 0
    flat = repr(rows)
    assert "李四" not in flat and "张三丰" not in flat


@pytest.mark.parametrize(
    "start,end,match",
    [
        ("2026-13-01", None, "日期格式"),
        ("2026-11-10", "2026-11-01", "结束日期"),
        ("2020-01-01", "2026-01-01", "两年"),
    ],
)
def test_bad_ranges_are_refused(app, start, end, match):
    with pytest.raises(ValidationFailed, match=match):
        ledgers.make_filters(start, end)


def test_the_default_range_is_this_local_month(app):
    f = ledgers.make_filters(None, None)
    today = local_now().date()
    assert f.date_from == today.replace(day=1)
    assert f.date_to.month == today.month and (f.date_to + timedelta(days=1)).day == 1
    one_day = ledgers.make_filters("2026-03-05", None)
    assert (one_day.date_from.isoformat(), one_day.date_to.isoformat()) == ("2026-03-05",) * 2


def test_the_cli_exports_a_ledger(app, runner, supermarket, books, tmp_path):
    out = tmp_path / "入库.xlsx"
    today = local_now().date().isoformat()
    result = runner.invoke(
        args=["ledger", "stock-in", "--from", today, "--to", today, "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert f"已导出 {out}" in result.output
    rows = read_rows(out.read_bytes())
    assert rows[0][0] == "物品入库台账" and rows[4][1] == "RK000001"
    bad = runner.invoke(args=["ledger", "redemption", "--from", "2026-11-10", "--to", "2026-11-01"])
    assert bad.exit_code != 0 and "结束日期不能早于开始日期" in bad.output


def test_goods_donated_in_kind_are_in_the_stock_in_ledger_with_the_donor_masked(
    app, supermarket, keeper
):
    from inventory import donations

    oil = factories.product(supermarket, name="花生油1.8L", stock_qty=0, unit="桶")
    person = donations.create_donor(supermarket.id, name="王德福", kind="xiangxian", actor=keeper)
    firm = donations.create_donor(
        supermarket.id, name="县农商银行", kind="enterprise", actor=keeper
    )
    receipts = []
    for donor in (person, firm):
        receipts.append(
            donations.record_goods_donation(
                supermarket.id,
                donor_id=donor.id,
                lines=[donations.GoodsLine(oil.id, 4, 3000)],
                donated_on=local_now().date(),
                actor=keeper,
            ).receipt_no
        )
    rows = ledgers.stock_in_rows(supermarket.id, today_filters())
    assert [(r.source, r.paid_from, r.quantity, r.amount_fen, r.document_no) for r in rows] == [
        ("捐赠：王*福", "捐赠", 4, 12000, receipts[0]),
        ("捐赠：县农商银行", "捐赠", 4, 12000, receipts[1]),
    ]
    assert "王德福" not in repr(rows)
