"""`jifen demo --preset …`: the demo village runs a rule set and shows it at the counter today.

Each card `jifen demo` prints comes with what the counter will show for it; every one of those
claims is checked here against the counter's own scan (kiosk.redemption.scan) on the day the
demo is loaded, and each rule set must show its own reasons (大同's gate and 一票否决, 高阳's
base, 寨里's quota and 取消资格, …). A small village (8 households) keeps this fast.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from inventory.models import Product
from kiosk.check import run_checks
from kiosk.clock import local_now, local_to_utc
from kiosk.extensions import db
from kiosk.models import ENTRY_BASE_GRANT, PointEntry, Supermarket
from kiosk.redemption import scan
from kiosk.rules import presets
from kiosk.rules.policies import policy_for

CARD_LINE = re.compile(r"^\s+(JF\d{20})\s+户号 (\S+) (\S+)\s+(.+)$", re.M)

# The outcomes each rule set must show today: "may_redeem" or a blocking reason's code.
EXPECTED = {
    "datong": {"may_redeem", "gate_not_met", "vetoed"},
    "gaoyang": {"may_redeem", "no_points"},
    "zhaili": {"may_redeem", "quota_exhausted", "disqualified", "no_tier"},
    "yangting": {"may_redeem", "no_points"},
}


def _load(runner, key: str | None):
    args = ["demo", "--households", "8"] + (["--preset", key] if key else [])
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("key", [None, "gaoyang", "zhaili", "yangting"])
def test_every_printed_card_shows_at_the_counter_what_the_demo_says(runner, key):
    output = _load(runner, key)
    key = key or "datong"  # the demo village's own town, by default
    supermarket = db.session.scalars(sa.select(Supermarket)).one()
    policy = policy_for(supermarket)
    assert policy.preset == key
    assert f"兑换规则：{policy.name}，预设 {key}" in output

    printed = CARD_LINE.findall(output)
    assert len(printed) >= len(EXPECTED[key])
    outcomes = set()
    for payload, number, _masked, shows in printed:
        result = scan(supermarket.id, payload)
        assert result.household.number == number
        decision = result.decision
        if shows.startswith("可兑换"):
            assert decision.may_redeem, (payload, shows, decision.reasons)
            if policy.spend == "quota":
                assert f"额度剩余 {decision.quota_left} 元" in shows
            elif policy.reserved_base:
                assert (
                    f"总积分 {result.account.balance} 分，可兑换 {decision.spendable} 分" in shows
                )
            else:
                assert f"余额 {result.account.balance} 分" in shows
            if decision.tier:
                assert decision.tier in shows
            outcomes.add("may_redeem")
        else:
            assert not decision.may_redeem
            assert shows == f"不能兑换：{decision.blocking_reason.message}"
            outcomes.add(decision.blocking_reason.code)
    assert EXPECTED[key] <= outcomes, (outcomes, output)
    if key in ("datong", "gaoyang"):
        _window_open_today_and_said(output, supermarket, policy, key)
    if key == "gaoyang":
        _households_hold_this_years_base(output, supermarket)
    if key == "zhaili":  # the canteen's lunch is the elders' free meal
        meal = db.session.scalars(sa.select(Product).where(Product.name == "长者食堂午餐")).one()
        assert meal.restriction_key == "elder_canteen"
    assert run_checks() == []


def _window_open_today_and_said(output: str, supermarket, policy, key: str) -> None:
    """The demo's own window (a field of its stored policy) is open today, and says so."""
    assert policy.window != presets.preset(key).window
    assert "兑换日：演示" in output
    payload = CARD_LINE.findall(output)[0][0]  # the household with the most to spend
    today = scan(supermarket.id, payload).decision
    assert today.may_redeem
    assert "window_open" in [r.code for r in today.reasons]
    if key == "datong":
        # Today is the month's last market day: tomorrow the counter is closed again.
        tomorrow = local_to_utc(local_now() + timedelta(days=1))
        later = scan(supermarket.id, payload, moment=tomorrow).decision
        assert later.blocking_reason.code == "window_closed"
        assert f"每月{'、'.join(f'{d}日' for d in policy.window.market_days)}" in output
    else:
        assert f"加上了{local_now().month}月" in output


def _households_hold_this_years_base(output: str, supermarket) -> None:
    """高阳: every household holds this year's base; the only-the-base card holds just it."""
    grants = db.session.scalars(
        sa.select(PointEntry.reason).where(PointEntry.kind == ENTRY_BASE_GRANT)
    ).all()
    assert grants and set(grants) == {f"{local_now().year}年度基础分"}
    refused = [
        payload
        for payload, *_rest in CARD_LINE.findall(output)
        if scan(supermarket.id, payload).decision.blocking_reason is not None
    ]
    assert refused
    for payload in refused:
        assert scan(supermarket.id, payload).account.balance == 100


def test_check_before_init_says_what_to_do(tmp_path):
    # README: `./run jifen check` on a fresh clone, before any database exists.
    from kiosk import create_app
    from tests.conftest import TEST_CONFIG

    app = create_app(
        {**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'empty.sqlite3'}"}
    )
    result = app.test_cli_runner().invoke(args=["check"])
    assert result.exit_code == 1
    assert "先运行 jifen init" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_demo_month_end_fund_pool_ties_out_with_the_public_donor_list(runner):
    # Each closed month's cash donations in the fund pool are the public list's of that month:
    # the demo records a donation on the day it was received, not on the day it was loaded.
    from datetime import date

    from inventory import periods
    from inventory.donations import public_rows
    from inventory.models import MonthClose
    from inventory.monthend import report_for

    _load(runner, None)
    supermarket = db.session.scalars(sa.select(Supermarket)).one()
    month_start = local_now().date().replace(day=1)
    earlier = [
        r
        for r in public_rows(supermarket.id, month_start - timedelta(days=400), month_start)
        if r.cash and r.donated_on < month_start
    ]
    closed = set(
        db.session.scalars(
            sa.select(MonthClose.month).where(MonthClose.supermarket_id == supermarket.id)
        )
    )
    assert {periods.month_key(r.donated_on) for r in earlier} <= closed
    compared = 0
    for month in sorted(closed):
        year, number = periods.parse_month(month)
        first = date(year, number, 1)
        last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        listed = sum(r.amount_fen for r in public_rows(supermarket.id, first, last) if r.cash)
        report, close = report_for(supermarket.id, month)
        assert close is not None
        assert report["fund"]["donations"] == listed, month
        compared += listed
    assert compared == sum(r.amount_fen for r in earlier)
    if earlier:  # (on the month's last days every demo donation may fall in this month)
        assert compared > 0
