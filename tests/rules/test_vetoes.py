"""Vetoes: 大同 clears the points (an entry) and bars the year; 寨里 zeroes the period."""

from __future__ import annotations

from datetime import date, datetime

import pytest
import sqlalchemy as sa

from kiosk.check import run_checks
from kiosk.errors import NotFound, ValidationFailed
from kiosk.extensions import db
from kiosk.models import ENTRY_VETO_CLEAR, AuditEvent, PointAccount, PointEntry, Veto
from kiosk.vetoes import list_vetoes, record_veto
from tests import factories


@pytest.fixture(autouse=True)
def _clock(monkeypatch):
    factories.pin_clock(monkeypatch, datetime(2024, 6, 1, 10, 0))


def _account(hh) -> PointAccount:
    db.session.rollback()
    return db.session.scalar(sa.select(PointAccount).where(PointAccount.household_id == hh.id))


def test_datong_veto_writes_a_clearing_entry(app, supermarket, admin):
    # 001: "对于发生负面清单行为的，清零当前积分，并取消当年兑换资格"
    factories.policy(supermarket, "datong")
    hh = factories.household(supermarket, points=73)
    veto = record_veto(hh.id, on=date(2024, 5, 10), reason="  乱搭乱建 ", actor=admin)
    assert (veto.kind, veto.reason, veto.on) == (
        "clear_and_bar_year",
        "乱搭乱建",
        date(2024, 5, 10),
    )
    account = _account(hh)
    assert account.balance == 0 and account.earned_total == 73  # earned is not undone
    entry = db.session.scalar(sa.select(PointEntry).where(PointEntry.kind == ENTRY_VETO_CLEAR))
    assert entry.amount == -73 and entry.created_by_id == admin.id
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "veto.record"))
    assert event.data["cleared"] == 73
    # A second veto with nothing left to clear writes a row and no entry.
    record_veto(hh.id, on=date(2024, 5, 20), reason="打架斗殴", actor=admin)
    assert db.session.scalar(sa.select(sa.func.count(Veto.id))) == 2
    assert (
        db.session.scalar(
            sa.select(sa.func.count(PointEntry.id)).where(PointEntry.kind == ENTRY_VETO_CLEAR)
        )
        == 1
    )
    assert run_checks() == []


def test_a_negative_balance_is_not_cleared_upwards(app, supermarket):
    factories.policy(supermarket, "datong")
    hh = factories.household(supermarket, points=5)
    from kiosk.points import deduct_points

    deduct_points(hh.id, 20, reason="乱扔垃圾", actor=None)
    record_veto(hh.id, on=date(2024, 5, 10), reason="乱搭乱建", actor=None)
    assert _account(hh).balance == -15
    assert run_checks() == []


def test_zhaili_disqualification_is_a_row_only(app, supermarket):
    # 000: "美德信用积分一律为0分，自动取消积分范围内的一切应用奖励"
    factories.policy(supermarket, "zhaili")
    hh = factories.household(supermarket, points=40)
    veto = record_veto(
        hh.id, on=date(2024, 5, 10), reason="醉酒驾驶", member_id=hh.members[0].id, actor=None
    )
    assert veto.kind == "zero_score_period" and veto.member_id == hh.members[0].id
    assert _account(hh).balance == 40
    assert (
        db.session.scalar(
            sa.select(sa.func.count(PointEntry.id)).where(PointEntry.kind == ENTRY_VETO_CLEAR)
        )
        == 0
    )


def test_refusals(app, supermarket):
    hh = factories.household(supermarket, points=10)
    other = factories.household(supermarket)
    with pytest.raises(ValidationFailed, match="没有一票否决"):
        record_veto(hh.id, on=date(2024, 5, 10), reason="x", actor=None)  # default policy
    factories.policy(supermarket, "datong")
    with pytest.raises(ValidationFailed, match="原因"):
        record_veto(hh.id, on=date(2024, 5, 10), reason="  ", actor=None)
    with pytest.raises(ValidationFailed, match="未来"):
        record_veto(hh.id, on=date(2024, 6, 2), reason="乱搭乱建", actor=None)
    with pytest.raises(ValidationFailed, match="日期"):
        record_veto(hh.id, on="2024-05-10", reason="乱搭乱建", actor=None)
    with pytest.raises(ValidationFailed, match="不属于"):
        record_veto(
            hh.id,
            on=date(2024, 5, 10),
            reason="乱搭乱建",
            member_id=other.members[0].id,
            actor=None,
        )
    with pytest.raises(NotFound):
        record_veto(9999, on=date(2024, 5, 10), reason="乱搭乱建", actor=None)
    assert db.session.scalar(sa.select(sa.func.count(Veto.id))) == 0
    assert _account(hh).balance == 10


def test_list_vetoes_by_year(app, supermarket):
    factories.policy(supermarket, "datong")
    hh = factories.household(supermarket)
    old = record_veto(hh.id, on=date(2023, 11, 1), reason="旧事", actor=None)
    new = record_veto(hh.id, on=date(2024, 3, 1), reason="新事", actor=None)
    assert [v.id for v in list_vetoes(supermarket.id)] == [new.id, old.id]
    assert [v.id for v in list_vetoes(supermarket.id, 2023)] == [old.id]
    assert list_vetoes(supermarket.id, 2022) == []
    other_sm = factories.supermarket(code="GY01", name="高阳镇积分超市")
    assert list_vetoes(other_sm.id) == []
    with pytest.raises(ValidationFailed):
        list_vetoes(supermarket.id, 20245)
