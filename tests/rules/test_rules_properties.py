"""Property tests of the policy engine over random households, dates and redemption runs."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.rules import (
    SPEND_BALANCE,
    AccountState,
    Assessment,
    CartItem,
    MemberState,
    Tier,
    VetoRecord,
    decide,
    period_key,
    tier_for,
)
from kiosk.rules.policy_io import policy_from_dict, policy_from_toml, policy_to_dict, policy_to_toml
from kiosk.rules.presets import GAOYANG, PRESETS, YANGTING, ZHAILI

days = st.dates(min_value=date(2022, 1, 1), max_value=date(2026, 12, 31))
moments = days.map(lambda d: datetime(d.year, d.month, d.day, 9, 0))
quarters = st.builds(lambda y, q: f"{y}Q{q}", st.integers(2022, 2026), st.integers(1, 4))
member_ids = st.integers(1, 4)


@st.composite
def states(draw, used=None):
    members = tuple(
        MemberState(mid, draw(st.none() | st.dates(date(1930, 1, 1), date(2010, 1, 1))))
        for mid in sorted(draw(st.sets(member_ids, max_size=4)))
    )
    assessments = tuple(
        Assessment(draw(quarters), draw(st.integers(0, 100)), draw(st.none() | member_ids))
        for _ in range(draw(st.integers(0, 8)))
    )
    vetoes = tuple(
        VetoRecord(draw(days), draw(st.none() | member_ids)) for _ in range(draw(st.integers(0, 2)))
    )
    earned = draw(st.integers(0, 2000))
    return AccountState(
        household_active=draw(st.booleans()),
        balance=draw(st.integers(-50, 2000)),
        earned_total=earned,
        assessments=assessments,
        members=members,
        vetoes=vetoes,
        used_this_period=draw(st.integers(0, 400)) if used is None else used,
        restricted_used=(("elder_canteen", draw(st.integers(0, 5))),),
    )


carts = st.none() | st.lists(
    st.builds(
        CartItem,
        product_id=st.integers(1, 6),
        name=st.just("物品"),
        quantity=st.integers(1, 5),
        unit_points=st.integers(0, 80),
        restriction_key=st.none() | st.just("elder_canteen"),
    ),
    max_size=4,
    unique_by=lambda item: item.product_id,  # one line per product, as the service merges them
).map(tuple)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(PRESETS)), states(), moments, carts)
def test_spendable_is_never_negative_and_a_cart_never_exceeds_it(key, state, moment, cart):
    d = decide(state, PRESETS[key], moment, cart)
    assert d.spendable >= 0
    assert d.quota_left is None or d.quota_left >= 0
    if d.may_redeem and cart:
        charged = sum(d.charged[i.product_id] * i.quantity for i in cart)
        assert 0 <= charged <= d.spendable
    if not d.may_redeem:
        assert d.blocking_reason is not None
        assert d.blocking_reason.message  # a sentence the keeper can read aloud


def _quota_of(state: AccountState, moment: datetime) -> int:
    """寨里's quarterly quota worked out independently from the seed's table."""
    current = period_key(moment.date(), "quarter")
    total = 0
    for mid in {a.member_id for a in state.assessments if a.member_id is not None}:
        mine = {a.period: a.score for a in state.assessments if a.member_id == mid}
        past = [p for p in mine if p <= current]
        if not past:
            continue
        score = mine[max(past)]
        total += 150 if score >= 91 else 100 if score >= 81 else 50 if score >= 70 else 0
    return total


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(member_ids, st.integers(0, 100)), min_size=1, max_size=4),
    moments,
    st.lists(st.integers(1, 120), max_size=12),
)
def test_zhaili_quota_is_never_exceeded_over_a_run_of_redemptions(scores, moment, amounts):
    current = period_key(moment.date(), "quarter")
    base = AccountState(
        True,
        0,
        members=tuple(MemberState(m) for m in {m for m, _ in scores}),
        assessments=tuple(Assessment(current, s, m) for m, s in scores),
    )
    quota = _quota_of(base, moment)
    used = 0
    for amount in amounts:
        left = quota - used
        d = decide(
            replace(base, used_this_period=used), ZHAILI, moment, (CartItem(1, "x", 1, amount),)
        )
        assert d.quota_left == left
        # Refused exactly when the amount does not fit what is left of the quarter's quota.
        assert d.may_redeem is (amount <= left)
        if d.may_redeem:
            used += d.charged[1]
        assert used <= quota


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 400),
    st.integers(0, 300),
    st.lists(st.integers(1, 120), max_size=12),
    st.integers(0, 100),
)
def test_balance_and_quota_both_hold_when_a_village_combines_them(balance, base, amounts, score):
    # SPEND_BALANCE with tier quotas and a reserved base: spendable = min(balance − base, quota left).
    policy = replace(
        GAOYANG,
        reserved_base=base,
        tiers=(Tier("合格", 60, 100, 80),),
        window=ZHAILI.window,
    )
    moment = datetime(2024, 5, 15, 9)
    state = AccountState(True, balance, assessments=(Assessment("2024Q2", score),))
    used = 0
    for amount in amounts:
        d = decide(replace(state, balance=balance, used_this_period=used), policy, moment,
                   (CartItem(1, "x", 1, amount),))  # fmt: skip
        if d.may_redeem:
            balance -= amount
            used += amount
        assert used <= (80 if score >= 60 else 0)
        assert balance >= min(base, state.balance)


@settings(max_examples=200, deadline=None)
@given(states(), moments, st.lists(st.integers(1, 200), max_size=8))
def test_ranking_never_drops_because_of_a_redemption(state, moment, amounts):
    # 003: "扣减的积分不影响年底积分排名"; 004 ranks households as a pyramid. A redemption
    # changes the balance, never earned_total, so the pyramid tier shown stays the same.
    state = replace(state, household_active=True)
    others = [AccountState(True, 0, earned_total=e) for e in (0, 150, 300, state.earned_total)]

    def ranking(households):
        return sorted(range(len(households)), key=lambda i: (-households[i].earned_total, i))

    before = ranking([*others, state])
    first = decide(state, YANGTING, moment)
    for amount in amounts:
        d = decide(state, YANGTING, moment, (CartItem(1, "x", 1, amount),))
        if d.may_redeem:
            state = replace(state, balance=state.balance - amount)
        after = decide(state, YANGTING, moment)
        assert after.tier == first.tier == tier_for(state.earned_total, YANGTING.tiers).name
    assert ranking([*others, state]) == before


@settings(max_examples=50, deadline=None)
@given(st.sampled_from(sorted(PRESETS)))
def test_every_preset_round_trips_through_dict_and_toml(key):
    p = PRESETS[key]
    assert policy_from_dict(policy_to_dict(p)) == p
    assert policy_from_toml(policy_to_toml(p)) == p


tier_lists = st.lists(st.integers(0, 100), min_size=0, max_size=8, unique=True).map(sorted)


@st.composite
def policies(draw):
    """Random valid policies: preset fields varied within their valid ranges."""
    base = draw(st.sampled_from(list(PRESETS.values())))
    cuts = draw(tier_lists)
    tiers = tuple(
        Tier(f"T{i}", lo, hi, draw(st.none() | st.integers(0, 500)))
        for i, (lo, hi) in enumerate(zip(cuts[::2], cuts[1::2], strict=False))
    )
    spend = SPEND_BALANCE if not any(t.quota_yuan is not None for t in tiers) else base.spend
    return replace(
        base,
        name=draw(
            st.text(
                st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Z")),
                min_size=1,
                max_size=20,
            )
        ),  # fmt: skip
        points_per_yuan=draw(st.integers(1, 10)),
        reserved_base=draw(st.integers(0, 500)),
        tiers=tiers,
        spend=spend,
        restrictions=() if base.restrictions and not tiers else base.restrictions,
    )


@settings(max_examples=150, deadline=None)
@given(policies())
def test_any_valid_policy_round_trips(p):
    assert policy_from_dict(policy_to_dict(p)) == p
    assert policy_from_toml(policy_to_toml(p)) == p


def test_dates_cover_the_whole_year():
    # A guard on the strategies above: they reach every quarter.
    assert {period_key(date(2024, 1, 1) + timedelta(days=d), "quarter") for d in range(366)} == {
        "2024Q1", "2024Q2", "2024Q3", "2024Q4"
    }  # fmt: skip
