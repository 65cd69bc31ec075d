"""The policy engine's building blocks: periods, windows, tiers, conversion, ages, and the
default policy (1 point = 1 yuan, always open) that issue 2's counter relies on."""

from __future__ import annotations

from datetime import date, datetime
from fractions import Fraction

import pytest

from kiosk.rules import (
    WINDOW_ALWAYS,
    WINDOW_LAST_MARKET_DAY,
    WINDOW_MONTHS,
    AccountState,
    CartItem,
    Conversion,
    Policy,
    Tier,
    Window,
    age_on,
    cn_date,
    converted_points,
    decide,
    is_period_key,
    last_market_day,
    next_period,
    period_bounds,
    period_key,
    period_label,
    previous_period,
    tier_for,
    whole_points_due,
    window_status,
)


@pytest.mark.parametrize(
    ("day", "period", "key"),
    [
        (date(2024, 1, 1), "quarter", "2024Q1"),
        (date(2024, 3, 31), "quarter", "2024Q1"),
        (date(2024, 4, 1), "quarter", "2024Q2"),
        (date(2024, 9, 30), "quarter", "2024Q3"),
        (date(2024, 12, 31), "quarter", "2024Q4"),
        (date(2024, 3, 5), "month", "2024-03"),
        (date(2024, 12, 31), "month", "2024-12"),
    ],
)
def test_period_key(day, period, key):
    assert period_key(day, period) == key


def test_period_key_rejects_an_unknown_kind():
    with pytest.raises(ValueError):
        period_key(date(2024, 1, 1), "week")


@pytest.mark.parametrize(
    ("key", "prev", "nxt"),
    [
        ("2024Q1", "2023Q4", "2024Q2"),
        ("2024Q4", "2024Q3", "2025Q1"),
        ("2024-01", "2023-12", "2024-02"),
        ("2024-12", "2024-11", "2025-01"),
    ],
)
def test_previous_and_next_period(key, prev, nxt):
    assert previous_period(key) == prev
    assert next_period(key) == nxt


@pytest.mark.parametrize(
    ("key", "bounds"),
    [
        ("2024Q1", (date(2024, 1, 1), date(2024, 4, 1))),
        ("2024Q4", (date(2024, 10, 1), date(2025, 1, 1))),
        ("2024-02", (date(2024, 2, 1), date(2024, 3, 1))),
        ("2024-12", (date(2024, 12, 1), date(2025, 1, 1))),
    ],
)
def test_period_bounds_start_inclusive_end_exclusive(key, bounds):
    assert period_bounds(key) == bounds
    start, end = bounds
    assert period_key(start, "quarter" if "Q" in key else "month") == key


@pytest.mark.parametrize("bad", ["2024Q5", "2024Q0", "2024-13", "2024-3", "24Q1", "", "2024q1"])
def test_bad_period_keys_are_refused(bad):
    assert not is_period_key(bad)
    with pytest.raises(ValueError):
        previous_period(bad)


def test_chinese_labels():
    assert period_label("2024Q1") == "2024年第一季度"
    assert period_label("2023Q4") == "2023年第四季度"
    assert period_label("2024-03") == "2024年3月"
    assert cn_date(date(2024, 3, 28)) == "2024年3月28日"


@pytest.mark.parametrize(
    ("birth", "day", "age"),
    [
        (date(1964, 5, 15), date(2024, 5, 14), 59),
        (date(1964, 5, 15), date(2024, 5, 15), 60),
        (date(1954, 5, 15), date(2025, 5, 14), 70),
        (date(1954, 5, 15), date(2025, 5, 15), 71),
        # A 29 February birthday is reached on 1 March in a common year.
        (date(1964, 2, 29), date(2025, 2, 28), 60),
        (date(1964, 2, 29), date(2025, 3, 1), 61),
        (date(1964, 2, 29), date(2024, 2, 29), 60),
    ],
)
def test_age_on(birth, day, age):
    assert age_on(birth, day) == age


STARS = (Tier("三星级", 70, 80, 50), Tier("四星级", 81, 90, 100), Tier("五星级", 91, 100, 150))


@pytest.mark.parametrize(
    ("value", "name"),
    [(0, None), (69, None), (70, "三星级"), (80, "三星级"), (81, "四星级"), (90, "四星级"),
     (91, "五星级"), (100, "五星级"), (101, None)],
)  # fmt: skip
def test_tier_for_inclusive_ranges(value, name):
    tier = tier_for(value, STARS)
    assert (tier.name if tier else None) == name


def test_converted_points_is_exact():
    # 001: "按两季度评分平均值按评分1分折换成平台积分0.1分"
    assert converted_points([88, 91], Conversion(1, 10)) == Fraction(179, 20)  # 8.95
    assert converted_points([90, 90], Conversion(1, 10)) == 9
    assert converted_points([85, 86], Conversion(1, 10)) == Fraction(171, 20)
    assert converted_points([], Conversion(1, 10)) == 0


def test_whole_points_carry_the_fraction():
    awarded = 0
    cumulative = Fraction(0)
    awards = []
    for pair in ([88, 91], [85, 86], [90, 95]):  # 8.95, 8.55, 9.25
        cumulative += converted_points(pair, Conversion(1, 10))
        due = whole_points_due(cumulative, awarded)
        awards.append(due)
        awarded += due
    assert awards == [8, 9, 9]  # floors of 8.95, 17.5, 26.75 minus what went before
    assert cumulative - awarded == Fraction(3, 4)  # carried, not lost
    assert whole_points_due(Fraction(5), 7) == 0  # never negative


# --- windows -------------------------------------------------------------------------------

MARKET = Window(WINDOW_LAST_MARKET_DAY, market_days=(3, 8, 13, 18, 23, 28))


@pytest.mark.parametrize(
    ("day", "status"),
    [
        (date(2024, 3, 27), (False, date(2024, 3, 28))),
        (date(2024, 3, 28), (True, None)),
        (date(2024, 3, 29), (False, date(2024, 4, 28))),
        (date(2024, 12, 29), (False, date(2025, 1, 28))),
        (date(2024, 2, 28), (True, None)),
        (date(2024, 3, 23), (False, date(2024, 3, 28))),  # a market day, but not the last
    ],
)
def test_last_market_day_window(day, status):
    assert window_status(MARKET, day) == status


def test_market_day_30_does_not_exist_in_february():
    w = Window(WINDOW_LAST_MARKET_DAY, market_days=(5, 10, 15, 20, 25, 30))
    assert last_market_day(w, 2024, 2) == date(2024, 2, 25)
    assert last_market_day(w, 2024, 4) == date(2024, 4, 30)
    assert window_status(w, date(2024, 2, 25)) == (True, None)


def test_every_third_month_redeems_at_the_quarter_end():
    # 001: "也可以“数月一兑”"
    w = Window(WINDOW_LAST_MARKET_DAY, market_days=(3, 8, 13, 18, 23, 28), every_months=3)
    assert last_market_day(w, 2024, 1) is None
    assert window_status(w, date(2024, 1, 28)) == (False, date(2024, 3, 28))
    assert window_status(w, date(2024, 3, 28)) == (True, None)
    assert window_status(w, date(2024, 3, 29)) == (False, date(2024, 6, 28))


@pytest.mark.parametrize(
    ("day", "status"),
    [
        (date(2024, 1, 1), (True, None)),
        (date(2024, 1, 31), (True, None)),
        (date(2024, 2, 1), (False, date(2024, 4, 1))),
        (date(2024, 3, 31), (False, date(2024, 4, 1))),
        (date(2024, 11, 15), (False, date(2025, 1, 1))),
    ],
)
def test_months_window(day, status):
    assert window_status(Window(WINDOW_MONTHS, months=(1, 4, 7, 10)), day) == status


def test_always_open_and_never_open():
    assert window_status(Window(WINDOW_ALWAYS), date(2024, 2, 29)) == (True, None)
    assert window_status(Window(WINDOW_MONTHS, months=()), date(2024, 2, 1)) == (False, None)
    assert window_status(Window(WINDOW_LAST_MARKET_DAY), date(2024, 2, 1)) == (False, None)


# --- the default policy (issue 2's counter) --------------------------------------------------

NOON = datetime(2024, 3, 5, 12, 0)


def test_default_policy_spends_the_balance():
    d = decide(AccountState(household_active=True, balance=100), Policy(), NOON)
    assert d.may_redeem and d.spendable == 100 and d.quota_left is None
    assert [(r.code, r.message) for r in d.reasons] == [("balance", "可用积分100分")]


def test_default_policy_without_points():
    d = decide(AccountState(household_active=True, balance=0), Policy(), NOON)
    assert not d.may_redeem and d.spendable == 0
    assert d.blocking_reason.code == "no_points"
    assert d.blocking_reason.message == "当前没有可用积分"


def test_inactive_household_is_refused_first():
    d = decide(AccountState(household_active=False, balance=100), Policy(), NOON)
    assert not d.may_redeem and d.spendable == 0
    assert [r.code for r in d.reasons] == ["household_inactive"]


@pytest.mark.parametrize(("cart_total", "ok"), [(99, True), (100, True), (101, False)])
def test_a_cart_over_the_balance_is_refused(cart_total, ok):
    d = decide(AccountState(True, 100), Policy(), NOON, (CartItem(1, "物品", 1, cart_total),))
    assert d.may_redeem is ok
    if not ok:
        assert d.blocking_reason.code == "insufficient_points"
        assert d.blocking_reason.message == "本次需要101分，可用积分只有100分，还差1分"


def test_cart_items_are_charged_per_unit():
    cart = (CartItem(7, "大米", 2, 30), CartItem(9, "食用油", 1, 45))
    d = decide(AccountState(True, 100), Policy(), NOON, cart)
    assert not d.may_redeem
    assert d.charged == {7: 30, 9: 45}
    assert d.blocking_reason.message == "本次需要105分，可用积分只有100分，还差5分"
    assert decide(AccountState(True, 105), Policy(), NOON, cart).may_redeem


def test_a_restriction_key_the_policy_does_not_know_is_an_ordinary_item():
    cart = (CartItem(3, "午餐券", 1, 12, restriction_key="elder_canteen"),)
    d = decide(AccountState(True, 20), Policy(), NOON, cart)
    assert d.may_redeem and d.charged == {3: 12}


def test_decision_to_dict_carries_next_open():
    p = Policy(window=Window(WINDOW_MONTHS, months=(4,)))
    d = decide(AccountState(True, 10), p, NOON)
    assert d.to_dict()["next_open"] == "2024-04-01"
    assert d.to_dict()["reasons"][-1]["blocking"] is True


def test_a_cart_with_a_product_twice_is_refused_not_priced():
    """Decision.charged is per product; the service merges repeated lines before asking."""
    state = AccountState(household_active=True, balance=10)
    cart = (CartItem(1, "香皂", 1, 0), CartItem(1, "香皂", 1, 1))
    with pytest.raises(ValueError):
        decide(state, Policy(), datetime(2024, 1, 5, 9), cart)
