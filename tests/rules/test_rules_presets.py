"""The four seed rule sets at every boundary the seeds state. Each case cites its seed line.

Seeds: 000 寨里, 001 大同, 003 高阳, 004 羊亭 (in /work/shared/seeds and quoted in docs/rules/).
"""

from __future__ import annotations

from datetime import date, datetime

import pytest

from kiosk.rules import (
    AccountState,
    Assessment,
    CartItem,
    MemberState,
    VetoRecord,
    decide,
)
from kiosk.rules.presets import DATONG, GAOYANG, PRESETS, YANGTING, ZHAILI, preset

# Seed lines (quoted exactly).
DATONG_GATE = "连续两季度评分达85分以上即可参加积分兑换活动"
DATONG_WINDOW = "兑换活动于每月最后一个赶场天在古镇社区“励志超市”开展兑换活动"
DATONG_ROLLOVER = "对于未兑换的积分可累计到下月,实行积分滚动结存"
DATONG_VETO = "实行“一票否决”制,对于发生负面清单行为的,清零当前积分,并取消当年兑换资格"
GAOYANG_BASE = "农户凭积分信息卡可将超出基础分的部分（即总积分减去100分）到“积分超市”兑换等值物品"
GAOYANG_WINDOW = "农户在每季度第一月进行兑换"
GAOYANG_RANK = "已兑换物品的积分在账号上进行扣减，但扣减的积分不影响年底积分排名"
ZHAILI_TIERS = (
    "70-80为三星级，该季度享受美德信用超市兑换50元物品；81-90为四星级，该季度享受美德信用超市兑换"
    "100元物品；91-100为五星级，该季度享受美德信用超市兑换150元物品"
)
ZHAILI_DQ = "美德信用积分一律为0分，自动取消积分范围内的一切应用奖励"
ZHAILI_CANTEEN = "60-70岁的老人，美德信用积分在80分以上的，该季度在长者食堂免费就餐"
YANGTING_PYRAMID = "信用積分情況以金字塔形式直觀展現(xiàn)"


def at(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 10, 30)


def codes(decision) -> list[str]:
    return [r.code for r in decision.reasons]


def message(decision, code: str) -> str:
    return next(r.message for r in decision.reasons if r.code == code)


def test_presets_are_registered_by_key():
    assert set(PRESETS) == {"datong", "gaoyang", "zhaili", "yangting"}
    for key, policy in PRESETS.items():
        assert policy.preset == key
        assert preset(key) is policy


def test_unknown_preset_is_a_chinese_not_found():
    from kiosk.errors import NotFound

    with pytest.raises(NotFound, match="没有名为“wendeng”的预设规则"):
        preset("wendeng")


# ============================================================================================
# 大同 (001)
# ============================================================================================

MARKET_DAY = at(2024, 3, 28)  # the last market day of March 2024 (逢三逢八: 28)


def datong(balance: int = 50, scores=(("2023Q4", 90), ("2024Q1", 90)), vetoes=()) -> AccountState:
    return AccountState(
        household_active=True,
        balance=balance,
        earned_total=balance,
        assessments=tuple(Assessment(p, s) for p, s in scores),
        vetoes=tuple(VetoRecord(on) for on in vetoes),
    )


@pytest.mark.parametrize(
    ("scores", "ok", "text"),
    [
        # 001: "连续两季度评分达85分以上即可参加积分兑换活动" — 85 counts ("以上" includes 85)
        (
            (("2023Q4", 85), ("2024Q1", 85)),
            True,
            "连续两个季度评分达到85分（2023年第四季度：85分，2024年第一季度：85分），可以参加兑换",
        ),
        ((("2023Q4", 90), ("2024Q1", 84)), False, "连续两个季度评分需达到85分（2024年第一季度：84分）"),
        ((("2023Q4", 84), ("2024Q1", 90)), False, "连续两个季度评分需达到85分（2023年第四季度：84分）"),
        (
            (("2023Q4", 84), ("2024Q1", 82)),
            False,
            "连续两个季度评分需达到85分（2023年第四季度：84分，2024年第一季度：82分）",
        ),
        # one quarter only
        ((("2024Q1", 95),), False, "连续两个季度评分需达到85分（2023年第四季度：未评分）"),
        # two good quarters that are not consecutive
        (
            (("2023Q3", 95), ("2024Q1", 95)),
            False,
            "连续两个季度评分需达到85分（2023年第四季度：未评分）",
        ),
        # this quarter not assessed yet: the last two assessed quarters count
        (
            (("2023Q3", 88), ("2023Q4", 86)),
            True,
            "连续两个季度评分达到85分（2023年第三季度：88分，2023年第四季度：86分），可以参加兑换",
        ),
        # a later quarter's score is not known yet on 2024-03-28
        (
            (("2023Q4", 90), ("2024Q1", 90), ("2024Q2", 10)),
            True,
            "连续两个季度评分达到85分（2023年第四季度：90分，2024年第一季度：90分），可以参加兑换",
        ),
        ((), False, "连续两个季度评分需达到85分（尚无评分）"),
    ],
    ids=["85-85", "90-84", "84-90", "84-82", "one-quarter", "non-consecutive", "last-two-assessed",
         "future-ignored", "no-scores"],
)  # fmt: skip
def test_datong_gate(scores, ok, text):
    # 001: DATONG_GATE
    d = decide(datong(scores=scores), DATONG, MARKET_DAY)
    assert d.may_redeem is ok
    assert d.spendable == (50 if ok else 0)
    reason = next(r for r in d.reasons if r.code in ("gate_met", "gate_not_met"))
    assert reason.code == ("gate_met" if ok else "gate_not_met")
    assert reason.message == text
    assert reason.blocking is not ok


def test_datong_correction_latest_row_wins():
    # A correction is a new row; the state lists them oldest first.
    d = decide(datong(scores=(("2023Q4", 90), ("2024Q1", 80), ("2024Q1", 86))), DATONG, MARKET_DAY)
    assert d.may_redeem


@pytest.mark.parametrize(
    ("moment", "ok", "next_open", "text"),
    [
        # 001: "兑换活动于每月最后一个赶场天…开展兑换活动" (market days 逢三逢八: last is the 28th)
        (at(2024, 3, 28), True, None, "今天（2024年3月28日）是本月最后一个赶场天，可以兑换"),
        (at(2024, 3, 27), False, date(2024, 3, 28), "本月兑换日为3月28日（赶场天），今天不能兑换"),
        (at(2024, 3, 23), False, date(2024, 3, 28), "本月兑换日为3月28日（赶场天），今天不能兑换"),
        (
            at(2024, 3, 29),
            False,
            date(2024, 4, 28),
            "本月兑换日3月28日已过，下次兑换日为2024年4月28日（赶场天）",
        ),
        (at(2024, 2, 28), True, None, "今天（2024年2月28日）是本月最后一个赶场天，可以兑换"),
    ],
    ids=["last-market-day", "day-before", "earlier-market-day", "day-after", "february"],
)
def test_datong_window_last_market_day(moment, ok, next_open, text):
    # 001: DATONG_WINDOW
    scores = (("2023Q3", 90), ("2023Q4", 90)) if moment.month < 4 else ()
    d = decide(datong(scores=scores), DATONG, moment)
    assert d.may_redeem is ok
    assert d.next_open == next_open
    reason = next(r for r in d.reasons if r.code.startswith("window_"))
    assert reason.code == ("window_open" if ok else "window_closed")
    assert reason.message == text
    if not ok:
        assert d.spendable == 0


def test_datong_unredeemed_points_roll_over_to_the_next_month():
    # 001: DATONG_ROLLOVER — nothing expires between market days; April spends March's points.
    state = datong(balance=37, scores=(("2023Q4", 90), ("2024Q1", 90)))
    march = decide(state, DATONG, at(2024, 3, 28))
    april = decide(state, DATONG, at(2024, 4, 28))
    assert march.spendable == april.spendable == 37
    assert april.may_redeem


@pytest.mark.parametrize(
    ("veto_on", "moment", "vetoed"),
    [
        (date(2024, 5, 10), at(2024, 5, 28), True),  # the same month
        (date(2024, 5, 10), at(2024, 12, 28), True),  # the rest of the year
        (date(2024, 5, 10), at(2025, 1, 28), False),  # not the next year
        (date(2024, 5, 29), at(2024, 5, 28), False),  # a veto recorded for a later day
        (date(2023, 12, 1), at(2024, 3, 28), False),  # last year's veto
    ],
    ids=["same-month", "december", "next-year", "later-day", "last-year"],
)
def test_datong_veto_bars_until_december_31(veto_on, moment, vetoed):
    # 001: DATONG_VETO
    key = (moment.year, (moment.month - 1) // 3 + 1)
    prev = (key[0], key[1] - 1) if key[1] > 1 else (key[0] - 1, 4)
    scores = ((f"{prev[0]}Q{prev[1]}", 90), (f"{key[0]}Q{key[1]}", 90))
    d = decide(datong(scores=scores, vetoes=(veto_on,)), DATONG, moment)
    assert ("vetoed" in codes(d)) is vetoed
    assert d.may_redeem is not vetoed
    if vetoed:
        assert message(d, "vetoed") == (
            "2024年5月10日因一票否决取消2024年兑换资格，2025年起恢复（下次兑换日2025年1月28日）"
        )
        assert d.next_open == date(2025, 1, 28)
        assert d.spendable == 0


# ============================================================================================
# 高阳 (003)
# ============================================================================================


def gaoyang(balance: int, earned: int | None = None) -> AccountState:
    return AccountState(True, balance, earned_total=balance if earned is None else earned)


@pytest.mark.parametrize(
    ("balance", "spendable", "ok"),
    [(99, 0, False), (100, 0, False), (101, 1, True), (125, 25, True)],
)
def test_gaoyang_only_points_above_the_base(balance, spendable, ok):
    # 003: GAOYANG_BASE
    d = decide(gaoyang(balance), GAOYANG, at(2024, 4, 15))
    assert d.spendable == spendable
    assert d.may_redeem is ok
    assert message(d, "reserved_base") == f"基础分100分不能兑换，可兑换积分{spendable}分"
    if not ok:
        assert d.blocking_reason.code == "no_points"
        assert d.blocking_reason.message == (f"总积分{balance}分未超过基础分100分，没有可兑换积分")


@pytest.mark.parametrize(("cart_total", "ok"), [(25, True), (26, False)])
def test_gaoyang_cart_cannot_reach_into_the_base(cart_total, ok):
    # 003: GAOYANG_BASE — 125 points: 25 redeemable
    d = decide(gaoyang(125), GAOYANG, at(2024, 4, 15), (CartItem(1, "洗衣粉", cart_total, 1),))
    assert d.may_redeem is ok
    if not ok:
        assert d.blocking_reason.message == "本次需要26分，可用积分只有25分，还差1分"


@pytest.mark.parametrize(
    ("moment", "ok", "next_open"),
    [
        (at(2024, 1, 2), True, None),
        (at(2024, 4, 1), True, None),
        (at(2024, 7, 31), True, None),
        (at(2024, 10, 15), True, None),
        (at(2024, 2, 1), False, date(2024, 4, 1)),
        (at(2024, 3, 31), False, date(2024, 4, 1)),
        (at(2024, 5, 15), False, date(2024, 7, 1)),
        (at(2024, 12, 20), False, date(2025, 1, 1)),
    ],
    ids=["jan", "apr-1", "jul-31", "oct", "feb-1", "mar-31", "may", "dec"],
)
def test_gaoyang_first_month_of_each_quarter(moment, ok, next_open):
    # 003: GAOYANG_WINDOW
    d = decide(gaoyang(150), GAOYANG, moment)
    assert d.may_redeem is ok
    # 下次可兑换 is offered only when the household may redeem then: on 1 January the new
    # cycle starts from the base alone ("次年重新积分"), so December offers none.
    new_year = next_open is not None and next_open.year > moment.year
    assert d.next_open == (None if new_year else next_open)
    rule = "每季度第一个月（1月、4月、7月、10月）兑换"
    if ok:
        assert message(d, "window_open") == f"{rule}，本月可以兑换"
        assert d.spendable == 50
    else:
        assert d.blocking_reason.code == "window_closed"
        y, m, dd = next_open.year, next_open.month, next_open.day
        assert d.blocking_reason.message == f"{rule}，今天不能兑换，下次从{y}年{m}月{dd}日开始"
        assert d.spendable == 0


def test_gaoyang_redemption_lowers_the_balance_not_the_earned_total():
    # 003: GAOYANG_RANK — the engine never reads earned_total for what may be spent, and
    # the ranking basis (earned_total) is what the redemption leaves alone.
    before = decide(gaoyang(160, earned=160), GAOYANG, at(2024, 7, 2))
    after = decide(gaoyang(110, earned=160), GAOYANG, at(2024, 7, 2))
    assert (before.spendable, after.spendable) == (60, 10)


# ============================================================================================
# 寨里 (000)
# ============================================================================================

Q2 = at(2024, 5, 15)


def zhaili(*members, used: int = 0, vetoes=(), restricted_used=()) -> AccountState:
    """members: (member_id, {period: score}, birth_date or None)."""
    return AccountState(
        household_active=True,
        balance=0,
        members=tuple(MemberState(mid, birth) for mid, _, birth in members),
        assessments=tuple(
            Assessment(p, s, member_id=mid) for mid, scores, _ in members for p, s in scores.items()
        ),
        vetoes=tuple(VetoRecord(on, member_id=mid) for on, mid in vetoes),
        used_this_period=used,
        restricted_used=tuple(restricted_used),
    )


@pytest.mark.parametrize(
    ("score", "tier", "quota"),
    [(69, None, 0), (70, "三星级", 50), (80, "三星级", 50), (81, "四星级", 100),
     (90, "四星级", 100), (91, "五星级", 150), (100, "五星级", 150), (0, None, 0)],
    ids=lambda v: str(v),
)  # fmt: skip
def test_zhaili_star_tiers_and_quarterly_quota(score, tier, quota):
    # 000: ZHAILI_TIERS ("以70分为积分应用基准，每10分一个等级")
    d = decide(zhaili((1, {"2024Q2": score}, None)), ZHAILI, Q2)
    assert d.tier == tier
    assert d.quota_left == quota
    assert d.spendable == quota
    assert d.may_redeem is (quota > 0)
    if quota:
        assert message(d, "quota") == f"本季度可兑换额度{quota}元，已用0元，剩余{quota}元"
        assert message(d, "tier") == (
            f"家庭成员2024年第二季度评分{score}分，{tier}（每季度{quota}元）；家庭星级{tier}"
        )
    else:
        assert d.blocking_reason.code == "no_tier"
        assert d.blocking_reason.message == "家庭成员评分均未达到70分（三星级），不能兑换"


def test_zhaili_quotas_are_summed_over_members():
    # 000: ZHAILI_TIERS, per person ("仅个人信用积分可兑换应用场景使用权"), rolled up to the household
    state = zhaili(
        (1, {"2024Q2": 85}, None), (2, {"2024Q2": 75}, None), (3, {"2024Q2": 95}, None),
        (4, {"2024Q2": 60}, None), (5, {}, None),
    )  # fmt: skip
    d = decide(state, ZHAILI, Q2)
    assert d.quota_left == 100 + 50 + 150
    # Family star rating: members' average (000: "根据家庭成员信用积分平均分确定诚信家庭星级"):
    # (85 + 75 + 95 + 60) / 4 = 78.75 -> 三星级; member 5 has no score and is left out.
    assert d.tier == "三星级"
    assert message(d, "quota") == "本季度可兑换额度300元，已用0元，剩余300元"


@pytest.mark.parametrize(
    ("used", "cart", "ok", "code", "text"),
    [
        (30, 120, True, None, None),
        (30, 121, False, "quota_exhausted", "本次需要121元，本季度剩余额度只有120元，还差1元"),
        (150, None, False, "quota_exhausted", "本季度兑换额度150元已用完"),
        (170, None, False, "quota_exhausted", "本季度兑换额度150元已用完"),
    ],
)
def test_zhaili_quota_used_this_quarter(used, cart, ok, code, text):
    # 000: "91-100为五星级，该季度享受美德信用超市兑换150元物品"
    items = (CartItem(1, "大米", 1, cart),) if cart else None
    d = decide(zhaili((1, {"2024Q2": 95}, None), used=used), ZHAILI, Q2, items)
    assert d.may_redeem is ok
    if used == 30:
        assert message(d, "quota") == "本季度可兑换额度150元，已用30元，剩余120元"
    if not ok:
        assert d.blocking_reason.code == code
        assert d.blocking_reason.message == text


def test_zhaili_quota_does_not_touch_the_balance():
    # 寨里 spends only the quarter's quota: a zero points balance does not matter.
    d = decide(zhaili((1, {"2024Q2": 95}, None)), ZHAILI, Q2, (CartItem(1, "油", 1, 150),))
    assert d.may_redeem and d.charged == {1: 150}
    assert "balance" not in codes(d) and "no_points" not in codes(d)


@pytest.mark.parametrize(
    ("scores", "tier", "quota"),
    [
        ({"2024Q1": 91}, "五星级", 150),  # Q2 not assessed yet: Q1's score counts
        ({"2024Q1": 91, "2024Q2": 75}, "三星级", 50),  # Q2's score replaces it
        ({"2024Q2": 75, "2024Q3": 95}, "三星级", 50),  # Q3 is not here yet
    ],
)
def test_zhaili_the_latest_assessed_quarter_counts(scores, tier, quota):
    d = decide(zhaili((1, scores, None)), ZHAILI, Q2)
    assert (d.tier, d.quota_left) == (tier, quota)


def test_zhaili_disqualification_zeroes_the_quarter():
    # 000: ZHAILI_DQ
    state = zhaili((1, {"2024Q2": 95}, None), vetoes=((date(2024, 4, 20), 1),))
    d = decide(state, ZHAILI, Q2)
    assert not d.may_redeem and d.spendable == 0 and d.quota_left == 0
    assert d.blocking_reason.code == "disqualified"
    assert d.blocking_reason.message == (
        "2024年4月20日取消资格：2024年第二季度积分为0分，取消一切兑换权利"
    )
    # A score recorded after the disqualification does not restore the quarter.
    later = zhaili((1, {"2024Q2": 95}, None), vetoes=((date(2024, 4, 20), 1),))
    assert decide(later, ZHAILI, at(2024, 6, 30)).blocking_reason.code == "disqualified"


def test_zhaili_disqualification_before_the_day_only():
    state = zhaili((1, {"2024Q2": 95}, None), vetoes=((date(2024, 5, 16), 1),))
    assert decide(state, ZHAILI, Q2).may_redeem  # recorded for tomorrow: not yet
    assert not decide(state, ZHAILI, at(2024, 5, 16)).may_redeem


def test_zhaili_disqualification_carries_until_a_new_score_is_recorded():
    dq = ((date(2024, 3, 10), 1),)
    carried = decide(zhaili((1, {"2024Q1": 95}, None), vetoes=dq), ZHAILI, Q2)
    assert carried.blocking_reason.code == "disqualified"
    fresh = decide(zhaili((1, {"2024Q1": 95, "2024Q2": 85}, None), vetoes=dq), ZHAILI, Q2)
    assert fresh.may_redeem and fresh.quota_left == 100


def test_zhaili_one_member_disqualified_leaves_the_others_quota():
    state = zhaili(
        (1, {"2024Q2": 95}, None), (2, {"2024Q2": 85}, None), vetoes=((date(2024, 4, 20), 1),)
    )
    d = decide(state, ZHAILI, Q2)
    assert d.may_redeem and d.quota_left == 100
    assert message(d, "member_disqualified") == "1名家庭成员被取消资格，积分按0分计，没有兑换额度"
    # Family average counts the disqualified member as 0: (0 + 85) / 2 = 42.5 -> no star.
    assert d.tier is None


def test_zhaili_household_level_disqualification_hits_every_member():
    state = zhaili(
        (1, {"2024Q2": 95}, None), (2, {"2024Q2": 85}, None), vetoes=((date(2024, 4, 20), None),)
    )
    assert decide(state, ZHAILI, Q2).blocking_reason.code == "disqualified"


MEAL = CartItem(50, "长者食堂午餐", 1, 12, restriction_key="elder_canteen")


@pytest.mark.parametrize(
    ("birth", "score", "ok"),
    [
        (date(1964, 5, 16), 85, False),  # 59 (60 tomorrow)
        (date(1964, 5, 15), 85, True),  # 60 today
        (date(1954, 5, 15), 85, True),  # 70 today
        (date(1953, 5, 16), 85, True),  # 70, 71 tomorrow
        (date(1953, 5, 15), 85, False),  # 71 today
        (date(1960, 1, 1), 79, False),  # 64 with 79 points
        (date(1960, 1, 1), 80, True),  # 64 with 80 points ("80分以上" includes 80)
        (None, 95, False),  # no birth date on file
    ],
    ids=["59", "60", "70", "70-last-day", "71", "score-79", "score-80", "no-birth-date"],
)
def test_zhaili_elder_canteen_ages_60_to_70_with_80(birth, score, ok):
    # 000: ZHAILI_CANTEEN
    d = decide(zhaili((1, {"2024Q2": score}, birth)), ZHAILI, Q2, (MEAL,))
    assert d.may_redeem is ok
    assert d.charged == {50: 0}  # free: charged neither to the balance nor the quota
    if ok:
        assert message(d, "restricted_eligible") == "长者食堂免费就餐：本户有1人符合条件"
    else:
        assert d.blocking_reason.code == "restricted_item"
        assert d.blocking_reason.message == (
            "长者食堂午餐：长者食堂免费就餐仅限60至70岁、评分80分以上，本户没有符合条件的成员"
        )


def test_zhaili_canteen_is_free_even_when_the_quota_is_used_up():
    state = zhaili((1, {"2024Q2": 80}, date(1960, 1, 1)), used=50)
    assert decide(state, ZHAILI, Q2).blocking_reason.code == "quota_exhausted"
    meal_only = decide(state, ZHAILI, Q2, (MEAL,))
    assert meal_only.may_redeem and meal_only.charged == {50: 0}
    with_goods = decide(state, ZHAILI, Q2, (MEAL, CartItem(2, "面条", 1, 5)))
    assert not with_goods.may_redeem
    assert with_goods.blocking_reason.code == "quota_exhausted"


def test_zhaili_canteen_lost_with_disqualification():
    state = zhaili((1, {"2024Q2": 95}, date(1960, 1, 1)), vetoes=((date(2024, 4, 2), 1),))
    d = decide(state, ZHAILI, Q2, (MEAL,))
    assert not d.may_redeem and d.blocking_reason.code == "disqualified"


def test_restricted_limit_per_period():
    from dataclasses import replace

    limited = replace(ZHAILI, restrictions=(replace(ZHAILI.restrictions[0], per_period_limit=3),))
    state = zhaili((1, {"2024Q2": 85}, date(1960, 1, 1)), restricted_used=(("elder_canteen", 2),))
    assert decide(state, limited, Q2, (MEAL,)).may_redeem
    d = decide(state, limited, Q2, (replace(MEAL, quantity=2),))
    assert d.blocking_reason.code == "restricted_limit"
    assert d.blocking_reason.message == (
        "长者食堂午餐：长者食堂免费就餐本季度最多3份，已用2份，还能再取1份"
    )


# ============================================================================================
# 羊亭 (004)
# ============================================================================================


@pytest.mark.parametrize(
    ("earned", "tier"),
    [(0, "塔基"), (99, "塔基"), (100, "塔身"), (299, "塔身"), (300, "塔尖"), (5000, "塔尖")],
)
def test_yangting_pyramid_by_points_earned(earned, tier):
    # 004: YANGTING_PYRAMID — display levels only, no quota
    d = decide(AccountState(True, 20, earned_total=earned), YANGTING, at(2024, 2, 15))
    assert d.tier == tier
    assert d.quota_left is None
    assert message(d, "tier") == f"累计获得积分{earned}分，{tier}"
    assert d.may_redeem and d.spendable == 20


@pytest.mark.parametrize("day", [date(2024, 1, 1), date(2024, 2, 29), date(2024, 12, 31)])
def test_yangting_is_always_open(day):
    d = decide(
        AccountState(True, 20, earned_total=20),
        YANGTING,
        datetime.combine(day, datetime.min.time()),
    )
    assert d.may_redeem and d.next_open is None
    assert not [c for c in codes(d) if c.startswith("window")]


def test_yangting_services_are_paid_with_points():
    # 004: "村民可以此卡片兌換相應(yīng)的理療服務(wù)" — a service item costs points like goods
    cart = (CartItem(8, "理疗服务（信用健康1+1）", 1, 30), CartItem(9, "毛巾", 1, 10))
    d = decide(AccountState(True, 40, earned_total=40), YANGTING, at(2024, 2, 15), cart)
    assert d.may_redeem and d.charged == {8: 30, 9: 10}
    short = decide(AccountState(True, 39, earned_total=40), YANGTING, at(2024, 2, 15), cart)
    assert short.blocking_reason.message == "本次需要40分，可用积分只有39分，还差1分"
