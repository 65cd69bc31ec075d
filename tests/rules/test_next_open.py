"""下次可兑换 (Decision.next_open) is offered only when the household may redeem on that day.

The counter and self-service show "下次可兑换：12月28日" from ``next_open``; a household that
will still be refused then (gate not met, nothing above the base, no points) must not be told
to come back that day.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest

from kiosk.rules import AccountState, Assessment, MemberState, VetoRecord, Window, decide
from kiosk.rules.presets import DATONG, GAOYANG, ZHAILI

DEC_6 = datetime(2026, 12, 6, 10, 30)  # 大同's window (the 28th) is closed


def datong(balance: int, scores: tuple[int, int] = (90, 90), vetoes=()) -> AccountState:
    return AccountState(
        household_active=True,
        balance=balance,
        earned_total=balance,
        assessments=(Assessment("2026Q3", scores[0]), Assessment("2026Q4", scores[1])),
        vetoes=tuple(VetoRecord(on) for on in vetoes),
    )


@pytest.mark.parametrize(
    ("state", "offered"),
    [
        (datong(40), date(2026, 12, 28)),  # may redeem on the 28th
        (datong(40, (90, 80)), None),  # the gate is not met: refused on the 28th too
        (datong(0), None),  # nothing to redeem on the 28th
    ],
    ids=["eligible", "gate-not-met", "no-points"],
)
def test_datong_offers_the_market_day_only_to_a_household_that_may_redeem_then(state, offered):
    d = decide(state, DATONG, DEC_6)
    assert not d.may_redeem
    assert d.blocking_reason.code == "window_closed"
    assert d.next_open == offered


def test_a_vetoed_household_is_offered_next_year_only_with_points_to_spend():
    cleared = decide(datong(0, vetoes=(date(2026, 3, 1),)), DATONG, DEC_6)
    assert cleared.next_open is None  # 一票否决 cleared its points
    earned_since = decide(datong(30, vetoes=(date(2026, 3, 1),)), DATONG, DEC_6)
    assert earned_since.next_open == date(2027, 1, 28)


@pytest.mark.parametrize(
    ("balance", "moment", "offered"),
    [
        (150, datetime(2026, 2, 10, 9, 0), date(2026, 4, 1)),
        (100, datetime(2026, 2, 10, 9, 0), None),  # only the base: nothing to redeem in April
        # December: the next window is 1 January, when the new cycle starts from the base alone.
        (150, datetime(2026, 12, 6, 9, 0), None),
    ],
    ids=["surplus", "only-the-base", "next-cycle"],
)
def test_gaoyang_offers_the_quarter_only_when_something_is_redeemable_then(
    balance, moment, offered
):
    d = decide(AccountState(True, balance, earned_total=balance), GAOYANG, moment)
    assert d.blocking_reason.code == "window_closed"
    assert d.next_open == offered


def test_a_quota_used_up_this_quarter_is_fresh_at_the_next_opening():
    # 寨里 with a window (a village's own): the next opening falls in a new quarter, whose
    # quota is unused; within the quarter an exhausted quota offers nothing.
    policy = ZHAILI.__class__(**{**ZHAILI.__dict__, "window": Window("months", (1, 4, 7, 10))})
    state = AccountState(
        household_active=True,
        balance=0,
        members=(MemberState(1),),
        assessments=(Assessment("2026Q1", 85, member_id=1),),
        used_this_period=100,
    )
    d = decide(state, policy, datetime(2026, 2, 10, 9, 0))
    assert d.next_open == date(2026, 4, 1)
    no_score = AccountState(household_active=True, balance=0, members=(MemberState(1),))
    assert decide(no_score, policy, datetime(2026, 2, 10, 9, 0)).next_open is None


def test_a_vetoed_household_with_nothing_to_spend_is_not_given_a_day():
    # The veto's reason names the next redemption day only with 下次可兑换 itself.
    cleared = decide(datong(0, vetoes=(date(2026, 3, 1),)), DATONG, DEC_6)
    vetoed = next(r for r in cleared.reasons if r.code == "vetoed")
    assert vetoed.message == "2026年3月1日因一票否决取消2026年兑换资格，2027年起恢复"
    earned_since = decide(datong(30, vetoes=(date(2026, 3, 1),)), DATONG, DEC_6)
    vetoed = next(r for r in earned_since.reasons if r.code == "vetoed")
    assert vetoed.message.endswith("2027年起恢复（下次兑换日2027年1月28日）")
