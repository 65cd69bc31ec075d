"""The scale generator (``python bench/scale.py``): bulk rows that keep every invariant, and the
books a real supermarket keeps — donations with donors and receipts, stock-in documents,
posted monthly counts and closed months."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from bench import scale
from inventory import monthend, periods
from inventory.models import (
    COUNT_POSTED,
    DONATION_CASH,
    DONATION_GOODS,
    FUND_DONATION,
    FUND_PURCHASE,
    MOVE_COUNT,
    MOVE_DONATION_IN,
    MOVE_STOCK_IN,
    Donation,
    Donor,
    FundAccount,
    FundEntry,
    MonthClose,
    Product,
    StockIn,
    StockMovement,
    Stocktake,
    StocktakeCount,
    StocktakeLine,
)
from kiosk.check import run_checks
from kiosk.clock import local_now, utc_to_local
from kiosk.extensions import db
from kiosk.models import PointAccount, PointEntry, Redemption, Supermarket, User
from kiosk.redemption import receipt_number
from kiosk.timeutil import utcnow

TINY = scale.Scale(2, 80, 30, 3_000, 500)


def test_a_generated_county_keeps_the_books(app, monkeypatch):
    """Two supermarkets over three years, generated once (it is the slow part) and read for
    each behaviour in turn."""
    monkeypatch.setitem(scale.SCALES, "tiny", TINY)
    summary = scale.generate("tiny", seed=7)
    _totals_and_running_balances(summary)
    _ids_grow_with_time_in_every_ledger()
    _donations_have_donors_and_gap_free_receipts()
    _purchases_come_in_on_numbered_stock_in_documents()
    _every_ended_month_is_counted_and_the_variances_posted()
    _months_are_closed_up_to_two_months_ago()  # (last: it closes one more month)


def _all(stmt):
    return list(db.session.execute(stmt).all())


def _totals_and_running_balances(summary: scale.ScaleSummary) -> None:
    assert summary.supermarkets == 2
    assert summary.households == 80
    assert db.session.scalar(sa.select(sa.func.count(Product.id))) == 60
    # Roughly the requested history (redemptions a household cannot afford are skipped).
    assert 2_500 <= summary.point_entries <= 3_600
    assert 300 <= summary.redemptions <= 550
    assert run_checks() == []
    # Nothing below zero, ever: every running balance in the ledgers stays >= 0.
    assert db.session.scalar(sa.select(sa.func.min(PointEntry.balance_after))) >= 0
    assert db.session.scalar(sa.select(sa.func.min(StockMovement.quantity_after))) >= 0
    assert db.session.scalar(sa.select(sa.func.min(FundEntry.balance_after_fen))) >= 0
    assert db.session.scalar(sa.select(sa.func.min(FundAccount.balance_fen))) >= 0
    # Receipt numbers 1..n per supermarket.
    for sm in db.session.scalars(sa.select(Supermarket)):
        count = db.session.scalar(
            sa.select(sa.func.count(Redemption.id)).where(Redemption.supermarket_id == sm.id)
        )
        assert sm.next_receipt_no == count + 1
        # Printed as the counter prints them (a keeper searches the generated ones too).
        numbers = db.session.scalars(
            sa.select(Redemption.receipt_no)
            .where(Redemption.supermarket_id == sm.id)
            .order_by(Redemption.id)
        ).all()
        assert numbers == [receipt_number(sm.code, n) for n in range(1, count + 1)]


def _ids_grow_with_time_in_every_ledger() -> None:
    """Events are written in time order: a ledger read by id is read by time, and every
    running balance follows from the one before it."""
    for key, stamp, amount, after, model in (
        (StockMovement.product_id, StockMovement.created_at, StockMovement.quantity,
         StockMovement.quantity_after, StockMovement),
        (PointEntry.account_id, PointEntry.created_at, PointEntry.amount,
         PointEntry.balance_after, PointEntry),
        (FundEntry.fund_account_id, FundEntry.created_at, FundEntry.amount_fen,
         FundEntry.balance_after_fen, FundEntry),
    ):  # fmt: skip
        last: dict[int, tuple] = {}
        for owner, at, delta, balance in _all(
            sa.select(key, stamp, amount, after).order_by(model.id)
        ):
            if owner in last:
                prev_at, prev_balance = last[owner]
                assert at >= prev_at, model.__tablename__
                assert balance == prev_balance + delta, model.__tablename__
            else:
                assert balance == delta, model.__tablename__
            last[owner] = (at, balance)


def _donations_have_donors_and_gap_free_receipts() -> None:
    for sm in db.session.scalars(sa.select(Supermarket)):
        donations = list(
            db.session.scalars(
                sa.select(Donation).where(Donation.supermarket_id == sm.id).order_by(Donation.seq)
            )
        )
        # A cash donation every month at least, and some goods in kind.
        assert len(donations) >= 36
        assert [d.seq for d in donations] == list(range(1, len(donations) + 1))
        assert [d.receipt_no for d in donations] == [f"JZ{d.seq:06d}" for d in donations]
        assert {d.form for d in donations} == {DONATION_CASH, DONATION_GOODS}
        for d in donations:
            assert d.donor.supermarket_id == sm.id
            assert d.donated_on == utc_to_local(d.created_at).date()
            if d.form == DONATION_CASH:
                entry = db.session.get(FundEntry, d.fund_entry_id)
                assert (entry.kind, entry.amount_fen, entry.ref_type, entry.ref_id) == (
                    FUND_DONATION,
                    d.amount_fen,
                    "donation",
                    d.id,
                )
                assert entry.note.startswith(d.receipt_no)
            else:
                assert d.fund_entry_id is None
                moves = _all(
                    sa.select(
                        StockMovement.kind, StockMovement.quantity, StockMovement.unit_cost_fen
                    ).where(StockMovement.ref_type == "donation", StockMovement.ref_id == d.id)
                )
                assert moves and {k for k, _, _ in moves} == {MOVE_DONATION_IN}
                assert sum(q * c for _, q, c in moves) == d.amount_fen
        kinds = set(db.session.scalars(sa.select(Donor.kind).where(Donor.supermarket_id == sm.id)))
        assert len(kinds) >= 5
    # No money came into a pool without its donation, and no goods in kind without one.
    assert not _all(
        sa.select(FundEntry.id).where(
            FundEntry.kind == FUND_DONATION,
            sa.or_(FundEntry.ref_type != "donation", FundEntry.ref_id.is_(None)),
        )
    )
    assert not _all(
        sa.select(StockMovement.id).where(
            StockMovement.kind == MOVE_DONATION_IN, StockMovement.ref_type != "donation"
        )
    )


def _purchases_come_in_on_numbered_stock_in_documents() -> None:
    for sm in db.session.scalars(sa.select(Supermarket)):
        docs = list(
            db.session.scalars(
                sa.select(StockIn).where(StockIn.supermarket_id == sm.id).order_by(StockIn.number)
            )
        )
        assert docs and [d.number for d in docs] == list(range(1, len(docs) + 1))
        assert any(
            db.session.scalar(
                sa.select(sa.func.count(StockMovement.id)).where(
                    StockMovement.ref_type == "stock_in", StockMovement.ref_id == d.id
                )
            )
            > 1
            for d in docs
        ), "a purchase also restocks what runs low"
        for d in docs:
            entry = db.session.get(FundEntry, d.fund_entry_id)
            assert (entry.kind, entry.amount_fen, entry.ref_type, entry.ref_id) == (
                FUND_PURCHASE,
                -d.total_cost_fen,
                "stock_in",
                d.id,
            )
            assert entry.created_at == d.created_at and d.paid_from == "fund"
    # Every stock-in movement belongs to a document of its product's supermarket.
    orphans = _all(
        sa.select(StockMovement.id)
        .join(Product, Product.id == StockMovement.product_id)
        .outerjoin(StockIn, StockIn.id == StockMovement.ref_id)
        .where(
            StockMovement.kind == MOVE_STOCK_IN,
            sa.or_(
                StockMovement.ref_type != "stock_in",
                StockIn.id.is_(None),
                StockIn.supermarket_id != Product.supermarket_id,
            ),
        )
    )
    assert orphans == []
    assert not _all(
        sa.select(FundEntry.id).where(
            FundEntry.kind == FUND_PURCHASE, FundEntry.ref_type != "stock_in"
        )
    )


def _every_ended_month_is_counted_and_the_variances_posted() -> None:
    current = periods.month_of(utcnow())
    for sm in db.session.scalars(sa.select(Supermarket)):
        users = {
            u.role: u.id
            for u in db.session.scalars(sa.select(User).where(User.supermarket_id == sm.id))
        }
        counts = list(
            db.session.scalars(
                sa.select(Stocktake)
                .where(Stocktake.supermarket_id == sm.id)
                .order_by(Stocktake.started_at)
            )
        )
        months = [periods.month_of(st.started_at) for st in counts]
        first = periods.first_month(sm.id)
        # One count per ended month (the first, partial month too when it ended after opening).
        assert months == sorted(set(months))
        assert months[-1] == periods.previous_month(current)
        assert set(periods.months_between(months[0], months[-1])) == set(months)
        assert months[0] in (first, periods.next_month(first))
        n_products = db.session.scalar(
            sa.select(sa.func.count(Product.id)).where(Product.supermarket_id == sm.id)
        )
        for st in counts:
            assert st.status == COUNT_POSTED
            assert (st.started_by_id, st.approved_by_id, st.posted_by_id) == (
                users["keeper"],
                users["admin"],
                users["supervisor"],
            )
            assert st.started_at < st.approved_at < st.posted_at
            assert periods.month_of(st.posted_at) == periods.month_of(st.started_at)
            lines = st.lines
            if periods.parse_month(periods.month_of(st.started_at))[1] == 12:
                assert len(lines) == n_products and st.scope == "全部商品"
            for line in lines:
                assert line.posted_variance == line.counted_qty - line.book_qty
                assert line.posted_unit_cost_fen == line.unit_cost_fen
                assert line.count_movement_id <= st.start_movement_id
            posted = {
                pid: qty
                for pid, qty in _all(
                    sa.select(StockMovement.product_id, StockMovement.quantity).where(
                        StockMovement.kind == MOVE_COUNT, StockMovement.ref_id == st.id
                    )
                )
            }
            assert posted == {
                ln.product_id: ln.posted_variance for ln in lines if ln.posted_variance
            }
    # Most lines match the book; a few are one or two off, both ways.
    variances = list(db.session.scalars(sa.select(StocktakeLine.posted_variance)))
    off = [v for v in variances if v]
    assert 0 < len(off) < len(variances) * 0.05
    assert min(off) < 0 < max(off) and all(abs(v) <= 2 for v in off)
    # Each line was counted once, and its count event says what the line says.
    assert db.session.scalar(sa.select(sa.func.count(StocktakeCount.id))) == len(variances)


def _months_are_closed_up_to_two_months_ago() -> None:
    current = periods.month_key(local_now())
    last_complete = periods.previous_month(current)
    for sm in db.session.scalars(sa.select(Supermarket)):
        admin = db.session.scalar(
            sa.select(User).where(User.supermarket_id == sm.id, User.role == "admin")
        )
        closes = list(
            db.session.scalars(
                sa.select(MonthClose)
                .where(MonthClose.supermarket_id == sm.id)
                .order_by(MonthClose.month)
            )
        )
        first = periods.first_month(sm.id)
        assert [c.month for c in closes] == periods.months_between(
            first, periods.previous_month(last_complete)
        )
        for close in closes:
            _, end = periods.month_bounds_utc(close.month)
            assert close.closed_by_id == admin.id
            assert end + timedelta(days=1) <= close.closed_at < end + timedelta(days=3)
            assert close.report["month"] == close.month and close.report["version"]
        # The keeper's next close is the last complete month, and it may close now.
        assert periods.next_month_to_close(sm.id) == last_complete
        assert monthend.close_refusals(sm.id, last_complete) == []
        assert monthend.close_refusals(sm.id, current) != []
        monthend.close_month(sm.id, last_complete, actor=admin)
    assert run_checks() == []


def test_generating_twice_adds_a_second_set_with_fresh_ids(app, monkeypatch):
    monkeypatch.setitem(scale.SCALES, "tiny", scale.Scale(1, 20, 10, 400, 60))
    scale.generate("tiny", seed=1)
    scale.generate("tiny", seed=2)
    assert db.session.scalar(sa.select(sa.func.count(Supermarket.id))) == 2
    assert db.session.scalar(sa.select(sa.func.count(PointAccount.id))) == 40
    assert run_checks() == []
    # The database's own id sequences continue after the generated ids.
    from tests import factories

    factories.household(db.session.get(Supermarket, 1), points=5, number="NEW-1")
    assert run_checks() == []


def test_an_interrupted_run_resumes_after_its_last_whole_supermarket(app, monkeypatch):
    monkeypatch.setitem(scale.SCALES, "tiny", scale.Scale(3, 30, 10, 600, 90))

    class Stop(Exception):
        pass

    def stop_after_two(done: int, _total: int) -> None:
        if done == 2:
            raise Stop

    with pytest.raises(Stop):
        scale.generate("tiny", seed=1, progress=stop_after_two)
    db.session.rollback()
    assert list(db.session.scalars(sa.select(Supermarket.code).order_by(Supermarket.id))) == [
        "S0001",
        "S0002",
    ]
    summary = scale.generate("tiny", seed=1, resume=True)
    assert summary.supermarkets == 1
    codes = list(db.session.scalars(sa.select(Supermarket.code).order_by(Supermarket.id)))
    assert codes == ["S0001", "S0002", "S0003"]
    assert db.session.scalar(sa.select(sa.func.count(PointAccount.id))) == 30
    assert run_checks() == []


def test_the_cli_generates_with_a_progress_bar(app, runner, monkeypatch):
    monkeypatch.setitem(scale.SCALES, "village", scale.Scale(1, 15, 8, 300, 40))
    result = runner.invoke(scale.scale_command, args=["village", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "生成village规模数据" in result.output
    assert "完成" in result.output and "15 户" in result.output
    assert re.search(r"\d+ 条基金池流水", result.output)
    assert run_checks() == []
