"""Period scores (评分) of households or members, and 大同's conversion of scores into points.

Scores are append-only: a correction is a new row, and the latest row per (household, member,
period) is the one that counts (:func:`kiosk.rules.standing.latest_assessments`). The period's form
follows the policy: "2024Q1" for quarters, "2024-03" for months. Under an individual policy
(寨里) every score belongs to a member; under a household policy (大同, 高阳) to the household.

Conversion (大同 "按两季度评分平均值按评分1分折换成平台积分0.1分累积进入积分账户"): periods are
grouped into consecutive, calendar-aligned runs of the gate's length (two quarters: Q1+Q2 and
Q3+Q4, the half-years). When the household has a score for every period of a run, the run is
worth ``converted_points(scores, conversion)`` — an exact :class:`~fractions.Fraction`, e.g.
average 87.5 × 1/10 = 8.75. The ledger holds whole points, so after every score written the
household's account is brought to ``floor(sum over complete runs) − points already converted``
by one "conversion" entry: 8.75 gives 8 points and carries 0.75; a next run worth 9.5 makes
the sum 18.25 and gives 10 more. The fraction is never rounded away and never paid twice, and
a corrected score moves the account by the exact difference (possibly negative) in a new entry.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from fractions import Fraction

import sqlalchemy as sa

from kiosk import audit, clock, rules
from kiosk.database import write_transaction
from kiosk.errors import NotFound, ValidationFailed
from kiosk.extensions import db
from kiosk.messages import _
from kiosk.models import (
    ENTRY_CONVERSION,
    Assessment,
    Household,
    Member,
    PointAccount,
    PointEntry,
    Supermarket,
    User,
)
from kiosk.points import locked_account, post_entry
from kiosk.rules import HOLDER_INDIVIDUAL, PERIOD_MONTH, PERIOD_QUARTER, Policy, standing

logger = logging.getLogger(__name__)

_PERIOD_RE = {
    PERIOD_QUARTER: re.compile(r"^(20\d\d)Q([1-4])$", re.ASCII),
    PERIOD_MONTH: re.compile(r"^(20\d\d)-(0[1-9]|1[0-2])$", re.ASCII),
}
_PERIOD_EXAMPLE = {PERIOD_QUARTER: "2024Q1", PERIOD_MONTH: "2024-03"}
MAX_NOTE = 200


@dataclass(frozen=True)
class AssessmentInput:
    """One score of a batch: a household's, or one of its members'."""

    household_id: int
    score: int
    member_id: int | None = None
    note: str = ""


def validate_period(period: str, policy: Policy) -> str:
    """The period in the policy's form ("2024Q1" or "2024-03"), not after the current one."""
    period = (period or "").strip().upper() if isinstance(period, str) else ""
    pattern = _PERIOD_RE.get(policy.period, _PERIOD_RE[PERIOD_QUARTER])
    if not pattern.match(period):
        unit = _("季度") if policy.period == PERIOD_QUARTER else _("月份")
        example = _PERIOD_EXAMPLE.get(policy.period, "2024Q1")
        raise ValidationFailed(
            _(
                "评分期间格式不正确：本超市按%(unit)s评分，应写成 %(example)s",
                unit=unit,
                example=example,
            )
        )
    if _index(period) > _index(rules.period_key(clock.local_now().date(), policy.period)):
        raise ValidationFailed(_("不能登记未来期间（%(period)s）的评分", period=period))
    return period


def _index(period: str) -> int:
    """A period's position on one line: consecutive periods differ by one."""
    if "Q" in period:
        year, quarter = period.split("Q")
        return int(year) * 4 + int(quarter) - 1
    year, month = period.split("-")
    return int(year) * 12 + int(month) - 1


def _validate_score(score: object) -> int:
    if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= 100:
        raise ValidationFailed(_("评分必须是0到100之间的整数"))
    return score


def _policy_of(supermarket_id: int) -> Policy:
    from kiosk.rules.policies import policy_for

    supermarket = db.session.get(Supermarket, supermarket_id)
    if supermarket is None:
        raise NotFound(_("没有找到该超市"))
    return policy_for(supermarket)


def _check_row(row: AssessmentInput, household: Household | None, policy: Policy) -> Household:
    """Refuse a row the policy does not allow; the household, known to exist, when it passes."""
    _validate_score(row.score)
    if household is None:
        raise NotFound(_("没有找到该户"))
    if len(row.note or "") > MAX_NOTE:
        raise ValidationFailed(_("备注不能超过%(n)s个字", n=MAX_NOTE))
    if policy.holder == HOLDER_INDIVIDUAL:
        if row.member_id is None:
            raise ValidationFailed(
                _("本超市按个人评分：请选择户号 %(number)s 的家庭成员", number=household.number)
            )
    elif row.member_id is not None:
        raise ValidationFailed(_("本超市按户评分，不需要选择家庭成员"))
    if row.member_id is not None:
        member = db.session.get(Member, row.member_id)
        if member is None or member.household_id != household.id:
            raise ValidationFailed(_("该成员不属于户号 %(number)s", number=household.number))
    return household


def record_assessment(
    household_id: int,
    period: str,
    score: int,
    *,
    member_id: int | None = None,
    note: str = "",
    actor: User | None,
) -> Assessment:
    """Record (or correct, with a new row) a period's score; converts scores where the policy
    says so."""
    household = db.session.get(Household, household_id)
    if household is None:
        raise NotFound(_("没有找到该户"))
    rows = record_assessments(
        household.supermarket_id,
        period,
        [AssessmentInput(household_id, score, member_id, note)],
        actor=actor,
    )
    return rows[0]


def record_assessments(
    supermarket_id: int,
    period: str,
    rows: list[AssessmentInput],
    *,
    actor: User | None,
) -> list[Assessment]:
    """Record a period's scores for many households or members: all or nothing."""
    policy = _policy_of(supermarket_id)
    period = validate_period(period, policy)
    if not rows:
        raise ValidationFailed(_("没有要登记的评分"))
    seen: set[tuple[int, int | None]] = set()
    for row in rows:
        key = (row.household_id, row.member_id)
        if key in seen:
            raise ValidationFailed(_("同一户（成员）在一次登记中出现了两次"))
        seen.add(key)
    with write_transaction():
        written: list[Assessment] = []
        homes: dict[int, Household] = {}
        for row in rows:
            found = db.session.get(Household, row.household_id)
            if found is not None and found.supermarket_id != supermarket_id:
                found = None
            household = _check_row(row, found, policy)
            homes[household.id] = household
            assessment = Assessment(
                household_id=household.id,
                member_id=row.member_id,
                period=period,
                score=row.score,
                note=(row.note or "").strip(),
                created_by_id=actor.id if actor is not None else None,
            )
            db.session.add(assessment)
            db.session.flush()
            audit.record(
                "assessment.record",
                assessment,
                actor=actor,
                supermarket_id=supermarket_id,
                household_id=household.id,
                member_id=row.member_id,
                period=period,
                score=row.score,
            )
            written.append(assessment)
        if policy.conversion is not None:
            for household_id in sorted(homes):
                _convert(homes[household_id], policy, actor)
    logger.info("recorded %s scores for %s", len(written), period)
    return written


def converted_total(household_id: int, policy: Policy) -> Fraction:
    """What the household's scores are worth in points under the policy's conversion, exactly."""
    if policy.conversion is None:
        return Fraction(0)
    run = policy.gate.consecutive_periods if policy.gate else 1
    run = max(run, 1)
    scores: dict[int, int] = {
        _index(a.period): a.score
        for a in standing.latest_assessments([household_id])[household_id]
        if a.member_id is None
    }
    groups: dict[int, list[int]] = {}
    for index in scores:
        groups.setdefault(index // run, []).append(index)
    total = Fraction(0)
    for indices in groups.values():
        if len(indices) == run:
            total += rules.converted_points([scores[i] for i in sorted(indices)], policy.conversion)
    return total


def carried_fraction(household_id: int, policy: Policy) -> Fraction:
    """The part of the converted total not yet in the ledger (结转): total − conversion entries."""
    if policy.conversion is None:
        return Fraction(0)
    already = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(PointEntry.amount), 0))
        .join(PointEntry.account)
        .where(PointAccount.household_id == household_id, PointEntry.kind == ENTRY_CONVERSION)
    )
    return converted_total(household_id, policy) - int(already or 0)


def format_points(value: Fraction) -> str:
    """A fraction of a point as the village writes it: "0.55" (at most two decimals, cut down)."""
    hundredths = math.floor(value * 100)
    whole, rest = divmod(hundredths, 100)
    return f"{whole}.{rest:02d}".rstrip("0").rstrip(".")


def _convert(household: Household, policy: Policy, actor: User | None) -> PointEntry | None:
    """Bring the account to floor(converted total) − already converted (caller's txn)."""
    account = locked_account(household.id)
    already = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(PointEntry.amount), 0)).where(
            PointEntry.account_id == account.id, PointEntry.kind == ENTRY_CONVERSION
        )
    )
    total = converted_total(household.id, policy)
    delta = math.floor(total) - int(already or 0)
    if delta == 0:
        return None
    entry = post_entry(
        account,
        ENTRY_CONVERSION,
        delta,
        actor=actor,
        reason=f"评分折算积分（累计折算{float(total):g}分）",
        counts_as_earned=True,
    )
    audit.record(
        "points.conversion",
        entry,
        actor=actor,
        supermarket_id=household.supermarket_id,
        household_id=household.id,
        amount=delta,
        converted_total=str(total),
    )
    return entry


def list_assessments(supermarket_id: int, period: str) -> list[Assessment]:
    """The scores that count for ``period`` (the latest per household and member)."""
    period = (period or "").strip().upper()
    rows = db.session.scalars(
        sa.select(Assessment)
        .join(Household, Household.id == Assessment.household_id)
        .where(Household.supermarket_id == supermarket_id, Assessment.period == period)
        .order_by(Assessment.id)
    )
    latest: dict[tuple[int, int | None], Assessment] = {}
    for row in rows:
        latest[(row.household_id, row.member_id)] = row
    homes = {
        h.id: h.number
        for h in db.session.scalars(
            sa.select(Household).where(Household.id.in_({k[0] for k in latest}))
        )
    }
    return sorted(latest.values(), key=lambda a: (homes[a.household_id], a.member_id or 0))


__all__ = [
    "AssessmentInput",
    "converted_total",
    "list_assessments",
    "record_assessment",
    "record_assessments",
    "validate_period",
]
