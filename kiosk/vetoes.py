"""Vetoes (大同 一票否决) and disqualifications (寨里 取消资格), recorded as rows.

What a veto does depends on the policy in force when it is recorded (kept on the row as
``kind``):

- ``VETO_CLEAR_AND_BAR_YEAR`` (大同 "对于发生负面清单行为的，清零当前积分，并取消当年兑换资格"):
  a "veto_clear" entry takes the current balance to zero (when positive) in the same
  transaction, and the rules refuse redemption for the rest of that calendar year.
- ``VETO_ZERO_SCORE_PERIOD`` (寨里 "美德信用积分一律为0分，自动取消积分范围内的一切应用奖励"): no
  entry (寨里 spends quotas, not a balance); the rules count the period's score as 0.

Nothing is edited or deleted: the veto is a row, the clearing an entry, both audited.
"""

from __future__ import annotations

import logging
from datetime import date, datetime

import sqlalchemy as sa

from kiosk import audit, clock
from kiosk.database import write_transaction
from kiosk.errors import NotFound, ValidationFailed
from kiosk.extensions import db
from kiosk.messages import _
from kiosk.models import ENTRY_VETO_CLEAR, Household, Member, User, Veto
from kiosk.points import locked_account, post_entry
from kiosk.rules import VETO_CLEAR_AND_BAR_YEAR, VETO_NONE

logger = logging.getLogger(__name__)

MAX_REASON = 200


def record_veto(
    household_id: int,
    *,
    on: date,
    reason: str,
    member_id: int | None = None,
    actor: User | None,
) -> Veto:
    """Record a veto on a day; under 大同's rule also clear the household's current points."""
    from kiosk.rules.policies import policy_for

    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if not reason:
        raise ValidationFailed(_("请填写否决原因（负面清单行为）"))
    if len(reason) > MAX_REASON:
        raise ValidationFailed(_("原因不能超过%(n)s个字", n=MAX_REASON))
    if not isinstance(on, date) or isinstance(on, datetime):
        raise ValidationFailed(_("日期格式不正确，应为 YYYY-MM-DD"))
    if on > clock.local_now().date():
        raise ValidationFailed(_("不能登记未来日期的否决"))
    with write_transaction():
        household = db.session.get(Household, household_id)
        if household is None:
            raise NotFound(_("没有找到该户"))
        policy = policy_for(household.supermarket)
        if policy.veto == VETO_NONE:
            raise ValidationFailed(
                _("本超市的规则（%(name)s）没有一票否决或取消资格", name=policy.name)
            )
        if member_id is not None:
            member = db.session.get(Member, member_id)
            if member is None or member.household_id != household.id:
                raise ValidationFailed(_("该成员不属于户号 %(number)s", number=household.number))
        account = locked_account(household.id)
        veto = Veto(
            household_id=household.id,
            member_id=member_id,
            on=on,
            kind=policy.veto,
            reason=reason,
            created_by_id=actor.id if actor is not None else None,
        )
        db.session.add(veto)
        db.session.flush()
        cleared = 0
        if policy.veto == VETO_CLEAR_AND_BAR_YEAR and account.balance > 0:
            cleared = account.balance
            post_entry(
                account,
                ENTRY_VETO_CLEAR,
                -cleared,
                actor=actor,
                reason=f"一票否决，清零当前积分（{on:%Y-%m-%d}）：{reason}"[:200],
                counts_as_earned=False,
            )
        audit.record(
            "veto.record",
            veto,
            actor=actor,
            supermarket_id=household.supermarket_id,
            household_id=household.id,
            member_id=member_id,
            on=on.isoformat(),
            kind=policy.veto,
            reason=reason,
            cleared=cleared,
        )
    logger.info("veto recorded for household %s (%s)", household_id, policy.veto)
    return veto


def list_vetoes(supermarket_id: int, year: int | None = None) -> list[Veto]:
    """The supermarket's vetoes, newest first; only those dated in ``year`` when given."""
    stmt = (
        sa.select(Veto)
        .join(Household, Household.id == Veto.household_id)
        .where(Household.supermarket_id == supermarket_id)
        .order_by(Veto.on.desc(), Veto.id.desc())
    )
    if year is not None:
        if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
            raise ValidationFailed(_("年份不正确"))
        stmt = stmt.where(Veto.on >= date(year, 1, 1), Veto.on < date(year + 1, 1, 1))
    return list(db.session.scalars(stmt))
