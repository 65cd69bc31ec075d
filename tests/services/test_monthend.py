"""Month-end close (月结): a month simulated end to end and its report checked line by line
against figures computed by hand; the close's refusals and lock; ``jifen check`` on closed
months. Runs on both databases.

The services stamp rows "now"; the scenario moves each step's rows to its day in March 2025
(local time) right after writing them, as paper books brought in later would be.
"""

from __future__ import annotations

import itertools
from datetime import datetime

import pytest
import sqlalchemy as sa

from inventory import fund, monthend, periods
from inventory.models import (
    COUNT_COUNTING,
    COUNT_POSTED,
    FUND_DONATION,
    FUND_PURCHASE,
    MOVE_ADJUSTMENT,
    MOVE_COUNT,
    MOVE_DONATION_IN,
    FundEntry,
    MonthClose,
    Product,
    StockMovement,
    Stocktake,
    StocktakeLine,
)
from inventory.products import policy_for
from inventory.stock import StockInLine, apply_movement, receive_line, receive_stock
from kiosk.check import run_checks
from kiosk.database import write_transaction
from kiosk.errors import MonthClosed, MonthCloseRefused, PermissionDenied
from kiosk.extensions import db
from kiosk.models import AuditEvent, Redemption, Supermarket
from kiosk.redemption import CartLine, redeem, void_redemption
from kiosk.rules import Policy
from tests import factories

_keys = itertools.count(1)


class Backdater:
    """Moves the rows written since the last call to a local moment (naive local time)."""

    def __init__(self) -> None:
        self.movement = self._max(StockMovement.id)
        self.entry = self._max(FundEntry.id)

    @staticmethod
    def _max(column) -> int:
        return db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(column), 0)))

    def to(self, local: datetime) -> None:
        moment = factories.utc(local)
        with write_transaction():
            db.session.execute(
                sa.update(StockMovement)
                .where(StockMovement.id > self.movement)
                .values(created_at=moment)
            )
            db.session.execute(
                sa.update(FundEntry).where(FundEntry.id > self.entry).values(created_at=moment)
            )
        self.movement = self._max(StockMovement.id)
        self.entry = self._max(FundEntry.id)


def _redeem(sm, keeper, payload, lines, local: datetime) -> Redemption:
    return redeem(
        sm.id,
        card_payload=payload,
        lines=[CartLine(pid, qty) for pid, qty in lines],
        keeper=keeper,
        idempotency_key=f"monthend-{next(_keys):06d}",
        moment=factories.utc(local),
        print_receipt=False,
    )


def _void(redemption: Redemption, actor, local: datetime) -> None:
    void_redemption(redemption.id, actor=actor, reason="顾客退回")
    with write_transaction():
        db.session.execute(
            sa.update(Redemption)
            .where(Redemption.id == redemption.id)
            .values(voided_at=factories.utc(local))
        )


def _post_fund(sm, kind: str, amount: int) -> None:
    with write_transaction():
        fund.post_entry(sm.id, kind, amount, actor=None, note="测试")


def _posted_count(sm, product: Product, counted: int, local: datetime) -> None:
    """A stocktake posted on ``local``: one line, its variance posted as a count movement."""
    with write_transaction():
        p = db.session.get(Product, product.id)
        variance = counted - p.stock_qty
        st = Stocktake(
            supermarket_id=sm.id,
            status=COUNT_POSTED,
            started_at=factories.utc(local),
            approved_at=factories.utc(local),
            posted_at=factories.utc(local),
        )
        db.session.add(st)
        db.session.flush()
        db.session.add(
            StocktakeLine(
                stocktake_id=st.id,
                product_id=p.id,
                book_qty=p.stock_qty,
                unit_cost_fen=p.unit_cost_fen,
                counted_qty=counted,
                posted_variance=variance,
            )
        )
        apply_movement(
            p, MOVE_COUNT, variance, p.unit_cost_fen, actor=None, ref_type="stocktake", ref_id=st.id
        )


@pytest.fixture
def books(app, supermarket, keeper, admin, monkeypatch):
    """February and March 2025 of one village's books; the clock says 2 April 2025."""
    factories.pin_clock(monkeypatch, datetime(2025, 4, 2, 9, 0))
    return build_books(supermarket, keeper, admin)


def build_books(supermarket, keeper, admin) -> dict:
    """February and March 2025 of one village's books (the figures in the comments are the
    hand computation the tests check against)."""
    hh = factories.household(supermarket, points=1000)
    _, payload = factories.card(hh)
    rice = factories.product(supermarket, name="大米5kg", cost_fen=2550, stock_qty=0)
    soap = factories.product(supermarket, name="洗衣皂", cost_fen=300, stock_qty=0, unit="块")
    physio = factories.product(
        supermarket, name="理疗一次", cost_fen=1000, kind="service", unit="次", category="服务"
    )
    clock = Backdater()
    # February: rice 10 @ 25.50, soap 20 @ 3.00 bought from a 1000.00 donation.
    receive_stock(
        supermarket.id,
        [StockInLine(rice.id, 10, 2550), StockInLine(soap.id, 20, 300)],
        actor=keeper,
        supplier="镇供销社",
    )
    _post_fund(supermarket, FUND_DONATION, 100000)
    _post_fund(supermarket, FUND_PURCHASE, -31500)
    clock.to(datetime(2025, 2, 10, 9, 0))
    r0 = _redeem(supermarket, keeper, payload, [(soap.id, 2)], datetime(2025, 2, 20, 10, 0))
    clock.to(datetime(2025, 2, 20, 10, 0))
    # March 3: rice 5 @ 26.00 bought (average (25500 + 13000) / 15 = 2566.67 → 25.67);
    # soap 10 @ 2.50 donated in kind (average (18 × 300 + 2500) / 28 = 282.14 → 2.82).
    receive_stock(supermarket.id, [StockInLine(rice.id, 5, 2600)], actor=keeper)
    with write_transaction():
        p = db.session.get(Product, soap.id)
        sm = db.session.get(Supermarket, supermarket.id)
        receive_line(p, policy_for(sm), 10, 250, kind=MOVE_DONATION_IN, actor=keeper)
    _post_fund(supermarket, FUND_DONATION, 50000)
    _post_fund(supermarket, FUND_PURCHASE, -13000)
    clock.to(datetime(2025, 3, 3, 9, 0))
    # March 10: rice 2 (26 points each, cost 25.67) + soap 3 (3 points, cost 2.82).
    r1 = _redeem(
        supermarket, keeper, payload, [(rice.id, 2), (soap.id, 3)], datetime(2025, 3, 10, 10)
    )
    clock.to(datetime(2025, 3, 10, 10, 0))
    # March 12: rice 1, voided the same day; physiotherapy once (a service, 10 points).
    r2 = _redeem(supermarket, keeper, payload, [(rice.id, 1)], datetime(2025, 3, 12, 10))
    clock.to(datetime(2025, 3, 12, 10, 0))
    _void(r2, admin, datetime(2025, 3, 12, 11, 0))
    clock.to(datetime(2025, 3, 12, 11, 0))
    r3 = _redeem(supermarket, keeper, payload, [(physio.id, 1)], datetime(2025, 3, 14, 15))
    # March 15: February's soap redemption voided (2 back at its own cost 3.00, 6 points).
    _void(r0, admin, datetime(2025, 3, 15, 9, 0))
    clock.to(datetime(2025, 3, 15, 9, 0))
    # March 20: one soap damaged (报损) at the average 2.82.
    with write_transaction():
        p = db.session.get(Product, soap.id)
        apply_movement(p, MOVE_ADJUSTMENT, -1, p.unit_cost_fen, actor=admin, reason="damage")
    clock.to(datetime(2025, 3, 20, 9, 0))
    # March 28: count finds 12 rice against a book of 13 (variance −1 at 25.67).
    _posted_count(supermarket, rice, 12, datetime(2025, 3, 28, 17, 0))
    clock.to(datetime(2025, 3, 28, 17, 0))
    db.session.expire_all()
    return {"rice": rice, "soap": soap, "physio": physio, "r": [r0, r1, r2, r3]}


def _problems() -> list:
    """``jifen check``'s findings, except the stocktake service's own checks: the scenario
    writes its count's rows directly (that service is not used here)."""
    return [p for p in run_checks() if p.check != "stocktake"]


def _line(report, product) -> dict:
    return next(ln for ln in report["products"] if ln["product_id"] == product.id)


def test_march_report_matches_the_hand_computation(books, supermarket, admin):
    monthend.close_month(supermarket.id, "2025-02", actor=admin)
    report = monthend.build_report(supermarket.id, "2025-03")
    assert report["opening_from"] == "close"
    rice = _line(report, books["rice"])
    assert {k: rice[k] for k in monthend.STOCK_FIELDS} == {
        "opening_qty": 10,
        "opening_value": 25500,
        "purchase_qty": 5,
        "purchase_value": 13000,
        "donation_qty": 0,
        "donation_value": 0,
        "redeemed_qty": 3,  # 2 on the 10th, 1 on the 12th
        "redeemed_value": 3 * 2567,
        "void_qty": 1,
        "void_value": 2567,
        "adjustment_qty": 0,
        "adjustment_value": 0,
        "count_qty": -1,
        "count_value": -2567,
        "closing_qty": 12,
        "closing_value": 25500 + 13000 - 7701 + 2567 - 2567,  # 30799
        "value_at_average": 12 * 2567,  # 30804
        "average_difference": -5,
    }
    assert (rice["average_cost"], rice["counted_qty"], rice["counted_book_qty"]) == (2567, 12, 13)
    soap = _line(report, books["soap"])
    assert {k: soap[k] for k in monthend.STOCK_FIELDS} == {
        "opening_qty": 18,
        "opening_value": 5400,
        "purchase_qty": 0,
        "purchase_value": 0,
        "donation_qty": 10,
        "donation_value": 2500,
        "redeemed_qty": 3,
        "redeemed_value": 846,
        "void_qty": 2,  # February's redemption, back at its own cost 3.00
        "void_value": 600,
        "adjustment_qty": -1,
        "adjustment_value": -282,
        "count_qty": 0,
        "count_value": 0,
        "closing_qty": 26,
        "closing_value": 5400 + 2500 - 846 + 600 - 282,  # 7372
        "value_at_average": 26 * 282,  # 7332
        "average_difference": 40,
    }
    assert soap["counted_qty"] is None
    assert [ln["product_id"] for ln in report["products"]] == [books["rice"].id, books["soap"].id]
    assert report["stock_totals"]["closing_value"] == 30799 + 7372
    assert report["stock_totals"]["counted_value"] == 12 * 2567

    assert report["fund"] == {
        "opening": 100000 - 31500,
        "donations": 50000,
        "purchases": 13000,
        "reversals": 0,
        "money_in": 50000,
        "money_out": 13000,
        "entries": 2,
        "closing": 68500 + 50000 - 13000,
    }

    t = report["tieout"]
    assert (t["redemptions"], t["voids_same_month"], t["voids_earlier_month"]) == (3, 1, 1)
    # Issued: 61 (r1) + 26 (r2) + 10 (physio) points; cost 5980 + 2567 + 1000.
    assert (t["points_issued"], t["cost_issued_lines"]) == (97, 9547)
    assert (t["points_voided_same"], t["cost_voided_same"]) == (26, 2567)
    assert (t["points_voided_earlier"], t["cost_voided_earlier"]) == (6, 600)
    assert t["points_net"] == 65 and t["points_from_balance"] == 65 and t["points_from_quota"] == 0
    assert (t["goods_points"], t["services_points"]) == (55, 10)
    assert t["value_at_rate"] == 6500
    # Goods out at ledger value 7701 + 846 − (2567 + 600) = 5380; the service 1000.
    assert (t["goods_cost_ledger"], t["services_cost"], t["cost_issued"]) == (5380, 1000, 6380)
    # 120 fen = rice 2 × (26.00 − 25.67) + soap 3 × (3.00 − 2.82), rounding up to whole points.
    assert t["difference"] == 120
    assert (t["rounding"], t["free_items"], t["price_changes"], t["timing"]) == (120, 0, 0, 0)
    assert t["remainder"] == 0
    assert len(report["counts"]) == 1 and report["counts"][0]["lines"] == 1


def test_opening_from_the_ledger_equals_opening_from_the_previous_close(books, supermarket, admin):
    live = monthend.build_report(supermarket.id, "2025-03")
    assert live["opening_from"] == "ledger"
    monthend.close_month(supermarket.id, "2025-02", actor=admin)
    chained = monthend.build_report(supermarket.id, "2025-03")
    for key in ("products", "stock_totals", "fund", "tieout"):
        assert live[key] == chained[key]


def test_closing_locks_the_month_and_corrections_land_in_the_next(books, supermarket, admin):
    monthend.close_month(supermarket.id, "2025-02", actor=admin)
    close = monthend.close_month(supermarket.id, "2025-03", actor=admin)
    assert close.report["month"] == "2025-03" and close.closed_by_id == admin.id
    assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "month.close"))
    with pytest.raises(MonthClosed):
        periods.ensure_open(supermarket.id, factories.utc(datetime(2025, 3, 31, 23, 59)))
    assert periods.ensure_open(supermarket.id, factories.utc(datetime(2025, 4, 1, 0, 0)))
    assert periods.posting_month(supermarket.id, factories.utc(datetime(2025, 3, 5))) == "2025-04"
    assert periods.posting_month(supermarket.id, factories.utc(datetime(2025, 4, 5))) == "2025-04"
    # The stored report reads the same after later postings.
    stored = dict(close.report)
    clock = Backdater()
    receive_stock(supermarket.id, [StockInLine(books["rice"].id, 4, 2700)], actor=admin)
    clock.to(datetime(2025, 4, 1, 9, 0))
    report, kept = monthend.report_for(supermarket.id, "2025-03")
    assert kept is not None and report == stored
    assert _problems() == []
    april = monthend.build_report(supermarket.id, "2025-04")
    rice = _line(april, books["rice"])
    assert (rice["opening_qty"], rice["purchase_qty"], rice["closing_qty"]) == (12, 4, 16)
    # March's moving average is replayed from its receipts, not taken from today's cost.
    db.session.expire_all()
    assert db.session.get(Product, books["rice"].id).unit_cost_fen != 2567
    again = monthend.build_report(supermarket.id, "2025-03")
    assert _line(again, books["rice"])["average_cost"] == 2567


def test_close_refusals_are_listed(books, supermarket, admin, monkeypatch):
    with pytest.raises(MonthCloseRefused) as refused:
        monthend.close_month(supermarket.id, "2025-03", actor=admin)
    assert refused.value.reasons == ["月份要按顺序结账：请先结 2025-02"]
    monthend.close_month(supermarket.id, "2025-02", actor=admin)
    # An unposted count started in March blocks March, with the reason given.
    with write_transaction():
        db.session.add(
            Stocktake(
                supermarket_id=supermarket.id,
                status=COUNT_COUNTING,
                started_at=factories.utc(datetime(2025, 3, 30, 9, 0)),
            )
        )
    reasons = monthend.close_refusals(supermarket.id, "2025-03")
    assert len(reasons) == 1 and "盘点" in reasons[0] and "正在盘点" in reasons[0]
    with pytest.raises(MonthCloseRefused):
        monthend.close_month(supermarket.id, "2025-03", actor=admin)
    assert not periods.is_closed(supermarket.id, "2025-03")
    with write_transaction():
        db.session.execute(sa.update(Stocktake).values(status="cancelled"))
    monthend.close_month(supermarket.id, "2025-03", actor=admin)
    # April is the current month (the clock says 2025-04-02): it cannot close before it ends.
    reasons = monthend.close_refusals(supermarket.id, "2025-04")
    assert reasons == ["2025-04 还没有结束，月末过后才能结账"]
    assert monthend.close_refusals(supermarket.id, "2025-03") == ["2025-03 已经结账"]
    assert "请先结 2025-04" in monthend.close_refusals(supermarket.id, "2025-05")[-1]
    # Once April has ended, April (with no activity at all) closes too.
    factories.pin_clock(monkeypatch, datetime(2025, 5, 1, 8, 0))
    assert monthend.close_refusals(supermarket.id, "2025-04") == []
    april = monthend.close_month(supermarket.id, "2025-04", actor=admin)
    assert april.report["tieout"]["points_net"] == 0
    assert april.report["products"][0]["closing_qty"] == 12
    assert _problems() == []


def test_only_admins_close(books, supermarket, keeper, supervisor):
    for who in (keeper, supervisor):
        with pytest.raises(PermissionDenied):
            monthend.close_month(supermarket.id, "2025-02", actor=who)
    assert db.session.scalar(sa.select(sa.func.count(MonthClose.id))) == 0


def test_check_finds_a_posting_backdated_into_a_closed_month(books, supermarket, admin):
    monthend.close_month(supermarket.id, "2025-02", actor=admin)
    monthend.close_month(supermarket.id, "2025-03", actor=admin)
    assert _problems() == []
    clock = Backdater()
    receive_stock(supermarket.id, [StockInLine(books["soap"].id, 1, 300)], actor=admin)
    _post_fund(supermarket, FUND_DONATION, 100)
    clock.to(datetime(2025, 3, 31, 12, 0))
    problems = [p for p in _problems() if p.check == "month"]
    text = "\n".join(str(p) for p in problems)
    assert "month 2025-03 product" in text and "month 2025-03 fund" in text
    assert "later than its close" not in text
    # February's figures are untouched by it.
    assert "2025-02" not in text
    # A close stamped before the posting (a kiosk clock running late) shows the posting
    # itself as made after the close.
    with write_transaction():
        db.session.execute(
            sa.update(MonthClose)
            .where(MonthClose.month == "2025-03")
            .values(closed_at=factories.utc(datetime(2025, 3, 31, 11, 0)))
        )
    text = "\n".join(str(p) for p in _problems())
    assert "month 2025-03: a posting stamped 2025-03-31 04:00:00" in text
    assert "later than its close" in text


def test_check_finds_a_report_edited_after_close(books, supermarket, admin):
    close = monthend.close_month(supermarket.id, "2025-02", actor=admin)
    report = dict(close.report)
    report["fund"] = dict(report["fund"], closing=report["fund"]["closing"] + 1)
    report["tieout"] = dict(report["tieout"], points_net=99)
    with write_transaction():
        db.session.execute(
            sa.update(MonthClose).where(MonthClose.id == close.id).values(report=report)
        )
    subjects = sorted(p.subject for p in _problems())
    assert subjects == [
        f"supermarket {supermarket.id} month 2025-02",  # the summary no longer says the same
        f"supermarket {supermarket.id} month 2025-02 fund",
        f"supermarket {supermarket.id} month 2025-02 points",
    ]


def test_check_finds_a_summary_that_differs_from_its_report(books, supermarket, admin):
    close = monthend.close_month(supermarket.id, "2025-02", actor=admin)
    assert _problems() == []
    summary = dict(close.summary)
    summary["fund"] = dict(summary["fund"], closing=summary["fund"]["closing"] + 100)
    with write_transaction():
        db.session.execute(
            sa.update(MonthClose).where(MonthClose.id == close.id).values(summary=summary)
        )
    problems = [str(p) for p in _problems()]
    assert len(problems) == 1
    assert "summary differs from its stored report" in problems[0]


def test_a_rate_change_mid_month_shows_as_price_changes(books, supermarket, admin):
    # The village doubles its rate after March's redemptions: at 2 points per yuan, March's
    # lines were charged at the old price and explain their difference as price changes.
    factories.policy(supermarket, Policy(points_per_yuan=2))
    t = monthend.build_report(supermarket.id, "2025-03")["tieout"]
    assert t["points_per_yuan"] == 2 and t["value_at_rate"] == 3250
    # Goods at the old rate: rice 2 × (2600 − 2 × 2567) / 2 + soap 3 × (300 − 2 × 282) / 2
    # + the physiotherapy (1000 − 2000) / 2; February's void (6 points, 600 fen) the other way.
    assert t["rounding"] == 0 and t["free_items"] == 0
    expected = (2 * (2600 - 5134) + 3 * (300 - 564) + (1000 - 2000) - (600 - 1200)) // 2
    assert t["price_changes"] == expected
    assert t["difference"] == t["price_changes"] + t["timing"] + t["remainder"]
    assert t["remainder"] == 0


def test_quota_policy_ties_quota_yuan_and_free_meals_to_cost(app, supermarket, keeper, monkeypatch):
    """寨里 (000): redemptions spend the quarter's quota, not points; free canteen meals."""
    factories.pin_clock(monkeypatch, datetime(2024, 2, 15, 10, 0))
    factories.policy(supermarket, "zhaili")
    _, payload = factories.scored_elder(supermarket, datetime(1959, 1, 1).date())
    clock = Backdater()
    rice = factories.product(supermarket, name="大米", cost_fen=2550, stock_qty=4)
    meal = factories.canteen_meal(supermarket)
    clock.to(datetime(2024, 2, 1, 9, 0))
    _redeem(supermarket, keeper, payload, [(rice.id, 2), (meal.id, 1)], datetime(2024, 2, 15, 11))
    clock.to(datetime(2024, 2, 15, 11, 0))
    t = monthend.build_report(supermarket.id, "2024-02")["tieout"]
    assert t["spend"] == "quota"
    assert (t["points_net"], t["points_from_balance"], t["points_from_quota"]) == (52, 0, 52)
    assert (t["value_at_rate"], t["cost_issued"]) == (5200, 5100 + 1500)
    assert (t["rounding"], t["free_items"], t["price_changes"]) == (100, -1500, 0)
    assert t["difference"] == -1400 and t["remainder"] == 0 and t["timing"] == 0


def test_demo_seed_closes_every_ended_month(books, supermarket, admin, keeper):
    closed = monthend.seed_demo_monthend(supermarket, {"admin": admin, "keeper": keeper}, None)
    assert closed == ["2025-02", "2025-03"]
    assert periods.next_month_to_close(supermarket.id) == "2025-04"
    assert monthend.seed_demo_monthend(supermarket, {"admin": admin}, None) == []
    assert _problems() == []


def test_jifen_check_command_reports_a_closed_month_changed(books, supermarket, admin, runner):
    monthend.close_month(supermarket.id, "2025-02", actor=admin)
    clock = Backdater()
    _post_fund(supermarket, FUND_DONATION, 500)
    clock.to(datetime(2025, 2, 27, 12, 0))
    result = runner.invoke(args=["check"])
    assert result.exit_code == 1
    assert f"[month] supermarket {supermarket.id} month 2025-02 fund" in result.output


def test_check_finds_a_posting_dated_before_the_first_closed_month(books, supermarket, admin):
    monthend.close_month(supermarket.id, "2025-02", actor=admin)
    clock = Backdater()
    _post_fund(supermarket, FUND_DONATION, 100)
    clock.to(datetime(2025, 1, 20, 12, 0))
    problems = [str(p) for p in _problems()]
    assert problems == [
        f"[month] supermarket {supermarket.id}: a posting stamped 2025-01-20 04:00:00 is dated "
        "before the first closed month 2025-02"
    ]
