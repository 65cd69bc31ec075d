"""Period scores: recording, corrections as new rows, validation, and 大同's conversion."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import pytest
import sqlalchemy as sa

from kiosk.assessments import (
    AssessmentInput,
    list_assessments,
    record_assessment,
    record_assessments,
)
from kiosk.check import run_checks
from kiosk.errors import NotFound, ValidationFailed
from kiosk.extensions import db
from kiosk.models import ENTRY_CONVERSION, Assessment, AuditEvent, PointAccount, PointEntry
from kiosk.rules import PERIOD_MONTH, Policy
from tests import factories


@pytest.fixture(autouse=True)
def _clock(monkeypatch):
    factories.pin_clock(monkeypatch, datetime(2024, 12, 20, 10, 0))


def _entries(hh, kind=ENTRY_CONVERSION) -> list[int]:
    db.session.rollback()
    return db.session.scalars(
        sa.select(PointEntry.amount)
        .join(PointAccount, PointAccount.id == PointEntry.account_id)
        .where(PointAccount.household_id == hh.id, PointEntry.kind == kind)
        .order_by(PointEntry.id)
    ).all()


def test_record_and_correct_a_household_score(app, supermarket, admin):
    factories.policy(supermarket, "gaoyang")
    hh = factories.household(supermarket)
    first = record_assessment(hh.id, "2024Q1", 82, note="入户检查", actor=admin)
    assert (first.period, first.score, first.member_id, first.note) == (
        "2024Q1",
        82,
        None,
        "入户检查",
    )
    corrected = record_assessment(hh.id, "2024q1", 88, actor=admin)  # lower case accepted
    assert corrected.id != first.id
    rows = list_assessments(supermarket.id, "2024Q1")
    assert [(r.household_id, r.score) for r in rows] == [(hh.id, 88)]  # latest wins
    assert db.session.scalar(sa.select(sa.func.count(Assessment.id))) == 2  # append-only
    events = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "assessment.record")
    ).all()
    assert [e.data["score"] for e in events] == [82, 88]
    assert events[0].actor_id == admin.id
    assert list_assessments(supermarket.id, "2024Q2") == []


@pytest.mark.parametrize("score", [-1, 101, True, "90", 85.5, None])
def test_score_out_of_range_is_refused(app, supermarket, score):
    hh = factories.household(supermarket)
    with pytest.raises(ValidationFailed, match="0到100"):
        record_assessment(hh.id, "2024Q1", score, actor=None)
    assert db.session.scalar(sa.select(sa.func.count(Assessment.id))) == 0


@pytest.mark.parametrize("score", [0, 100])
def test_score_bounds_are_accepted(app, supermarket, score):
    hh = factories.household(supermarket)
    assert record_assessment(hh.id, "2024Q1", score, actor=None).score == score


@pytest.mark.parametrize("period", ["2024-03", "2024Q5", "24Q1", "2024 Q1", "", "2025Q1"])
def test_bad_period_for_a_quarterly_policy(app, supermarket, period):
    hh = factories.household(supermarket)
    with pytest.raises(ValidationFailed):
        record_assessment(hh.id, period, 90, actor=None)


def test_a_monthly_policy_takes_months(app, supermarket):
    factories.policy(supermarket, dataclasses.replace(Policy(), period=PERIOD_MONTH))
    hh = factories.household(supermarket)
    with pytest.raises(ValidationFailed, match="2024-03"):
        record_assessment(hh.id, "2024Q1", 90, actor=None)
    with pytest.raises(ValidationFailed):
        record_assessment(hh.id, "2024-13", 90, actor=None)
    assert record_assessment(hh.id, "2024-03", 90, actor=None).period == "2024-03"


def test_members_under_zhaili(app, supermarket):
    factories.policy(supermarket, "zhaili")
    hh = factories.family(supermarket, [("王建国", None), ("王小红", None)])
    other = factories.household(supermarket)
    with pytest.raises(ValidationFailed, match="家庭成员"):
        record_assessment(hh.id, "2024Q1", 90, actor=None)  # individual: a member is needed
    with pytest.raises(ValidationFailed, match="不属于"):
        record_assessment(hh.id, "2024Q1", 90, member_id=other.members[0].id, actor=None)
    row = record_assessment(hh.id, "2024Q1", 90, member_id=hh.members[1].id, actor=None)
    assert row.member_id == hh.members[1].id


def test_a_household_policy_refuses_member_scores(app, supermarket):
    factories.policy(supermarket, "datong")
    hh = factories.household(supermarket)
    with pytest.raises(ValidationFailed, match="按户评分"):
        record_assessment(hh.id, "2024Q1", 90, member_id=hh.members[0].id, actor=None)


def test_unknown_household(app, supermarket):
    with pytest.raises(NotFound):
        record_assessment(9999, "2024Q1", 90, actor=None)


def test_a_batch_is_all_or_nothing(app, supermarket, admin):
    a, b = factories.household(supermarket), factories.household(supermarket)
    other_sm = factories.supermarket(code="GY01", name="高阳镇积分超市")
    stranger = factories.household(other_sm)
    with pytest.raises(ValidationFailed):
        record_assessments(
            supermarket.id,
            "2024Q1",
            [AssessmentInput(a.id, 90), AssessmentInput(b.id, 120)],
            actor=admin,
        )
    with pytest.raises(NotFound):
        record_assessments(
            supermarket.id,
            "2024Q1",
            [AssessmentInput(a.id, 90), AssessmentInput(stranger.id, 80)],
            actor=admin,
        )
    with pytest.raises(ValidationFailed, match="两次"):
        record_assessments(
            supermarket.id,
            "2024Q1",
            [AssessmentInput(a.id, 90), AssessmentInput(a.id, 80)],
            actor=admin,
        )
    with pytest.raises(ValidationFailed):
        record_assessments(supermarket.id, "2024Q1", [], actor=admin)
    assert db.session.scalar(sa.select(sa.func.count(Assessment.id))) == 0
    rows = record_assessments(
        supermarket.id,
        "2024Q1",
        [AssessmentInput(b.id, 70), AssessmentInput(a.id, 90)],
        actor=admin,
    )
    assert [r.score for r in rows] == [70, 90]
    assert [(r.household_id, r.score) for r in list_assessments(supermarket.id, "2024Q1")] == [
        (a.id, 90),
        (b.id, 70),
    ]


def test_datong_conversion_carries_the_fraction_exactly(app, supermarket):
    # 001: "“基础评分”按两季度评分平均值按评分1分折换成平台积分0.1分累积进入积分账户"
    factories.policy(supermarket, "datong")
    hh = factories.household(supermarket, points=10)
    record_assessment(hh.id, "2024Q1", 86, actor=None)
    assert _entries(hh) == []  # one quarter alone converts nothing
    record_assessment(hh.id, "2024Q2", 89, actor=None)  # avg 87.5 -> 8.75 -> 8, carry 0.75
    assert _entries(hh) == [8]
    record_assessment(hh.id, "2024Q3", 90, actor=None)
    record_assessment(hh.id, "2024Q4", 95, actor=None)  # 9.25: 18.00 in all -> 10 more
    assert _entries(hh) == [8, 10]
    record_assessment(hh.id, "2024Q4", 96, actor=None)  # 18.05: still 18, nothing written
    assert _entries(hh) == [8, 10]
    record_assessment(hh.id, "2024Q4", 70, actor=None)  # 16.75: a correcting entry of -2
    assert _entries(hh) == [8, 10, -2]
    account = db.session.scalar(sa.select(PointAccount).where(PointAccount.household_id == hh.id))
    assert account.balance == 10 + 16
    assert account.earned_total == 10 + 16  # converted points are earned (ranking basis)
    assert run_checks() == []


def test_no_conversion_without_a_conversion_rule(app, supermarket):
    factories.policy(supermarket, "gaoyang")
    hh = factories.household(supermarket)
    record_assessment(hh.id, "2024Q1", 90, actor=None)
    record_assessment(hh.id, "2024Q2", 90, actor=None)
    assert _entries(hh) == []
