"""The stock-in slip (物品入库单): laid out from plain data and decoded back from the ESC/POS
bytes to the expected Chinese lines; printed by the service as a "stock_in" job; and printed by
``POST /api/v1/stock-ins`` with ``print_slip`` only after the stock-in has committed, which
stands whatever the printer does."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from hardware import slips
from hardware.receipt import render_slip_escpos, text_width
from inventory import printouts
from inventory.models import Product, StockMovement
from inventory.stock import StockInLine, receive_stock
from kiosk.errors import NotFound
from kiosk.extensions import db
from kiosk.models import PrintJob
from tests import factories
from tests.api.test_api_helpers import as_keeper_fixture, check_schema
from tests.escpos_decode import decode
from tests.hardware.test_printing import FakeNetworkPrinter

__all__ = ["as_keeper_fixture"]

DATA = slips.StockInSlipData(
    supermarket_name="大同镇积分超市",
    when="2024-03-01 10:00:00",
    supplier="县粮油公司",
    invoice_no="FP-001",
    lines=[
        slips.StockInItem("金龙鱼大米5kg", 10, "袋", "35.00", "350.00"),
        slips.StockInItem("洗衣粉", 3, "包", "12.50", "37.50"),
    ],
    total="387.50",
    keeper="王店长",
)


def _table(columns: int, name: str, qty: str, cost: str) -> str:
    """A goods row as the slip lays it out: quantity and amount right-aligned in their columns."""
    qty_w, cost_w = 6, 10  # the widest cells ("10袋", "金额(元)") plus two spaces
    return (
        name
        + " " * (columns - qty_w - cost_w - text_width(name))
        + qty.rjust(qty_w - (text_width(qty) - len(qty)))
        + cost.rjust(cost_w - (text_width(cost) - len(cost)))
    )


@pytest.mark.parametrize("paper,columns", [(58, 32), (80, 48)])
def test_stock_in_slip_decodes_to_the_expected_chinese_lines(paper, columns):
    printout = decode(render_slip_escpos(slips.stock_in_slip(DATA, columns), paper))
    rule = "-" * columns
    expected = [
        "大同镇积分超市",
        "物品入库单",
        rule,
        "时间：2024-03-01 10:00:00",
        "供货方：县粮油公司",
        "发票号：FP-001",
        rule,
        _table(columns, "物品", "数量", "金额(元)"),
        _table(columns, "金龙鱼大米5kg", "10袋", "350.00"),
        "  单价：35.00元/袋",
        _table(columns, "洗衣粉", "3包", "37.50"),
        "  单价：12.50元/包",
        rule,
        "品种数" + " " * (columns - 7) + "2",
        "合计金额(元)" + " " * (columns - 18) + "387.50",
        "经办人：王店长",
        rule,
        "",
        "",
        "经办人签字：" + "_" * (columns - 12),
        "",
        "",
        "验收人签字：" + "_" * (columns - 12),
    ]
    assert printout.lines[: len(expected)] == expected
    assert all(line == "" for line in printout.lines[len(expected) :])
    assert max(line.columns for line in printout.text_lines) == columns
    assert printout.qr_codes == []
    assert len(printout.cuts) == 1


def test_a_long_name_and_a_blank_supplier():
    data = slips.StockInSlipData(
        "超市",
        "2024-03-01 10:00:00",
        "",
        "",
        [slips.StockInItem("特级" * 12, 1, "件", "1.00", "1.00")],
    )
    lines = decode(render_slip_escpos(slips.stock_in_slip(data, 32), 58)).lines
    assert "供货方：（未填）" in lines and "发票号：（未填）" in lines
    assert all(text_width(line) <= 32 for line in lines)
    assert "".join(line.strip() for line in lines).count("特级") == 12


def _stock_in(supermarket, keeper) -> list[StockMovement]:
    rice = factories.product(supermarket, name="大米", cost_fen=2000, stock_qty=0, unit="袋")
    oil = factories.product(supermarket, name="花生油", cost_fen=1000, stock_qty=0, unit="桶")
    return receive_stock(
        supermarket.id,
        [StockInLine(rice.id, 10, 3550), StockInLine(oil.id, 2, 4990)],
        actor=keeper,
        supplier="镇供销社",
        invoice_no="FP-9",
    )


def test_printing_the_slip_of_a_stock_in(app, supermarket, keeper):
    movements = _stock_in(supermarket, keeper)
    job = printouts.print_stock_in_slip([m.id for m in movements], actor=keeper)
    assert (job.kind, job.status, job.redemption_id) == ("stock_in", "printed", None)
    lines = decode(job.payload).lines
    assert lines[:2] == [supermarket.name, "物品入库单"]
    assert "供货方：镇供销社" in lines and "发票号：FP-9" in lines
    assert "  单价：35.50元/袋" in lines and "  单价：49.90元/桶" in lines
    assert any(line.startswith("大米") and line.endswith("355.00") for line in lines)
    assert any(line.startswith("花生油") and line.endswith("99.80") for line in lines)
    assert any(line.startswith("合计金额(元)") and line.endswith("454.80") for line in lines)
    assert "经办人：王店长" in lines
    assert "物品入库单" in job.text


def test_unknown_movements_are_refused(app, supermarket, keeper):
    with pytest.raises(NotFound):
        printouts.print_stock_in_slip([12345], actor=keeper)


def test_api_prints_the_slip_after_the_stock_in(app, as_keeper, supermarket):
    rice = factories.product(supermarket, name="大米", cost_fen=2000, stock_qty=0, unit="袋")
    r = as_keeper.post(
        "/api/v1/stock-ins",
        {
            "supplier": "镇供销社",
            "lines": [{"product_id": rice.id, "quantity": 5, "unit_cost_fen": 3000}],
            "print_slip": True,
        },
    )
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    check_schema(body, "StockInResult")
    assert (body["slip"]["kind"], body["slip"]["status"]) == ("stock_in", "printed")
    assert "合计金额(元)" in body["slip"]["text"]
    r = as_keeper.post(
        "/api/v1/stock-ins",
        {"lines": [{"product_id": rice.id, "quantity": 1, "unit_cost_fen": 3000}]},
    )
    assert r.status_code == 201
    assert "slip" not in r.get_json()


def test_a_dead_printer_never_undoes_the_stock_in(app, as_keeper, supermarket):
    fake = FakeNetworkPrinter()  # bound, not listening: connections are refused
    app.config["JIFEN_PRINTER"] = fake.config()
    try:
        rice = factories.product(supermarket, name="大米", cost_fen=2000, stock_qty=0)
        r = as_keeper.post(
            "/api/v1/stock-ins",
            {
                "lines": [{"product_id": rice.id, "quantity": 7, "unit_cost_fen": 3000}],
                "print_slip": True,
            },
        )
    finally:
        fake.stop()
    assert r.status_code == 201
    slip = r.get_json()["slip"]
    assert (slip["kind"], slip["status"]) == ("stock_in", "failed")
    db.session.expire_all()
    assert db.session.get(Product, rice.id).stock_qty == 7
    job = db.session.scalar(sa.select(PrintJob).where(PrintJob.kind == "stock_in"))
    assert job.status == "failed" and job.last_error


def test_a_bad_print_slip_flag_refuses_the_whole_request(app, as_keeper, supermarket):
    rice = factories.product(supermarket, name="大米", cost_fen=2000, stock_qty=0)
    r = as_keeper.post(
        "/api/v1/stock-ins",
        {
            "lines": [{"product_id": rice.id, "quantity": 7, "unit_cost_fen": 3000}],
            "print_slip": "yes",
        },
    )
    assert r.status_code == 400
    assert r.get_json()["error"]["details"]["field"] == "print_slip"
    db.session.expire_all()
    assert db.session.get(Product, rice.id).stock_qty == 0
    assert db.session.scalar(sa.select(sa.func.count(StockMovement.id))) == 0
