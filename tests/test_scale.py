"""The scale generator (``jifen demo --scale``): bulk rows that keep every invariant."""

from __future__ import annotations

import sqlalchemy as sa

from inventory.models import FundAccount, Product, StockMovement
from kiosk import scale
from kiosk.check import run_checks
from kiosk.extensions import db
from kiosk.models import PointAccount, PointEntry, Redemption, Supermarket


def test_a_generated_village_passes_every_check(app, monkeypatch):
    monkeypatch.setitem(scale.SCALES, "tiny", scale.Scale(2, 80, 30, 3_000, 500))
    summary = scale.generate("tiny", seed=7)

    assert summary.supermarkets == 2
    assert summary.households == 80
    assert db.session.scalar(sa.select(sa.func.count(Product.id))) == 60
    # Roughly the requested history (redemptions a household cannot afford are skipped).
    assert 2_500 <= summary.point_entries <= 3_500
    assert 300 <= summary.redemptions <= 550
    assert run_checks() == []
    # Nothing below zero, ever: every running balance in the ledgers stays >= 0.
    assert db.session.scalar(sa.select(sa.func.min(PointEntry.balance_after))) >= 0
    assert db.session.scalar(sa.select(sa.func.min(StockMovement.quantity_after))) >= 0
    assert db.session.scalar(sa.select(sa.func.min(FundAccount.balance_fen))) >= 0
    # Receipt numbers 1..n per supermarket.
    for sm in db.session.scalars(sa.select(Supermarket)):
        count = db.session.scalar(
            sa.select(sa.func.count(Redemption.id)).where(Redemption.supermarket_id == sm.id)
        )
        assert sm.next_receipt_no == count + 1


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


def test_the_cli_generates_with_a_progress_bar(app, runner, monkeypatch):
    monkeypatch.setitem(scale.SCALES, "village", scale.Scale(1, 15, 8, 300, 40))
    result = runner.invoke(args=["demo", "--scale", "village", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "生成village规模数据" in result.output
    assert "完成" in result.output and "15 户" in result.output
    assert run_checks() == []
