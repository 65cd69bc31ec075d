"""Each rule alone: one check of kiosk.rules.checks on a fresh Ruling, what it adds and what it
leaves for the next one; the order a decision runs them in; and the package's size limit (no
function above cyclomatic complexity 15)."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

from kiosk.rules import AccountState, Assessment, CartItem, MemberState, Policy, VetoRecord
from kiosk.rules import checks as c
from kiosk.rules.checks import Ruling
from kiosk.rules.presets import DATONG, GAOYANG, YANGTING, ZHAILI

ROOT = Path(__file__).resolve().parents[2]
MARKET_DAY = date(2024, 3, 28)  # 大同: the month's last market day


DEFAULT = Policy()


def ruling(state, policy=DEFAULT, day=date(2024, 5, 2), cart=None) -> Ruling:
    return Ruling.start(state, policy, day, cart)


def codes(r: Ruling) -> list[tuple[str, bool]]:
    return [(reason.code, reason.blocking) for reason in r.reasons]


def test_check_household_stops_an_inactive_household():
    r = ruling(AccountState(household_active=False, balance=500))
    c.check_household(r)
    assert codes(r) == [("household_inactive", True)] and r.stopped
    active = ruling(AccountState(True, 500))
    c.check_household(active)
    assert active.reasons == [] and not active.stopped


def test_check_balance_keeps_gaoyangs_base():
    r = ruling(AccountState(True, 130), GAOYANG)
    c.check_balance(r)
    assert r.from_balance == 30
    assert [x.message for x in r.reasons] == ["总积分130分", "基础分100分不能兑换，可兑换积分30分"]
    plain = ruling(AccountState(True, 40))
    c.check_balance(plain)
    assert [x.message for x in plain.reasons] == ["可用积分40分"] and plain.from_balance == 40
    quota = ruling(AccountState(True, 40), ZHAILI)
    c.check_balance(quota)
    assert quota.reasons == []  # 寨里 spends the quota: the balance is not shown


def test_check_window_gaoyang_months():
    closed = ruling(AccountState(True, 130), GAOYANG, date(2024, 2, 10))
    c.check_window(closed)
    assert codes(closed) == [("window_closed", True)]
    assert closed.barred and closed.next_open == date(2024, 4, 1)
    open_ = ruling(AccountState(True, 130), GAOYANG, date(2024, 4, 2))
    c.check_window(open_)
    assert codes(open_) == [("window_open", False)] and not open_.barred


def test_check_window_datong_market_day():
    r = ruling(AccountState(True, 50), DATONG, date(2024, 3, 27))
    c.check_window(r)
    assert r.reasons[0].message == "本月兑换日为3月28日（赶场天），今天不能兑换"
    assert r.next_open == MARKET_DAY
    always = ruling(AccountState(True, 50))
    c.check_window(always)
    assert always.reasons == [] and not always.barred


def test_check_veto_datong_bars_the_rest_of_the_year():
    state = AccountState(True, 50, vetoes=(VetoRecord(date(2024, 3, 1)),))
    r = ruling(state, DATONG, MARKET_DAY)
    c.check_veto(r)
    assert codes(r) == [("vetoed", True)] and r.barred
    assert r.next_open == date(2025, 1, 28)
    assert r.veto_at == 0 and r.veto_undated is not None
    assert r.veto_undated.message == "2024年3月1日因一票否决取消2024年兑换资格，2025年起恢复"
    last_year = ruling(
        AccountState(True, 50, vetoes=(VetoRecord(date(2023, 3, 1)),)), DATONG, MARKET_DAY
    )
    c.check_veto(last_year)
    assert last_year.reasons == [] and not last_year.barred


def test_check_gate_datong_two_quarters_of_85():
    met = AccountState(True, 50, assessments=(Assessment("2023Q4", 85), Assessment("2024Q1", 90)))
    r = ruling(met, DATONG, MARKET_DAY)
    c.check_gate(r)
    assert codes(r) == [("gate_met", False)] and not r.barred
    short = ruling(
        AccountState(True, 50, assessments=(Assessment("2024Q1", 90),)), DATONG, MARKET_DAY
    )
    c.check_gate(short)
    assert codes(short) == [("gate_not_met", True)] and short.barred
    no_gate = ruling(met, GAOYANG, MARKET_DAY)
    c.check_gate(no_gate)
    assert no_gate.reasons == []


def test_check_points_tier_yangting_pyramid():
    r = ruling(AccountState(True, 10, earned_total=150), YANGTING)
    c.check_points_tier(r)
    assert r.tier_name == "塔身"
    assert [x.message for x in r.reasons] == ["累计获得积分150分，塔身"]
    assert r.quota_points is None  # display levels only: no quota


def test_check_score_tiers_zhaili_stars_and_their_quota():
    state = AccountState(
        True,
        0,
        members=(MemberState(1), MemberState(2)),
        assessments=(Assessment("2024Q2", 85, member_id=1), Assessment("2024Q2", 95, member_id=2)),
    )
    r = ruling(state, ZHAILI)
    c.check_score_tiers(r)
    assert codes(r) == [("tier", False)]
    assert r.tier_name == "四星级"  # the household's stars: the members' average, 90
    assert r.quota_points == 250  # 四星级 100 + 五星级 150


def test_check_score_tiers_without_scores_leaves_nothing_to_spend():
    r = ruling(AccountState(True, 0, members=(MemberState(1),)), ZHAILI)
    c.check_score_tiers(r)
    assert r.reasons == []
    assert [(x.code, x.message, x.blocking) for x in r.supply] == [
        ("no_tier", "尚无评分记录，不能兑换", True)
    ]
    assert r.quota_points == 0


def test_check_quota_zhaili_counts_what_was_used():
    r = ruling(AccountState(True, 0, used_this_period=100), ZHAILI)
    r.quota_points = 150
    c.check_quota(r)
    assert r.quota_left == 50
    assert r.reasons[0].message == "本季度可兑换额度150元，已用100元，剩余50元"
    used_up = ruling(AccountState(True, 0, used_this_period=150), ZHAILI)
    used_up.quota_points = 150
    c.check_quota(used_up)
    assert [(x.code, x.message) for x in used_up.supply] == [
        ("quota_exhausted", "本季度兑换额度150元已用完")
    ]


def test_check_spendable_is_the_balance_within_the_quota():
    r = ruling(AccountState(True, 80))
    c.check_balance(r)
    r.quota_left = 50
    c.check_spendable(r)
    assert r.spendable == 50
    empty = ruling(AccountState(True, 0))
    c.check_balance(empty)
    c.check_spendable(empty)
    assert [(x.code, x.message) for x in empty.supply] == [("no_points", "当前没有可用积分")]


def test_check_restrictions_zhaili_elder_canteen():
    state = AccountState(
        True,
        0,
        members=(MemberState(1, date(1958, 1, 1)), MemberState(2, date(1990, 1, 1))),
        assessments=(Assessment("2024Q2", 85, member_id=1), Assessment("2024Q2", 85, member_id=2)),
    )
    r = ruling(state, ZHAILI)
    c.check_restrictions(r)
    assert r.eligible == {"elder_canteen": 1}
    assert [x.message for x in r.reasons] == ["长者食堂免费就餐：本户有1人符合条件"]


def test_check_cart_charges_free_items_nothing_and_refuses_the_ineligible():
    cart = (CartItem(1, "米", 2, 30), CartItem(2, "午餐", 1, 15, "elder_canteen"))
    r = ruling(AccountState(True, 0), ZHAILI, cart=cart)
    r.eligible = {"elder_canteen": 0}
    c.check_cart(r)
    assert r.charged == {1: 30, 2: 0} and r.total == 60
    assert [x.message for x in r.cart_reasons] == [
        "午餐：长者食堂免费就餐仅限60至70岁、评分80分以上，本户没有符合条件的成员"
    ]
    assert r.reasons == []  # the cart's refusals wait for check_enough


def test_check_enough_refuses_a_cart_over_the_balance():
    r = ruling(AccountState(True, 100), cart=(CartItem(1, "油", 1, 105),))
    for check in (c.check_balance, c.check_spendable, c.check_cart, c.check_enough):
        check(r)
    assert r.reasons[-1].message == "本次需要105分，可用积分只有100分，还差5分"
    assert r.reasons[-1].blocking


def test_check_enough_lets_a_free_cart_through_without_points():
    r = ruling(AccountState(True, 0), cart=(CartItem(1, "午餐", 1, 0),))
    for check in (c.check_balance, c.check_spendable, c.check_cart, c.check_enough):
        check(r)
    assert codes(r) == [("balance", False), ("no_points", False)]


def test_the_checks_run_in_the_order_a_keeper_reads_the_reasons():
    assert [check.__name__ for check in c.CHECKS] == [
        "check_household",
        "check_balance",
        "check_window",
        "check_veto",
        "check_gate",
        "check_points_tier",
        "check_score_tiers",
        "check_quota",
        "check_spendable",
        "check_restrictions",
        "check_cart",
        "check_enough",
    ]


def test_no_function_in_the_rules_package_is_above_complexity_15():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--no-cache",
            "--select",
            "C901",
            "--config",
            "lint.mccabe.max-complexity=15",
            str(ROOT / "kiosk" / "rules"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
