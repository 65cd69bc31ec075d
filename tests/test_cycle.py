"""Year-end turnover for 高阳: expiry and base grant entries, once per year, audited."""

from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa

from kiosk.check import run_checks
from kiosk.cycle import close_cycle
from kiosk.errors import NotFound, ValidationFailed
from kiosk.extensions import db
from kiosk.households import set_household_status
from kiosk.models import (
    ENTRY_BASE_GRANT,
    ENTRY_EXPIRY,
    AuditEvent,
    CycleClose,
    PointAccount,
    PointEntry,
)
from kiosk.points import deduct_points
from tests import factories

JAN_2025 = datetime(2025, 1, 5, 9, 0)


@pytest.fixture(autouse=True)
def _clock(monkeypatch):
    factories.pin_clock(monkeypatch, JAN_2025)


def _account(hh) -> PointAccount:
    return db.session.scalar(sa.select(PointAccount).where(PointAccount.household_id == hh.id))


def _entries(kind: str) -> int:
    return db.session.scalar(sa.select(sa.func.count(PointEntry.id)).where(PointEntry.kind == kind))


def test_gaoyang_close_expires_and_grants_the_base_once(app, supermarket, admin):
    # 003: "每年赋予每户基础分100分…积分以每年为一个周期，次年重新积分"
    factories.policy(supermarket, "gaoyang")
    rich = factories.household(supermarket, points=180)
    empty = factories.household(supermarket)
    negative = factories.household(supermarket, points=10)
    deduct_points(negative.id, 30, reason="乱搭乱建", actor=None)
    gone = factories.household(supermarket, points=50)
    set_household_status(gone.id, False, actor=None)  # moved away: lapses, gets no grant

    result = close_cycle(supermarket.id, 2024, actor=admin)
    assert (result.year, result.households) == (2024, 4)
    assert result.expired_points == 180 + 0 - 20 + 50
    assert result.granted_points == 300  # active households only
    db.session.rollback()
    assert _account(rich).balance == 100
    assert _account(empty).balance == 100
    assert _account(negative).balance == 100
    assert _account(gone).balance == 0
    assert _account(rich).earned_total == 280  # the grant is earned; expiry does not undo earning
    entries = (_entries(ENTRY_EXPIRY), _entries(ENTRY_BASE_GRANT))
    assert entries == (3, 3)
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "cycle.close"))
    assert event.actor_id == admin.id and event.data["granted_points"] == 300

    again = close_cycle(supermarket.id, 2024, actor=None)
    assert again == result  # the first result, nothing written
    db.session.rollback()
    assert (_entries(ENTRY_EXPIRY), _entries(ENTRY_BASE_GRANT)) == entries
    assert db.session.scalar(sa.select(sa.func.count(CycleClose.id))) == 1
    assert run_checks() == []


def test_refusals(app, supermarket, monkeypatch):
    with pytest.raises(ValidationFailed, match="滚动结存"):
        close_cycle(supermarket.id, 2024, actor=None)  # the default policy rolls over
    factories.policy(supermarket, "gaoyang")
    with pytest.raises(ValidationFailed, match="还没有结束"):
        close_cycle(supermarket.id, 2025, actor=None)
    for bad in (1999, "2024", True):
        with pytest.raises(ValidationFailed):
            close_cycle(supermarket.id, bad, actor=None)
    with pytest.raises(NotFound):
        close_cycle(999, 2024, actor=None)
    # December of the year itself is allowed (the committee closes the books at year end).
    factories.pin_clock(monkeypatch, datetime(2025, 12, 30, 16, 0))
    assert close_cycle(supermarket.id, 2025, actor=None).year == 2025
    assert db.session.scalar(sa.select(sa.func.count(CycleClose.id))) == 1
    assert run_checks() == []
