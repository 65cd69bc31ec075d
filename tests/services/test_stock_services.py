"""Stock-in documents and write-offs (报损) as services, on both databases: numbering, moving
average and points price, the fund pool entry, every refusal leaving the books untouched."""

from __future__ import annotations

import dataclasses

import pytest
import sqlalchemy as sa

from inventory import adjustments, fund, printouts, stock
from inventory.models import (
    ADJ_APPROVED,
    ADJ_PENDING,
    ADJ_REJECTED,
    FUND_DONATION,
    FUND_PURCHASE,
    MOVE_ADJUSTMENT,
    PAID_FROM_FUND,
    FundEntry,
    MonthClose,
    Product,
    StockAdjustment,
    StockIn,
    StockMovement,
)
from inventory.periods import month_of
from inventory.stock import StockInLine, create_stock_in, parse_yuan
from kiosk.check import run_checks
from kiosk.database import write_transaction
from kiosk.errors import (
    AdjustmentAlreadyDecided,
    DuplicateValue,
    FundInsufficient,
    MonthClosed,
    NotFound,
    OutOfStock,
    PermissionDenied,
    ValidationFailed,
)
from kiosk.extensions import db
from kiosk.models import AuditEvent, Supermarket
from kiosk.rules import presets
from kiosk.timeutil import utcnow
from tests import factories


def _donate(sm, fen: int) -> None:
    with write_transaction():
        fund.post_entry(sm.id, FUND_DONATION, fen, actor=None, note="乡贤捐款")


def _close_this_month(sm) -> None:
    with write_transaction():
        db.session.add(MonthClose(supermarket_id=sm.id, month=month_of(utcnow()), report={}))


def _counts():
    db.session.expire_all()
    return (
        db.session.scalar(sa.select(sa.func.count(StockIn.id))),
        db.session.scalar(sa.select(sa.func.count(StockMovement.id))),
        db.session.scalar(sa.select(sa.func.count(FundEntry.id))),
        db.session.scalar(sa.select(sa.func.count(StockAdjustment.id))),
    )


@pytest.fixture
def rice(supermarket):
    return factories.product(supermarket, name="金龙鱼大米5kg", cost_fen=0, stock_qty=0)


@pytest.fixture
def oil(supermarket):
    return factories.product(supermarket, name="花生油1.8L", cost_fen=0, stock_qty=0, unit="桶")


# Parsing yuan -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,fen",
    [
        ("12", 1200),
        ("12.5", 1250),
        ("12.50", 1250),
        ("0.01", 1),
        ("0", 0),
        ("１２．３４", 1234),
        (" 3.10元 ", 310),
        ("100000", 10_000_000),
    ],
)
def test_yuan_is_parsed_exactly_to_fen(text, fen):
    assert parse_yuan(text) == fen


@pytest.mark.parametrize("text", ["100000.01", "9999999.99", "10000000", "99999999"])
def test_a_cost_too_large_says_the_limit_in_yuan(text):
    with pytest.raises(ValidationFailed, match="进价太大：每件最多100000元"):
        parse_yuan(text)


@pytest.mark.parametrize("text", ["", "-1", "1.234", "abc", "1,000", "1e3", ".5", "12."])
def test_bad_yuan_is_refused_in_chinese(text):
    with pytest.raises(ValidationFailed, match="进价要写成元"):
        parse_yuan(text)


def test_float_traps_do_not_exist():
    # 0.29 * 100 == 28.999999999999996 in binary floating point: never here.
    assert parse_yuan("0.29") == 29
    assert parse_yuan("1.15") == 115


# Stock-in documents -------------------------------------------------------------------------


def test_stock_in_makes_a_numbered_document_and_moves_cost_and_points(
    app, supermarket, keeper, rice, oil
):
    # 10 points per yuan, so the points price visibly follows the policy.
    factories.policy(
        supermarket, dataclasses.replace(presets.preset("gaoyang"), points_per_yuan=10)
    )
    doc = create_stock_in(
        supermarket.id,
        [StockInLine(rice.id, 10, 2500), StockInLine(oil.id, 4, 3333)],
        actor=keeper,
        supplier="县粮油公司",
        invoice_no="FP-001",
        paid_from="村集体",
        note="十月采购",
    )
    assert doc.number == 1 and doc.display_no == "RK000001"
    assert doc.total_cost_fen == 10 * 2500 + 4 * 3333
    assert (doc.paid_from, doc.fund_entry_id, doc.created_by_id) == ("村集体", None, keeper.id)
    moves = stock.stock_in_movements(doc.id)
    assert [(m.product_id, m.quantity, m.unit_cost_fen, m.ref_type) for m in moves] == [
        (rice.id, 10, 2500, "stock_in"),
        (oil.id, 4, 3333, "stock_in"),
    ]
    assert all(m.supplier == "县粮油公司" and m.invoice_no == "FP-001" for m in moves)
    # A second stock-in at another cost: the moving average, rounded half up, and the points.
    doc2 = create_stock_in(
        supermarket.id, [StockInLine(rice.id, 5, 2800)], actor=keeper, paid_from="镇奖励"
    )
    assert doc2.number == 2
    db.session.expire_all()
    r = db.session.get(Product, rice.id)
    assert r.stock_qty == 15
    assert r.unit_cost_fen == stock.moving_average(10, 2500, 5, 2800) == 2600
    assert r.points_price == 260
    o = db.session.get(Product, oil.id)
    assert (o.unit_cost_fen, o.points_price) == (3333, 334)  # 333.3 points, rounded up
    actions = db.session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.action.like("stock%")).order_by(AuditEvent.id)
    ).all()
    assert actions.count("stock_in.create") == 2 and actions.count("stock.in") == 3
    assert run_checks() == []


def test_two_lines_of_one_product_follow_each_other_through_the_average(
    app, supermarket, keeper, rice
):
    create_stock_in(
        supermarket.id, [StockInLine(rice.id, 2, 1000)], actor=keeper, paid_from="村集体"
    )
    create_stock_in(
        supermarket.id,
        [StockInLine(rice.id, 2, 2000), StockInLine(rice.id, 4, 500)],
        actor=keeper,
        paid_from="村集体",
    )
    db.session.expire_all()
    r = db.session.get(Product, rice.id)
    first = stock.moving_average(2, 1000, 2, 2000)
    assert r.unit_cost_fen == stock.moving_average(4, first, 4, 500)
    assert r.stock_qty == 8


def test_paid_from_the_fund_pool_posts_the_purchase(app, supermarket, admin, rice):
    _donate(supermarket, 50_000)
    doc = create_stock_in(
        supermarket.id, [StockInLine(rice.id, 10, 2500)], actor=admin, paid_from=PAID_FROM_FUND
    )
    entry = db.session.get(FundEntry, doc.fund_entry_id)
    assert (entry.kind, entry.amount_fen, entry.ref_type, entry.ref_id) == (
        FUND_PURCHASE,
        -25_000,
        "stock_in",
        doc.id,
    )
    assert entry.balance_after_fen == 25_000
    assert fund.balance_fen(supermarket.id) == 25_000


def test_the_fund_pool_refuses_beyond_its_advance_and_nothing_is_kept(
    app, supermarket, keeper, rice
):
    _donate(supermarket, 10_000)
    before = _counts()
    with pytest.raises(FundInsufficient) as err:
        create_stock_in(
            supermarket.id, [StockInLine(rice.id, 10, 2500)], actor=keeper, paid_from="fund"
        )
    assert err.value.details["needed_fen"] == 25_000
    assert "基金池余额不足" in err.value.message
    assert _counts() == before
    db.session.expire_all()
    assert db.session.get(Product, rice.id).stock_qty == 0
    assert fund.balance_fen(supermarket.id) == 10_000
    # Within the allowed advance it goes through, and the pool goes below zero.
    with write_transaction():
        db.session.get(Supermarket, supermarket.id).fund_advance_limit_fen = 20_000
    create_stock_in(
        supermarket.id, [StockInLine(rice.id, 10, 2500)], actor=keeper, paid_from="fund"
    )
    assert fund.balance_fen(supermarket.id) == -15_000


def test_the_pool_typed_by_name_is_the_pool(app, supermarket, keeper, rice):
    _donate(supermarket, 1000)
    doc = create_stock_in(
        supermarket.id, [StockInLine(rice.id, 1, 400)], actor=keeper, paid_from=" 基金池 "
    )
    assert doc.paid_from == PAID_FROM_FUND and doc.fund_entry_id is not None
    assert fund.balance_fen(supermarket.id) == 600


def test_other_sources_post_nothing_to_the_fund(app, supermarket, keeper, rice):
    doc = create_stock_in(
        supermarket.id, [StockInLine(rice.id, 1, 100)], actor=keeper, paid_from="镇奖励"
    )
    assert doc.fund_entry_id is None
    assert db.session.scalar(sa.select(sa.func.count(FundEntry.id))) == 0
    assert stock.paid_from_sources(supermarket.id) == ["镇奖励"]


def test_receive_stock_still_returns_the_movements_of_a_document(app, supermarket, rice):
    moves = stock.receive_stock(
        supermarket.id, [StockInLine(rice.id, 3, 700)], actor=None, supplier="镇供销社"
    )
    assert [(m.quantity, m.unit_cost_fen, m.ref_type) for m in moves] == [(3, 700, "stock_in")]
    doc = db.session.get(StockIn, moves[0].ref_id)
    assert (doc.paid_from, doc.supplier, doc.total_cost_fen) == ("", "镇供销社", 2100)


@pytest.mark.parametrize(
    "lines,error,match",
    [
        ([], ValidationFailed, "没有商品"),
        ([StockInLine(0, 0, 100)], ValidationFailed, "正整数"),
        ([StockInLine(0, -2, 100)], ValidationFailed, "正整数"),
        ([StockInLine(0, 1, -1)], ValidationFailed, "进价"),
        ([StockInLine(0, 1, 10_000_001)], ValidationFailed, "进价太大：每件最多100000元"),
        ([StockInLine(0, 99_999_999, 100)], ValidationFailed, "入库数量太大：一次最多100000"),
        ([StockInLine(0, True, 100)], ValidationFailed, "正整数"),
        ([StockInLine(999_999, 1, 100)], NotFound, "没有找到商品"),
    ],
)
def test_bad_stock_ins_are_refused_and_leave_nothing(
    app, supermarket, keeper, rice, lines, error, match
):
    lines = [StockInLine(ln.product_id or rice.id, ln.quantity, ln.unit_cost_fen) for ln in lines]
    before = _counts()
    with pytest.raises(error, match=match):
        create_stock_in(supermarket.id, lines, actor=keeper, paid_from="村集体")
    assert _counts() == before


def test_a_service_is_not_stocked_in(app, supermarket, keeper):
    massage = factories.product(supermarket, name="理疗", kind="service", cost_fen=2000)
    with pytest.raises(ValidationFailed, match="服务项目"):
        create_stock_in(supermarket.id, [StockInLine(massage.id, 1, 100)], actor=keeper)


def test_another_supermarkets_goods_are_unknown(app, supermarket, keeper):
    other = factories.supermarket(code="GY01", name="高阳镇积分超市")
    theirs = factories.product(other, name="洗衣粉", stock_qty=0)
    with pytest.raises(NotFound):
        create_stock_in(supermarket.id, [StockInLine(theirs.id, 1, 100)], actor=keeper)


def test_a_closed_month_refuses_stock_in(app, supermarket, keeper, rice):
    _close_this_month(supermarket)
    before = _counts()
    with pytest.raises(MonthClosed):
        create_stock_in(supermarket.id, [StockInLine(rice.id, 1, 100)], actor=keeper)
    assert _counts() == before


def test_numbers_are_per_supermarket_and_gap_free_after_a_refusal(app, supermarket, keeper, rice):
    other = factories.supermarket(code="GY01", name="高阳镇积分超市")
    theirs = factories.product(other, name="洗衣粉", stock_qty=0)
    assert create_stock_in(supermarket.id, [StockInLine(rice.id, 1, 1)], actor=keeper).number == 1
    with pytest.raises(FundInsufficient):
        create_stock_in(
            supermarket.id, [StockInLine(rice.id, 1, 1)], actor=keeper, paid_from="fund"
        )
    assert create_stock_in(supermarket.id, [StockInLine(rice.id, 1, 1)], actor=keeper).number == 2
    assert create_stock_in(other.id, [StockInLine(theirs.id, 1, 1)], actor=None).number == 1


def test_a_new_product_at_stock_in_takes_its_barcode_as_sku(app, supermarket, keeper):
    p = stock.new_product_for_stock_in(
        supermarket.id,
        name="老干妈",
        unit="瓶",
        category="调味",
        barcode="6911234567890",
        actor=keeper,
    )
    assert (p.sku, p.barcode, p.unit, p.category.name, p.stock_qty) == (
        "6911234567890",
        "6911234567890",
        "瓶",
        "调味",
        0,
    )
    q = stock.new_product_for_stock_in(supermarket.id, name="手工布鞋", actor=keeper)
    assert q.sku.startswith("SP") and q.barcode is None and q.unit == "件"
    with pytest.raises(DuplicateValue, match="6911234567890"):
        stock.new_product_for_stock_in(
            supermarket.id, name="别的", barcode="6911234567890", actor=keeper
        )
    with pytest.raises(ValidationFailed, match="名称"):
        stock.new_product_for_stock_in(supermarket.id, name="  ", actor=keeper)
    with pytest.raises(ValidationFailed, match="数字"):
        stock.new_product_for_stock_in(supermarket.id, name="x", barcode="69-12", actor=keeper)


def test_printing_and_reprinting_a_document(app, supermarket, keeper, rice):
    doc = create_stock_in(
        supermarket.id,
        [StockInLine(rice.id, 10, 2500)],
        actor=keeper,
        supplier="县粮油公司",
        invoice_no="FP-9",
        paid_from="村集体",
    )
    first = printouts.print_stock_in(supermarket.id, doc.id, actor=keeper)
    assert first.kind == "stock_in" and first.status == "printed" and first.copy_no == 1
    assert "物品入库单" in first.text and "单号：RK000001" in first.text
    assert "补打" not in first.text
    assert "金龙鱼大米5kg" in first.text and "250.00" in first.text
    again = printouts.print_stock_in(supermarket.id, doc.id, actor=keeper)
    assert again.copy_no == 2 and "补打（第2份）" in again.text
    assert stock.print_count(doc.id) == 2
    other = factories.supermarket(code="GY01", name="高阳镇积分超市")
    with pytest.raises(NotFound):
        printouts.print_stock_in(other.id, doc.id, actor=keeper)


# Write-offs (报损) ----------------------------------------------------------------------------


@pytest.fixture
def stocked(supermarket):
    return factories.product(supermarket, name="挂面", cost_fen=450, stock_qty=20, unit="包")


@pytest.fixture
def admin2(supermarket):
    return factories.user("admin2", "admin", supermarket, display_name="周书记")


def test_a_write_off_waits_for_an_admin_then_leaves_the_shelf(
    app, supermarket, keeper, admin, stocked
):
    req = adjustments.request_adjustment(
        supermarket.id, stocked.id, 3, "expiry", note="2026年10月到期", actor=keeper
    )
    assert req.status == ADJ_PENDING
    db.session.expire_all()
    assert db.session.get(Product, stocked.id).stock_qty == 20  # nothing moves yet
    done = adjustments.approve_adjustment(supermarket.id, req.id, actor=admin, note="已核实")
    assert (done.status, done.decided_by_id, done.decision_note) == (
        ADJ_APPROVED,
        admin.id,
        "已核实",
    )
    move = db.session.get(StockMovement, done.movement_id)
    assert (move.kind, move.quantity, move.unit_cost_fen, move.reason, move.ref_type) == (
        MOVE_ADJUSTMENT,
        -3,
        450,
        "expiry",
        "adjustment",
    )
    assert move.ref_id == req.id and move.quantity_after == 17
    db.session.expire_all()
    p = db.session.get(Product, stocked.id)
    assert (p.stock_qty, p.unit_cost_fen) == (17, 450)
    with pytest.raises(AdjustmentAlreadyDecided):
        adjustments.approve_adjustment(supermarket.id, req.id, actor=admin)
    with pytest.raises(AdjustmentAlreadyDecided):
        adjustments.reject_adjustment(supermarket.id, req.id, actor=admin)
    db.session.expire_all()
    assert db.session.get(Product, stocked.id).stock_qty == 17


def test_a_rejected_write_off_posts_nothing(app, supermarket, keeper, admin, stocked):
    req = adjustments.request_adjustment(
        supermarket.id, stocked.id, 2, "loss", note="找不到了", actor=keeper
    )
    before = db.session.scalar(sa.select(sa.func.count(StockMovement.id)))
    done = adjustments.reject_adjustment(supermarket.id, req.id, actor=admin, note="再找找")
    assert done.status == ADJ_REJECTED and done.movement_id is None
    assert db.session.scalar(sa.select(sa.func.count(StockMovement.id))) == before
    with pytest.raises(AdjustmentAlreadyDecided):
        adjustments.approve_adjustment(supermarket.id, req.id, actor=admin)


def test_an_admin_may_not_approve_their_own_write_off(app, supermarket, admin, admin2, stocked):
    req = adjustments.request_adjustment(
        supermarket.id, stocked.id, 1, "damage", note="包装破损", actor=admin
    )
    with pytest.raises(PermissionDenied, match="自己"):
        adjustments.approve_adjustment(supermarket.id, req.id, actor=admin)
    assert adjustments.approve_adjustment(supermarket.id, req.id, actor=admin2).status == (
        ADJ_APPROVED
    )
    # ... but may withdraw it by rejecting it.
    own = adjustments.request_adjustment(
        supermarket.id, stocked.id, 1, "damage", note="又破了", actor=admin
    )
    assert adjustments.reject_adjustment(supermarket.id, own.id, actor=admin).status == ADJ_REJECTED


def test_keepers_and_supervisors_may_not_decide(app, supermarket, keeper, supervisor, stocked):
    req = adjustments.request_adjustment(
        supermarket.id, stocked.id, 1, "damage", note="破损", actor=keeper
    )
    for who in (keeper, supervisor):
        with pytest.raises(PermissionDenied):
            adjustments.approve_adjustment(supermarket.id, req.id, actor=who)
        with pytest.raises(PermissionDenied):
            adjustments.reject_adjustment(supermarket.id, req.id, actor=who)
    with pytest.raises(PermissionDenied):
        adjustments.request_adjustment(
            supermarket.id, stocked.id, 1, "damage", note="破损", actor=supervisor
        )
    db.session.expire_all()
    assert db.session.get(StockAdjustment, req.id).status == ADJ_PENDING


@pytest.mark.parametrize(
    "qty,reason,note,error,match",
    [
        (0, "damage", "x", ValidationFailed, "正整数"),
        (-1, "damage", "x", ValidationFailed, "正整数"),
        (1, "stolen", "x", ValidationFailed, "原因"),
        (1, "damage", "  ", ValidationFailed, "说明"),
        (21, "damage", "x", OutOfStock, "库存只有20包"),
    ],
)
def test_bad_write_off_requests_are_refused(
    app, supermarket, keeper, stocked, qty, reason, note, error, match
):
    with pytest.raises(error, match=match):
        adjustments.request_adjustment(
            supermarket.id, stocked.id, qty, reason, note=note, actor=keeper
        )
    assert db.session.scalar(sa.select(sa.func.count(StockAdjustment.id))) == 0


def test_a_write_off_beyond_the_stock_at_approval_is_refused(
    app, supermarket, keeper, admin, stocked
):
    req = adjustments.request_adjustment(
        supermarket.id, stocked.id, 15, "damage", note="水淹", actor=keeper
    )
    other = adjustments.request_adjustment(
        supermarket.id, stocked.id, 10, "damage", note="水淹", actor=keeper
    )
    adjustments.approve_adjustment(supermarket.id, req.id, actor=admin)
    with pytest.raises(OutOfStock, match="现在库存只有5包"):
        adjustments.approve_adjustment(supermarket.id, other.id, actor=admin)
    db.session.expire_all()
    assert db.session.get(StockAdjustment, other.id).status == ADJ_PENDING
    assert db.session.get(Product, stocked.id).stock_qty == 5


def test_a_closed_month_refuses_write_offs(app, supermarket, keeper, admin, stocked):
    req = adjustments.request_adjustment(
        supermarket.id, stocked.id, 1, "damage", note="破损", actor=keeper
    )
    _close_this_month(supermarket)
    with pytest.raises(MonthClosed):
        adjustments.request_adjustment(
            supermarket.id, stocked.id, 1, "damage", note="破损", actor=keeper
        )
    with pytest.raises(MonthClosed):
        adjustments.approve_adjustment(supermarket.id, req.id, actor=admin)
    with pytest.raises(MonthClosed):
        adjustments.reject_adjustment(supermarket.id, req.id, actor=admin)
    db.session.expire_all()
    assert db.session.get(StockAdjustment, req.id).status == ADJ_PENDING


def test_unknown_and_foreign_write_offs(app, supermarket, keeper, admin, stocked):
    other = factories.supermarket(code="GY01", name="高阳镇积分超市")
    with pytest.raises(NotFound):
        adjustments.approve_adjustment(supermarket.id, 12345, actor=admin)
    req = adjustments.request_adjustment(
        supermarket.id, stocked.id, 1, "damage", note="破损", actor=keeper
    )
    with pytest.raises(NotFound):
        adjustments.approve_adjustment(other.id, req.id, actor=admin)
    with pytest.raises(NotFound):
        adjustments.request_adjustment(other.id, stocked.id, 1, "damage", note="x", actor=keeper)


def test_pending_requests_come_first(app, supermarket, keeper, admin, stocked):
    a = adjustments.request_adjustment(
        supermarket.id, stocked.id, 1, "damage", note="a", actor=keeper
    )
    b = adjustments.request_adjustment(
        supermarket.id, stocked.id, 1, "damage", note="b", actor=keeper
    )
    c = adjustments.request_adjustment(
        supermarket.id, stocked.id, 1, "damage", note="c", actor=keeper
    )
    adjustments.reject_adjustment(supermarket.id, a.id, actor=admin)
    assert [x.id for x in adjustments.adjustments(supermarket.id)] == [b.id, c.id, a.id]


def test_jifen_check_finds_a_tampered_document_and_write_off(
    app, supermarket, keeper, admin, stocked
):
    _donate(supermarket, 10_000)
    doc = create_stock_in(
        supermarket.id, [StockInLine(stocked.id, 2, 450)], actor=keeper, paid_from="fund"
    )
    req = adjustments.request_adjustment(
        supermarket.id, stocked.id, 1, "damage", note="破损", actor=keeper
    )
    adjustments.approve_adjustment(supermarket.id, req.id, actor=admin)
    assert [p for p in run_checks() if p.check in ("stock_ins", "adjustments")] == []
    with write_transaction():  # what an edit behind the services' back would do
        db.session.get(StockIn, doc.id).total_cost_fen = 1
        db.session.get(StockAdjustment, req.id).quantity = 5
    found = {(p.check, p.detail) for p in run_checks()}
    assert ("stock_ins", "total 1 != lines 900") in found
    assert ("stock_ins", f"fund entry {doc.fund_entry_id} does not match") in found
    assert ("adjustments", "movement does not match") in found


def test_jifen_check_finds_documents_without_lines_or_with_the_wrong_fund_entry(
    app, supermarket, keeper, admin, stocked
):
    """The check asks the database for the wrong documents only; each kind is still found."""
    _donate(supermarket, 10_000)
    paid = create_stock_in(
        supermarket.id, [StockInLine(stocked.id, 2, 450)], actor=keeper, paid_from="fund"
    )
    other = create_stock_in(
        supermarket.id, [StockInLine(stocked.id, 1, 450)], actor=keeper, paid_from="村集体"
    )
    bare = create_stock_in(
        supermarket.id, [StockInLine(stocked.id, 1, 450)], actor=keeper, paid_from="村集体"
    )
    assert [p for p in run_checks() if p.check == "stock_ins"] == []
    with write_transaction():  # edits behind the services' back
        entry_id = db.session.get(StockIn, paid.id).fund_entry_id
        db.session.get(StockIn, paid.id).fund_entry_id = None
        db.session.get(StockIn, other.id).fund_entry_id = entry_id
        db.session.execute(
            sa.update(StockMovement)
            .where(StockMovement.ref_type == "stock_in", StockMovement.ref_id == bare.id)
            .values(ref_id=None)
        )
    found = sorted((p.subject, p.detail) for p in run_checks() if p.check == "stock_ins")
    sm = supermarket.id
    assert found == sorted(
        [
            (f"stock_in {paid.display_no} (supermarket {sm})", "paid from the fund, no fund entry"),
            (
                f"stock_in {other.display_no} (supermarket {sm})",
                "fund entry for a non-fund purchase",
            ),
            (f"stock_in {bare.display_no} (supermarket {sm})", "document has no lines"),
        ]
    )


def test_the_demo_seed_leaves_clean_books(app, supermarket, keeper, admin):
    import random

    for name in ("大米", "食用油", "洗衣粉"):
        factories.product(supermarket, name=name, cost_fen=1500, stock_qty=10)
    _donate(supermarket, 1_000_000)
    sm = db.session.get(Supermarket, supermarket.id)
    stock.seed_demo_stock(sm, {"keeper": keeper, "admin": admin}, random.Random(7))
    docs = db.session.scalars(sa.select(StockIn).order_by(StockIn.number)).all()
    assert [d.paid_from for d in docs[-2:]] == [PAID_FROM_FUND, "镇奖励"]
    statuses = sorted(a.status for a in adjustments.adjustments(supermarket.id))
    assert statuses == [ADJ_APPROVED, ADJ_PENDING]
    assert run_checks() == []


def test_32_stock_ins_at_once_are_numbered_without_gaps_and_the_fund_holds(
    app, supermarket, keeper, rice
):
    from tests.race import KIOSKS, at_once

    # The pool pays for exactly 20 of the 32 purchases; the rest are refused whole.
    _donate(supermarket, 20 * 1000)
    sm_id, rice_id = supermarket.id, rice.id

    def attempt(i, who):
        doc = create_stock_in(
            sm_id, [StockInLine(rice_id, 1, 1000)], actor=who, paid_from=PAID_FROM_FUND
        )
        return doc.number

    results = at_once(app, keeper.id, attempt)
    numbers = sorted(r for r in results if isinstance(r, int))
    refused = [r for r in results if isinstance(r, FundInsufficient)]
    assert numbers == list(range(1, 21))
    assert len(refused) == KIOSKS - 20
    db.session.rollback()  # end the test's own read snapshot
    assert fund.balance_fen(supermarket.id) == 0
    assert db.session.get(Product, rice.id).stock_qty == 20
    assert run_checks() == []


def test_a_decided_write_off_says_its_status_in_english(app, supermarket, keeper, admin, stocked):
    """Inside the sentence the status is English's word for that place ("already approved"),
    not the status column's "Approved". Chinese reads as before."""
    from flask import g

    refusals = []
    for decide in (adjustments.approve_adjustment, adjustments.reject_adjustment):
        req = adjustments.request_adjustment(
            supermarket.id, stocked.id, 1, "damage", note="包装破损", actor=keeper
        )
        decide(supermarket.id, req.id, actor=admin)
        with pytest.raises(AdjustmentAlreadyDecided) as caught:
            adjustments.approve_adjustment(supermarket.id, req.id, actor=admin)
        refusals.append(caught.value)
    assert [r.message for r in refusals] == ["该报损申请已批准", "该报损申请已驳回"]
    with app.test_request_context("/?lang=en"):
        g.pop("_flask_babel", None)
        assert [r.message for r in refusals] == [
            "This write-off request is already approved",
            "This write-off request is already rejected",
        ]
