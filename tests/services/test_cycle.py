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
    # Registered under the old rules (a household joining under 高阳's gets its base then).
    rich = factories.household(supermarket, points=180)
    empty = factories.household(supermarket)
    negative = factories.household(supermarket, points=10)
    deduct_points(negative.id, 30, reason="乱搭乱建", actor=None)
    gone = factories.household(supermarket, points=50)
    set_household_status(gone.id, False, actor=None)  # moved away: lapses, gets no grant
    factories.policy(supermarket, "gaoyang")

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


# --- 高阳: a household joining during the year gets the year's base at once -----------------


def _base_grants(hh) -> list[tuple[int, str]]:
    return [
        (e.amount, e.reason)
        for e in db.session.scalars(
            sa.select(PointEntry)
            .where(PointEntry.account_id == _account(hh).id, PointEntry.kind == ENTRY_BASE_GRANT)
            .order_by(PointEntry.id)
        )
    ]


def test_a_household_registered_in_may_gets_the_years_base_at_once(
    app, supermarket, admin, monkeypatch
):
    # 003: "每年赋予每户基础分100分": not only from next year's close.
    from kiosk.households import grant_joining_base

    factories.policy(supermarket, "gaoyang")
    factories.pin_clock(monkeypatch, datetime(2025, 5, 12, 10, 0))
    hh = factories.household(supermarket)
    assert _base_grants(hh) == [(100, "2025年度基础分")]
    account = _account(hh)
    assert (account.balance, account.earned_total) == (100, 100)
    assert db.session.scalar(
        sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == "cycle.base_grant")
    )
    # Granting again (a retry, a second path) gives nothing.
    assert grant_joining_base([hh], actor=admin) == 0
    assert _base_grants(hh) == [(100, "2025年度基础分")]
    # The year's close lapses 2025's points and grants 2026's, as for everyone.
    factories.points_award(hh, 20)
    factories.pin_clock(monkeypatch, datetime(2025, 12, 30, 16, 0))
    result = close_cycle(supermarket.id, 2025, actor=admin)
    assert (result.households, result.expired_points, result.granted_points) == (1, 120, 100)
    assert _base_grants(hh) == [(100, "2025年度基础分"), (100, "2026年度基础分")]
    assert _account(hh).balance == 100
    assert run_checks() == []


def test_joining_after_the_year_ended_or_was_closed(app, supermarket, admin, monkeypatch):
    old = factories.household(supermarket, points=60)  # registered before 高阳's rules
    factories.policy(supermarket, "gaoyang")
    # January 2026, 2025 not closed yet: the newcomer's points are all 2026's.
    factories.pin_clock(monkeypatch, datetime(2026, 1, 8, 10, 0))
    new = factories.household(supermarket, points=7)
    assert _base_grants(new) == [(100, "2026年度基础分")]
    result = close_cycle(supermarket.id, 2025, actor=admin)
    assert (result.households, result.expired_points, result.granted_points) == (1, 60, 100)
    assert _account(new).balance == 107  # nothing of the newcomer's lapsed, no second base
    assert _account(old).balance == 100
    # December 2026, the year closed early: a household joining now gets 2027's base.
    factories.pin_clock(monkeypatch, datetime(2026, 12, 28, 10, 0))
    close_cycle(supermarket.id, 2026, actor=admin)
    late = factories.household(supermarket)
    assert _base_grants(late) == [(100, "2027年度基础分")]
    assert run_checks() == []


def test_no_base_on_joining_under_rolling_rules(app, supermarket):
    factories.policy(supermarket, "datong")
    hh = factories.household(supermarket)
    assert _base_grants(hh) == []
    assert _account(hh).balance == 0


def test_an_imported_household_gets_the_years_base(app, supermarket, admin, monkeypatch):
    from kiosk import imports

    factories.policy(supermarket, "gaoyang")
    factories.pin_clock(monkeypatch, datetime(2025, 5, 20, 10, 0))
    rows = [
        "户号,户主,村,组,成员,关系,出生日期",
        "A-01,张三丰,东村,一组,张三丰,户主,1958-03-21",
        "A-02,王建国,东村,二组,王建国,户主,1971-11-15",
    ]
    data = ("\r\n".join(rows) + "\r\n").encode("utf-8")
    batch, checked = imports.preview_import(
        supermarket.id, "households", "户.csv", data, actor=admin
    )
    assert checked.ok, checked.messages()
    imports.commit_import(batch.id, actor=admin)
    balances = db.session.scalars(sa.select(PointAccount.balance)).all()
    assert balances == [100, 100]
    assert _entries(ENTRY_BASE_GRANT) == 2
    assert run_checks() == []
