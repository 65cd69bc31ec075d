"""The stocktake service (盘点): book quantities fixed at the start, scans that add up under
load, honest variance while the shop keeps redeeming, approval posts exact movements, the
state machine refuses what it must, and ``jifen check`` agrees."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from inventory import periods, stocktake
from inventory.models import (
    COUNT_APPROVED,
    COUNT_CANCELLED,
    COUNT_COUNTING,
    COUNT_POSTED,
    COUNT_SUBMITTED,
    MOVE_COUNT,
    MonthClose,
    Product,
    StockMovement,
    StocktakeCount,
    StocktakeLine,
)
from inventory.stock import StockInLine, receive_stock
from kiosk.check import run_checks
from kiosk.database import write_transaction
from kiosk.errors import MonthClosed, NotFound, PermissionDenied, ValidationFailed
from kiosk.extensions import db
from kiosk.models import AuditEvent, User
from kiosk.redemption import CartLine, redeem, void_redemption
from kiosk.timeutil import utcnow
from tests import factories
from tests.race import KIOSKS, at_once


@pytest.fixture
def goods(supermarket):
    rice = factories.product(
        supermarket, name="大米", cost_fen=2500, stock_qty=10, barcode="6970000000011"
    )
    oil = factories.product(
        supermarket, name="花生油", cost_fen=3000, stock_qty=5, barcode="6970000000028"
    )
    soap = factories.product(
        supermarket,
        name="肥皂",
        cost_fen=300,
        stock_qty=20,
        category="日用品",
        barcode="6970000000035",
    )
    meal = factories.product(supermarket, name="长者午餐", kind="service", cost_fen=500)
    return {"rice": rice, "oil": oil, "soap": soap, "meal": meal}


@pytest.fixture
def resident(supermarket):
    hh = factories.household(supermarket, points=500)
    _, payload = factories.card(hh)
    return payload


def _line(st_id: int, product_id: int) -> StocktakeLine:
    db.session.expire_all()
    return db.session.scalar(
        sa.select(StocktakeLine).where(
            StocktakeLine.stocktake_id == st_id, StocktakeLine.product_id == product_id
        )
    )


def _stock(product_id: int) -> int:
    db.session.expire_all()
    return db.session.get(Product, product_id).stock_qty


def _count_movements(st_id: int) -> list[tuple[int, int, int, str]]:
    return [
        (m.product_id, m.quantity, m.unit_cost_fen, m.reason)
        for m in db.session.scalars(
            sa.select(StockMovement)
            .where(StockMovement.ref_type == "stocktake", StockMovement.ref_id == st_id)
            .order_by(StockMovement.product_id)
        )
    ]


def _redeem(sm, payload, keeper, product_id, qty, key):
    return redeem(
        sm.id,
        card_payload=payload,
        lines=[CartLine(product_id, qty)],
        keeper=keeper,
        idempotency_key=key,
    )


def test_start_fixes_book_quantities_and_skips_services(app, supermarket, keeper, goods):
    st = stocktake.start_count(supermarket.id, actor=keeper, note="十月盘点")
    assert st.status == COUNT_COUNTING
    lines = {ln.product_id: ln for ln in st.lines}
    assert set(lines) == {goods["rice"].id, goods["oil"].id, goods["soap"].id}
    assert lines[goods["rice"].id].book_qty == 10
    assert lines[goods["rice"].id].unit_cost_fen == 2500
    assert lines[goods["soap"].id].book_qty == 20
    assert all(ln.counted_qty is None for ln in lines.values())
    assert st.scope == "全部商品"
    # A stock-in after the start leaves the book quantity as it was.
    receive_stock(supermarket.id, [StockInLine(goods["rice"].id, 4, 2500)], actor=keeper)
    assert _line(st.id, goods["rice"].id).book_qty == 10
    assert db.session.scalar(
        sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == "stocktake.start")
    )


def test_start_by_category_and_no_overlap(app, supermarket, keeper, admin, goods):
    daily = goods["soap"].category_id
    st = stocktake.start_count(supermarket.id, actor=keeper, category_ids=[daily])
    assert [ln.product_id for ln in st.lines] == [goods["soap"].id]
    assert st.scope == "日用品"
    with pytest.raises(ValidationFailed, match="肥皂.*正在第1号盘点中"):
        stocktake.start_count(supermarket.id, actor=admin)
    other = stocktake.start_count(
        supermarket.id, actor=admin, category_ids=[goods["rice"].category_id]
    )
    assert {ln.product_id for ln in other.lines} == {goods["rice"].id, goods["oil"].id}
    with pytest.raises(NotFound):
        stocktake.start_count(supermarket.id, actor=admin, category_ids=[9999])


def test_only_keepers_and_admins_count(app, supermarket, keeper, supervisor, goods):
    with pytest.raises(PermissionDenied):
        stocktake.start_count(supermarket.id, actor=supervisor)
    st = stocktake.start_count(supermarket.id, actor=keeper)
    with pytest.raises(PermissionDenied):
        stocktake.record_count(st.id, actor=supervisor, barcode="6970000000011")
    with pytest.raises(PermissionDenied):
        stocktake.submit(st.id, actor=supervisor)


def test_scans_add_set_and_clear(app, supermarket, keeper, admin, goods):
    st = stocktake.start_count(supermarket.id, actor=keeper)
    rice = goods["rice"]
    for _ in range(3):
        r = stocktake.record_count(st.id, actor=keeper, barcode="6970000000011", device="wedge")
    assert (r.name, r.counted_qty) == ("大米", 3)
    assert (
        stocktake.record_count(st.id, actor=admin, line_id=r.line_id, quantity=-1).counted_qty == 2
    )
    r = stocktake.record_count(st.id, actor=keeper, line_id=r.line_id, kind="set", quantity=9)
    assert r.counted_qty == 9
    # SKU works as well as the barcode; set to zero is a count of nothing.
    oil = stocktake.record_count(
        st.id, actor=keeper, barcode=goods["oil"].sku.lower(), kind="set", quantity=0
    )
    assert oil.counted_qty == 0
    r = stocktake.record_count(st.id, actor=keeper, line_id=oil.line_id, kind="clear")
    assert r.counted_qty is None and _line(st.id, goods["oil"].id).counted_at is None
    events = db.session.scalars(
        sa.select(StocktakeCount).where(StocktakeCount.line_id == _line(st.id, rice.id).id)
    ).all()
    assert [(e.kind, e.quantity, e.result_qty) for e in events] == [
        ("add", 1, 1),
        ("add", 1, 2),
        ("add", 1, 3),
        ("add", -1, 2),
        ("set", 9, 9),
    ]
    assert events[0].device == "wedge" and events[3].user_id == admin.id
    states = {s.name: s for s in stocktake.line_states(st.id)}
    assert states["大米"].counted_qty == 9 and states["大米"].last_by == "王店长"
    assert states["花生油"].counted_qty is None


def test_scan_refusals_lose_nothing(app, supermarket, keeper, goods):
    daily = goods["soap"].category_id
    st = stocktake.start_count(supermarket.id, actor=keeper, category_ids=[daily])
    with pytest.raises(NotFound, match="不在这次盘点的范围内"):
        stocktake.record_count(st.id, actor=keeper, barcode="6970000000011")
    with pytest.raises(NotFound, match="没有找到条码"):
        stocktake.record_count(st.id, actor=keeper, barcode="123456789")
    with pytest.raises(ValidationFailed, match="还没有清点"):
        stocktake.record_count(st.id, actor=keeper, barcode="6970000000035", quantity=-1)
    stocktake.record_count(st.id, actor=keeper, barcode="6970000000035")
    with pytest.raises(ValidationFailed, match="不能小于0"):
        stocktake.record_count(st.id, actor=keeper, barcode="6970000000035", quantity=-2)
    for bad in (0, 200_000, "3", True):
        with pytest.raises(ValidationFailed):
            stocktake.record_count(st.id, actor=keeper, barcode="6970000000035", quantity=bad)
    with pytest.raises(ValidationFailed):
        stocktake.record_count(
            st.id, actor=keeper, barcode="6970000000035", kind="set", quantity=-1
        )
    with pytest.raises(ValidationFailed):
        stocktake.record_count(st.id, actor=keeper, barcode="6970000000035", device="fax")
    assert _line(st.id, goods["soap"].id).counted_qty == 1
    assert db.session.scalar(sa.select(sa.func.count(StocktakeCount.id))) == 1


def test_a_retried_scan_counts_once(app, supermarket, keeper, goods):
    st = stocktake.start_count(supermarket.id, actor=keeper)
    first = stocktake.record_count(
        st.id, actor=keeper, barcode="6970000000011", client_key="scan-000001"
    )
    again = stocktake.record_count(
        st.id, actor=keeper, barcode="6970000000011", client_key="scan-000001"
    )
    assert (first.counted_qty, first.duplicate) == (1, False)
    assert (again.counted_qty, again.duplicate) == (1, True)
    assert _line(st.id, goods["rice"].id).counted_qty == 1


def test_scans_from_many_phones_at_once_add_up_exactly(app, supermarket, keeper, admin, goods):
    st = stocktake.start_count(supermarket.id, actor=keeper)
    st_id, rice_line = st.id, _line(st.id, goods["rice"].id).id

    def attempt(i: int, user: User) -> int | None:
        # Every phone scans the rice once and the soap once; each fourth one also retries.
        r = stocktake.record_count(
            st_id, actor=user, line_id=rice_line, device="camera", client_key=f"p{i:03d}-rice"
        )
        stocktake.record_count(
            st_id, actor=user, barcode="6970000000035", client_key=f"p{i:03d}-soap"
        )
        if i % 4 == 0:
            stocktake.record_count(
                st_id, actor=user, line_id=rice_line, client_key=f"p{i:03d}-rice"
            )
        return r.counted_qty

    results = at_once(app, keeper.id, attempt)
    assert [r for r in results if not isinstance(r, int)] == []
    assert sorted(results) == list(range(1, KIOSKS + 1))  # each saw its own scan land
    db.session.rollback()
    assert _line(st_id, goods["rice"].id).counted_qty == KIOSKS
    assert _line(st_id, goods["soap"].id).counted_qty == KIOSKS
    assert db.session.scalar(sa.select(sa.func.count(StocktakeCount.id))) == 2 * KIOSKS
    assert run_checks() == []


def test_redemptions_during_the_count_give_an_honest_variance(
    app, supermarket, keeper, admin, supervisor, goods, resident
):
    rice, oil, soap = goods["rice"], goods["oil"], goods["soap"]
    st = stocktake.start_count(supermarket.id, actor=keeper)
    # Rice: 2 redeemed before the shelf is counted; 8 on the shelf → no variance.
    _redeem(supermarket, resident, keeper, rice.id, 2, "during-count-01")
    stocktake.record_count(st.id, actor=keeper, barcode="6970000000011", kind="set", quantity=8)
    # Oil: counted 5 first, then 1 redeemed → still no variance.
    stocktake.record_count(st.id, actor=keeper, barcode="6970000000028", kind="set", quantity=5)
    _redeem(supermarket, resident, keeper, oil.id, 1, "during-count-02")
    # Soap: 3 redeemed, one of those voided, stock-in of 10 — all before counting; 2 are missing.
    r = _redeem(supermarket, resident, keeper, soap.id, 3, "during-count-03")
    void_redemption(r.id, actor=admin, reason="退货")
    receive_stock(supermarket.id, [StockInLine(soap.id, 10, 300)], actor=keeper)
    stocktake.record_count(st.id, actor=keeper, barcode="6970000000035", kind="set", quantity=28)
    rep = {row.name: row for row in stocktake.report(st.id).rows}
    assert (rep["大米"].book_qty, rep["大米"].moved_before_count, rep["大米"].variance) == (
        10,
        -2,
        0,
    )
    assert (rep["花生油"].expected_qty, rep["花生油"].variance) == (5, 0)
    assert (rep["肥皂"].expected_qty, rep["肥皂"].variance, rep["肥皂"].value_fen) == (30, -2, -600)

    stocktake.submit(st.id, actor=keeper)
    stocktake.approve(st.id, actor=admin)
    assert _count_movements(st.id) == [(soap.id, -2, 300, "count")]
    assert _stock(rice.id) == 8 and _stock(oil.id) == 4 and _stock(soap.id) == 28
    stocktake.sign_off(st.id, actor=supervisor)
    assert run_checks() == []


def test_partial_count_and_exact_postings(app, supermarket, keeper, admin, supervisor, goods):
    st = stocktake.start_count(supermarket.id, actor=keeper)
    stocktake.record_count(st.id, actor=keeper, barcode="6970000000011", kind="set", quantity=12)
    stocktake.record_count(st.id, actor=keeper, barcode="6970000000035", kind="set", quantity=17)
    # oil is never counted
    rep = stocktake.report(st.id)
    assert [r.name for r in rep.uncounted_rows] == ["花生油"]
    assert (rep.gain_qty, rep.loss_qty) == (2, 3)
    assert (rep.gain_fen, rep.loss_fen, rep.net_fen) == (5000, 900, 4100)
    stocktake.submit(st.id, actor=keeper)
    approved = stocktake.approve(st.id, actor=admin)
    assert approved.status == COUNT_APPROVED and approved.approved_by_id == admin.id
    rice, soap, oil = goods["rice"], goods["soap"], goods["oil"]
    assert _count_movements(st.id) == sorted(
        [(rice.id, 2, 2500, "count"), (soap.id, -3, 300, "count")]
    )
    movement = db.session.scalar(
        sa.select(StockMovement).where(
            StockMovement.ref_type == "stocktake", StockMovement.product_id == rice.id
        )
    )
    assert movement.kind == MOVE_COUNT and movement.quantity_after == 12
    assert movement.created_by_id == admin.id
    assert _line(st.id, oil.id).posted_variance is None
    assert _line(st.id, rice.id).posted_variance == 2
    assert _line(st.id, rice.id).posted_unit_cost_fen == 2500
    assert _stock(oil.id) == 5 and _stock(rice.id) == 12 and _stock(soap.id) == 17
    posted = stocktake.sign_off(st.id, actor=supervisor)
    assert posted.status == COUNT_POSTED and posted.posted_by_id == supervisor.id
    assert _count_movements(st.id) == sorted(
        [(rice.id, 2, 2500, "count"), (soap.id, -3, 300, "count")]
    )  # sign-off writes no goods
    rep = stocktake.report(st.id)
    assert (rep.gain_fen, rep.loss_fen) == (5000, 900)
    assert run_checks() == []


def test_approval_at_the_current_cost(app, supermarket, keeper, admin, goods):
    rice = goods["rice"]
    st = stocktake.start_count(supermarket.id, actor=keeper, product_ids=[rice.id])
    stocktake.record_count(st.id, actor=keeper, barcode="6970000000011", kind="set", quantity=9)
    # A stock-in at a higher price after the count moves the moving-average cost.
    receive_stock(supermarket.id, [StockInLine(rice.id, 10, 3500)], actor=keeper)
    stocktake.submit(st.id, actor=keeper)
    stocktake.approve(st.id, actor=admin)
    assert _count_movements(st.id) == [(rice.id, -1, 3000, "count")]
    assert _stock(rice.id) == 19
    assert stocktake.report(st.id).rows[0].value_fen == -3000


def test_approval_never_pushes_stock_below_zero(app, supermarket, keeper, admin, goods, resident):
    oil = goods["oil"]
    st = stocktake.start_count(supermarket.id, actor=keeper, product_ids=[oil.id])
    stocktake.record_count(st.id, actor=keeper, barcode="6970000000028", kind="set", quantity=0)
    _redeem(
        supermarket, resident, keeper, oil.id, 2, "after-count-01"
    )  # impossible on a count of 0
    stocktake.submit(st.id, actor=keeper)
    with pytest.raises(ValidationFailed, match="花生油.*现库存3，盘点差异-5"):
        stocktake.approve(st.id, actor=admin)
    assert stocktake.get_stocktake(st.id).status == COUNT_SUBMITTED
    assert _count_movements(st.id) == [] and _stock(oil.id) == 3
    stocktake.send_back(st.id, actor=admin, reason="重新清点")
    stocktake.record_count(st.id, actor=keeper, barcode="6970000000028", kind="set", quantity=3)
    stocktake.submit(st.id, actor=keeper)
    stocktake.approve(st.id, actor=admin)
    assert _line(st.id, oil.id).posted_variance == 0 and _count_movements(st.id) == []
    assert run_checks() == []


def test_state_machine_refusals(app, supermarket, keeper, admin, supervisor, goods):
    st = stocktake.start_count(supermarket.id, actor=keeper)
    with pytest.raises(ValidationFailed, match="还没有清点任何商品"):
        stocktake.submit(st.id, actor=keeper)
    with pytest.raises(ValidationFailed, match="清点中，不能审批"):
        stocktake.approve(st.id, actor=admin)
    with pytest.raises(ValidationFailed, match="不能退回"):
        stocktake.send_back(st.id, actor=admin)
    with pytest.raises(ValidationFailed, match="不能签字确认"):
        stocktake.sign_off(st.id, actor=supervisor)
    stocktake.record_count(st.id, actor=keeper, barcode="6970000000011")
    stocktake.submit(st.id, actor=keeper)
    with pytest.raises(ValidationFailed, match="已提交，不能再清点"):
        stocktake.record_count(st.id, actor=keeper, barcode="6970000000011")
    with pytest.raises(ValidationFailed, match="不能提交"):
        stocktake.submit(st.id, actor=keeper)
    with pytest.raises(ValidationFailed, match="不能取消"):
        stocktake.cancel(st.id, actor=admin)
    for who in (keeper, supervisor):
        with pytest.raises(PermissionDenied):
            stocktake.approve(st.id, actor=who)
        with pytest.raises(PermissionDenied):
            stocktake.send_back(st.id, actor=who)
    stocktake.send_back(st.id, actor=admin)
    assert stocktake.get_stocktake(st.id).status == COUNT_COUNTING
    stocktake.record_count(st.id, actor=keeper, barcode="6970000000011")  # counting again
    stocktake.submit(st.id, actor=admin)
    stocktake.approve(st.id, actor=admin)
    for who in (keeper, admin):
        with pytest.raises(PermissionDenied):
            stocktake.sign_off(st.id, actor=who)
    with pytest.raises(ValidationFailed, match="已审批，不能审批"):
        stocktake.approve(st.id, actor=admin)
    stocktake.sign_off(st.id, actor=supervisor)
    with pytest.raises(ValidationFailed, match="已签字入账"):
        stocktake.sign_off(st.id, actor=supervisor)
    with pytest.raises(ValidationFailed):
        stocktake.send_back(st.id, actor=admin)
    actions = db.session.scalars(
        sa.select(AuditEvent.action)
        .where(AuditEvent.action.like("stocktake.%"))
        .order_by(AuditEvent.id)
    ).all()
    assert actions == [
        "stocktake.start",
        "stocktake.submit",
        "stocktake.send_back",
        "stocktake.submit",
        "stocktake.approve",
        "stocktake.sign_off",
    ]


def test_cancel_only_while_counting_and_by_an_admin(app, supermarket, keeper, admin, goods):
    st = stocktake.start_count(supermarket.id, actor=keeper)
    stocktake.record_count(st.id, actor=keeper, barcode="6970000000011")
    with pytest.raises(PermissionDenied):
        stocktake.cancel(st.id, actor=keeper)
    assert stocktake.cancel(st.id, actor=admin, reason="开错了").status == COUNT_CANCELLED
    with pytest.raises(ValidationFailed, match="已取消"):
        stocktake.record_count(st.id, actor=keeper, barcode="6970000000011")
    # Its products are free for a new count, and nothing was posted.
    again = stocktake.start_count(supermarket.id, actor=keeper)
    assert len(again.lines) == 3 and _count_movements(st.id) == []
    assert run_checks() == []


def test_a_count_belongs_to_its_supermarket(app, supermarket, keeper, goods):
    st = stocktake.start_count(supermarket.id, actor=keeper)
    with pytest.raises(NotFound):
        stocktake.record_count(
            st.id, actor=keeper, barcode="6970000000011", supermarket_id=supermarket.id + 1
        )
    with pytest.raises(NotFound):
        stocktake.report(st.id, supermarket.id + 1)


def test_approval_refused_in_a_closed_month(app, supermarket, keeper, admin, goods):
    st = stocktake.start_count(supermarket.id, actor=keeper)
    stocktake.record_count(st.id, actor=keeper, barcode="6970000000011", kind="set", quantity=7)
    stocktake.submit(st.id, actor=keeper)
    month = periods.month_of(utcnow())
    assert not periods.is_closed(supermarket.id, month)
    with write_transaction():
        db.session.add(MonthClose(supermarket_id=supermarket.id, month=month))
    with pytest.raises(MonthClosed):
        stocktake.approve(st.id, actor=admin)
    assert stocktake.get_stocktake(st.id).status == COUNT_SUBMITTED
    assert _count_movements(st.id) == [] and _stock(goods["rice"].id) == 10


def test_check_finds_a_tampered_count(app, supermarket, keeper, admin, goods):
    st = stocktake.start_count(supermarket.id, actor=keeper)
    stocktake.record_count(st.id, actor=keeper, barcode="6970000000011", kind="set", quantity=7)
    stocktake.submit(st.id, actor=keeper)
    stocktake.approve(st.id, actor=admin)
    assert run_checks() == []
    line_id = _line(st.id, goods["rice"].id).id
    with write_transaction():
        db.session.execute(
            sa.update(StocktakeLine).where(StocktakeLine.id == line_id).values(posted_variance=-2)
        )
    found = [str(p) for p in run_checks() if p.check == "stocktake"]
    assert found == [
        f"[stocktake] stocktake {st.id} product {goods['rice'].id}: posted variance -2 but movements -3"
    ]
    with write_transaction():
        db.session.execute(
            sa.update(StocktakeLine)
            .where(StocktakeLine.id == line_id)
            .values(posted_variance=-3, counted_qty=8)
        )
    found = [str(p) for p in run_checks() if p.check == "stocktake"]
    assert found == [
        f"[stocktake] stocktake line {line_id}: counted 8 but the last count event says 7"
    ]


def test_check_finds_each_kind_of_wrong_count_line(app, supermarket, keeper, admin, goods):
    """The check asks the database for the wrong lines only; each kind is still found."""
    st = stocktake.start_count(supermarket.id, actor=keeper)
    stocktake.record_count(st.id, actor=keeper, barcode="6970000000011", kind="set", quantity=7)
    stocktake.submit(st.id, actor=keeper)
    stocktake.approve(st.id, actor=admin)
    open_count = stocktake.start_count(supermarket.id, actor=keeper)
    assert run_checks() == []
    rice = _line(st.id, goods["rice"].id)
    uncounted = next(ln for ln in st.lines if ln.counted_qty is None)
    idle = _line(open_count.id, goods["rice"].id)
    with write_transaction():
        db.session.execute(  # approved: counted, but its variance is gone (and its movement)
            sa.update(StocktakeLine).where(StocktakeLine.id == rice.id).values(posted_variance=None)
        )
        db.session.execute(  # approved: never counted, yet a variance is posted
            sa.update(StocktakeLine)
            .where(StocktakeLine.id == uncounted.id)
            .values(posted_variance=0)
        )
        db.session.execute(  # still counting, yet a variance is posted
            sa.update(StocktakeLine).where(StocktakeLine.id == idle.id).values(posted_variance=1)
        )
    found = sorted(str(p) for p in run_checks() if p.check == "stocktake")
    assert found == sorted(
        [
            f"[stocktake] stocktake {st.id} product {goods['rice'].id}: counted but no variance "
            "posted",
            f"[stocktake] stocktake {st.id} product {goods['rice'].id}: posted variance None but "
            "movements -3",
            f"[stocktake] stocktake {st.id} product {uncounted.product_id}: variance posted but "
            "not counted",
            f"[stocktake] stocktake {open_count.id} product {goods['rice'].id}: counting count "
            "has postings",
        ]
    )


def test_demo_seed_leaves_a_signed_off_count(app, supermarket, keeper, admin, supervisor, goods):
    import random

    extra = factories.product(supermarket, name="挂面", cost_fen=450, stock_qty=8)
    users = {"keeper": keeper, "admin": admin, "supervisor": supervisor}
    stocktake.seed_demo_stocktake(supermarket, users, random.Random(7))
    (st,) = stocktake.list_stocktakes(supermarket.id)
    assert st.status == COUNT_POSTED
    rep = stocktake.report(st.id)
    assert len(rep.uncounted_rows) == 1 and len(rep.rows) == 4
    assert rep.loss_qty == 2 and rep.gain_qty == 1
    assert len(_count_movements(st.id)) == 3
    assert extra.id in {r.product_id for r in rep.rows}
    assert run_checks() == []


def test_scans_and_redemptions_race_without_deadlock(app, supermarket, keeper, goods, resident):
    st = stocktake.start_count(supermarket.id, actor=keeper)
    st_id, soap_id, shop = st.id, goods["soap"].id, SimpleNamespace(id=supermarket.id)

    def attempt(i: int, user: User) -> str:
        if i % 4 == 0:  # 8 redemptions of one soap each, while 24 scans of the soap go on
            return _redeem(shop, resident, user, soap_id, 1, f"race-soap-{i:03d}").receipt_no
        r = stocktake.record_count(st_id, actor=user, line_id=None, barcode="6970000000035")
        return str(r.counted_qty)

    results = at_once(app, keeper.id, attempt)
    assert [r for r in results if not isinstance(r, str)] == []
    db.session.rollback()
    line = _line(st_id, soap_id)
    assert line.counted_qty == 24
    assert _stock(soap_id) == 12
    # Every redemption either came before the last scan (expected moves) or after it (the
    # approval's stock is then the count plus what left after it) — never a false variance.
    row = next(r for r in stocktake.report(st_id).rows if r.product_id == soap_id)
    before = -row.moved_before_count
    assert 0 <= before <= 8 and row.expected_qty == 20 - before
    stocktake.submit(st_id, actor=keeper)
    assert run_checks() == []


def test_state_machine_refusals_in_english(app, supermarket, keeper, admin, supervisor, goods):
    """The state and the refused action inside the sentence are English's words for that place:
    "cannot be submitted" (the action's "cannot be …" form, not a button's "Submit"), "is
    cancelled" (not the status column's "Cancelled"). Chinese reads as before."""
    from flask import g

    st = stocktake.start_count(supermarket.id, actor=keeper)
    refusals = []

    def refused(call, **kwargs) -> None:
        with pytest.raises(ValidationFailed) as caught:
            call(st.id, **kwargs)
        refusals.append(caught.value)

    refused(stocktake.approve, actor=admin)
    refused(stocktake.send_back, actor=admin)
    refused(stocktake.sign_off, actor=supervisor)
    stocktake.record_count(st.id, actor=keeper, barcode="6970000000011")
    stocktake.submit(st.id, actor=keeper)
    refused(stocktake.record_count, actor=keeper, barcode="6970000000011")
    refused(stocktake.submit, actor=keeper)
    refused(stocktake.cancel, actor=admin)
    stocktake.approve(st.id, actor=admin)
    refused(stocktake.approve, actor=admin)
    stocktake.sign_off(st.id, actor=supervisor)
    refused(stocktake.sign_off, actor=supervisor)
    other = stocktake.start_count(supermarket.id, actor=keeper)
    stocktake.cancel(other.id, actor=admin)
    st = other
    refused(stocktake.submit, actor=keeper)

    assert [r.message for r in refusals] == [
        "这次盘点清点中，不能审批",
        "这次盘点清点中，不能退回",
        "这次盘点清点中，不能签字确认",
        "这次盘点已提交，不能再清点",
        "这次盘点已提交，不能提交",
        "这次盘点已提交，不能取消",
        "这次盘点已审批，不能审批",
        "这次盘点已签字入账，不能签字确认",
        "这次盘点已取消，不能提交",
    ]
    with app.test_request_context("/?lang=en"):
        g.pop("_flask_babel", None)
        assert [r.message for r in refusals] == [
            "This stocktake is being counted and cannot be approved",
            "This stocktake is being counted and cannot be sent back",
            "This stocktake is being counted and cannot be signed off",
            "This stocktake is submitted and cannot be counted again",
            "This stocktake is submitted and cannot be submitted",
            "This stocktake is submitted and cannot be cancelled",
            "This stocktake is approved and cannot be approved",
            "This stocktake is signed off and posted and cannot be signed off",
            "This stocktake is cancelled and cannot be submitted",
        ]
