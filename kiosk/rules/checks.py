"""The rules, one function each, in the order a decision runs them (:data:`CHECKS`).

Like beancount's ``ops/validation.py``: each check is a small pure function that reads the
:class:`Ruling` being made (the household's state, the policy, the day, the cart) and adds what
it finds: reasons, a bar on redeeming, the spendable amount, each cart line's charge. A village's
rule is found by name: 大同's score gate is :func:`check_gate`, its 一票否决 :func:`check_veto`
and its market day :func:`check_window` (which is also 高阳's months); 寨里's star tiers are
:func:`check_score_tiers` and their quota :func:`check_quota`; 羊亭's pyramid is
:func:`check_points_tier`.

Every reason's sentence is a msgid marked with ``N_`` and rendered later, in the reader's
language (:mod:`kiosk.rules.reasons`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction

from kiosk.messages import N_
from kiosk.rules.periods import age_on, period_key, previous_period
from kiosk.rules.policy import (
    HOLDER_INDIVIDUAL,
    PERIOD_QUARTER,
    SPEND_BALANCE,
    SPEND_QUOTA,
    TIER_BY_POINTS,
    TIER_BY_SCORE,
    VETO_CLEAR_AND_BAR_YEAR,
    WINDOW_ALWAYS,
    WINDOW_MONTHS,
    Gate,
    Policy,
    Restriction,
    Tier,
    Window,
)
from kiosk.rules.reasons import (
    ENUMERATION,
    SEMICOLON,
    Count,
    Day,
    Listing,
    MonthDay,
    Months,
    Param,
    Period,
    Phrase,
    Reason,
    Span,
    Term,
)
from kiosk.rules.scores import (
    HolderScore,
    gate_series,
    holder_scores,
    tier_for,
    tier_rank,
    tier_reached,
)
from kiosk.rules.state import AccountState, CartItem
from kiosk.rules.windows import last_market_day, window_status

# 高阳's window: the first month of each quarter (每季度第一个月).
QUARTER_FIRST_MONTHS = (1, 4, 7, 10)


@dataclass
class Ruling:
    """A decision being made: what every check reads, and what the checks found so far."""

    state: AccountState
    policy: Policy
    today: date
    cart: tuple[CartItem, ...] | None
    current: str  # the period key of ``today``
    holders: list[HolderScore]  # the score that counts, per holder (one for a household)
    points_tier: Tier | None  # the tier by points earned (羊亭), when tiers go by points
    reasons: list[Reason] = field(default_factory=list)
    stopped: bool = False  # nothing else to say (an inactive household)
    barred: bool = False  # a blocking reason no cart can change: nothing may be spent now
    next_open: date | None = None
    veto_at: int | None = None  # where the veto's reason is, and its wording without a day
    veto_undated: Reason | None = None
    from_balance: int = 0  # the balance above the reserved base
    # "Nothing to spend" reasons: they do not block a cart of free items only.
    supply: list[Reason] = field(default_factory=list)
    tier_name: str | None = None
    quota_points: int | None = None
    quota_left: int | None = None
    spendable: int = 0
    eligible: dict[str, int] = field(default_factory=dict)  # holders per restriction key
    charged: dict[int, int] = field(default_factory=dict)  # points per unit, by product id
    cart_reasons: list[Reason] = field(default_factory=list)
    total: int | None = None  # the cart's points, when there is a cart

    @classmethod
    def start(
        cls, state: AccountState, policy: Policy, today: date, cart: tuple[CartItem, ...] | None
    ) -> Ruling:
        """A ruling with nothing found yet, and the scores and tiers every check may read."""
        current = period_key(today, policy.period)
        points_tier = None
        if policy.tier_basis == TIER_BY_POINTS:
            points_tier = tier_for(state.earned_total, policy.tiers)
        return cls(
            state=state,
            policy=policy,
            today=today,
            cart=cart,
            current=current,
            holders=holder_scores(state, policy, today, current),
            points_tier=points_tier,
        )

    @property
    def points_per_yuan(self) -> int:
        """The policy's rate, at least 1."""
        return max(1, self.policy.points_per_yuan)

    @property
    def has_quota(self) -> bool:
        """Whether any tier has a quota (then no tier means nothing to spend)."""
        return any(t.quota_yuan is not None for t in self.policy.tiers)

    def yuan(self, points: int) -> str:
        """Points as yuan at the policy's rate, without a spurious ".0": "50", "33.33"."""
        return number(Fraction(points, self.points_per_yuan))

    def per_period(self, quarter: str, month: str) -> str:
        """The msgid for the policy's period: quarterly or monthly wording."""
        return quarter if self.policy.period == PERIOD_QUARTER else month

    def add(self, code: str, msgid: str, *, blocking: bool = False, **params: Param) -> None:
        """Add a reason (its sentence rendered later, in the reader's language)."""
        self.reasons.append(Reason(code, msgid, params, blocking))


def number(value: Fraction | int) -> str:
    """A score or amount without a spurious ".0": 85, 87.5, 33.33."""
    value = Fraction(value)
    if value.denominator == 1:
        return str(value.numerator)
    return f"{float(value):.2f}".rstrip("0").rstrip(".")


# ---------------------------------------------------------------------------
# The household and its balance
# ---------------------------------------------------------------------------


def check_household(r: Ruling) -> None:
    """An inactive (停用) household may not redeem, whatever else holds."""
    if not r.state.household_active:
        r.add("household_inactive", N_("该户已停用，不能兑换"), blocking=True)
        r.stopped = True


def check_balance(r: Ruling) -> None:
    """What the balance allows; 高阳 keeps a reserved base (基础分) that may not be redeemed."""
    base = max(0, r.policy.reserved_base)
    r.from_balance = max(0, r.state.balance - base)
    if r.policy.spend != SPEND_BALANCE:
        return
    if base:
        r.add("balance", N_("总积分%(balance)s分"), balance=r.state.balance)
        r.add(
            "reserved_base",
            N_("基础分%(base)s分不能兑换，可兑换积分%(spendable)s分"),
            base=base,
            spendable=r.from_balance,
        )
    else:
        r.add("balance", N_("可用积分%(balance)s分"), balance=r.from_balance)


# ---------------------------------------------------------------------------
# 高阳's months and 大同's market day
# ---------------------------------------------------------------------------


def check_window(r: Ruling) -> None:
    """Redemption only while the window is open: 高阳 in listed months, 大同 on the month's
    last market day (赶场天); closed, it bars redeeming and names the next opening."""
    window = r.policy.window
    if window.kind == WINDOW_ALWAYS:
        return
    is_open, opens = window_status(window, r.today)
    if window.kind == WINDOW_MONTHS:
        msgid, params = _months_window_text(window, is_open, opens)
    else:
        msgid, params = _market_day_text(window, r.today, is_open, opens)
    if is_open:
        r.reasons.append(Reason("window_open", msgid, params))
        return
    r.reasons.append(Reason("window_closed", msgid, params, blocking=True))
    r.barred = True
    r.next_open = opens


def _months_window_text(
    window: Window, is_open: bool, opens: date | None
) -> tuple[str, dict[str, Param]]:
    months = tuple(sorted(window.months))
    params: dict[str, Param] = {"months": Months(months)}
    if opens is not None:
        params["opens"] = Day(opens)
    if months == QUARTER_FIRST_MONTHS:
        if is_open:
            return N_("每季度第一个月（%(months)s）兑换，本月可以兑换"), params
        if opens is None:
            return N_("每季度第一个月（%(months)s）兑换，今天不能兑换"), params
        return N_("每季度第一个月（%(months)s）兑换，今天不能兑换，下次从%(opens)s开始"), params
    if is_open:
        return N_("兑换月份为%(months)s，本月可以兑换"), params
    if opens is None:
        return N_("兑换月份为%(months)s，今天不能兑换"), params
    return N_("兑换月份为%(months)s，今天不能兑换，下次从%(opens)s开始"), params


def _market_day_text(
    window: Window, today: date, is_open: bool, opens: date | None
) -> tuple[str, dict[str, Param]]:
    if is_open:
        return N_("今天（%(today)s）是本月最后一个赶场天，可以兑换"), {"today": Day(today)}
    if opens is None:
        return N_("没有设定赶场天，不能兑换"), {}
    this_month = last_market_day(window, today.year, today.month)
    if this_month is not None and this_month > today:
        return N_("本月兑换日为%(day)s（赶场天），今天不能兑换"), {"day": MonthDay(this_month)}
    if this_month is not None:
        return (
            N_("本月兑换日%(day)s已过，下次兑换日为%(opens)s（赶场天）"),
            {"day": MonthDay(this_month), "opens": Day(opens)},
        )
    return (
        N_("每%(every)s个月兑换一次，本月不兑换，下次兑换日为%(opens)s（赶场天）"),
        {"every": Count(max(1, window.every_months)), "opens": Day(opens)},
    )


# ---------------------------------------------------------------------------
# 大同: 一票否决 and the score gate
# ---------------------------------------------------------------------------


def check_veto(r: Ruling) -> None:
    """大同's 一票否决: a veto bars redeeming for the rest of its calendar year."""
    if r.policy.veto != VETO_CLEAR_AND_BAR_YEAR:
        return
    this_year = [v.on for v in r.state.vetoes if v.on.year == r.today.year and v.on <= r.today]
    if not this_year:
        return
    year = r.today.year
    resume = date(year + 1, 1, 1)
    resume_open, after = window_status(r.policy.window, resume)
    first_day = resume if resume_open else after
    params: dict[str, Param] = {"vetoed_on": Day(min(this_year)), "year": year}
    r.veto_at = len(r.reasons)
    if first_day is None:
        r.add(
            "vetoed", N_("%(vetoed_on)s因一票否决取消%(year)s年兑换资格"), blocking=True, **params
        )
    else:
        params["resume_year"] = year + 1
        # Without the day, should the look-ahead find the household still barred then.
        r.veto_undated = Reason(
            "vetoed",
            N_("%(vetoed_on)s因一票否决取消%(year)s年兑换资格，%(resume_year)s年起恢复"),
            dict(params),
            True,
        )
        params["next_open"] = Day(first_day)
        r.add(
            "vetoed",
            N_(
                "%(vetoed_on)s因一票否决取消%(year)s年兑换资格，%(resume_year)s年起恢复"
                "（下次兑换日%(next_open)s）"
            ),
            blocking=True,
            **params,
        )
        r.next_open = max(r.next_open or first_day, first_day)
    r.barred = True


def check_gate(r: Ruling) -> None:
    """大同's gate: a minimum score in each of N consecutive assessed periods (85, two quarters)."""
    gate = r.policy.gate
    if gate is None:
        return
    reason = gate_reason(gate, gate_series(r.state, r.policy, r.today), r.current, r.policy.period)
    r.reasons.append(reason)
    r.barred = r.barred or reason.blocking


def gate_reason(gate: Gate, series: dict[str, Fraction], current: str, period: str) -> Reason:
    """gate_met / gate_not_met over the latest ``consecutive_periods`` periods up to the last
    assessed one not after ``current``."""
    n = max(1, gate.consecutive_periods)
    rule: dict[str, Param] = {"span": Span(n, period), "min_score": gate.min_score}
    past = [k for k in series if k <= current]
    if not past:
        return Reason(
            "gate_not_met", N_("连续%(span)s评分需达到%(min_score)s分（尚无评分）"), rule, True
        )
    keys = [max(past)]
    while len(keys) < n:
        keys.insert(0, previous_period(keys[0]))
    failing = [
        _period_score(k, series) for k in keys if k not in series or series[k] < gate.min_score
    ]
    if failing:
        return Reason(
            "gate_not_met",
            N_("连续%(span)s评分需达到%(min_score)s分（%(failing)s）"),
            {**rule, "failing": Listing(tuple(failing))},
            True,
        )
    return Reason(
        "gate_met",
        N_("连续%(span)s评分达到%(min_score)s分（%(scores)s），可以参加兑换"),
        {**rule, "scores": Listing(tuple(_period_score(k, series) for k in keys))},
    )


def _period_score(key: str, series: dict[str, Fraction]) -> Phrase:
    if key not in series:
        return Phrase(N_("%(period)s：未评分"), {"period": Period(key)})
    return Phrase(
        N_("%(period)s：%(score)s分"), {"period": Period(key), "score": number(series[key])}
    )


# ---------------------------------------------------------------------------
# Tiers: 羊亭's pyramid by points, 寨里's stars by score, and their quota
# ---------------------------------------------------------------------------


def check_points_tier(r: Ruling) -> None:
    """羊亭's pyramid: a level by points earned in total, with a quota if the level has one."""
    if not r.policy.tiers or r.policy.tier_basis != TIER_BY_POINTS:
        return
    tier, earned = r.points_tier, r.state.earned_total
    if tier is None:
        r.supply.append(
            Reason(
                "no_tier",
                N_("累计获得积分%(earned)s分，未达到任何等级"),
                {"earned": earned},
                r.has_quota,
            )
        )
    else:
        r.tier_name = tier.name
        if tier.quota_yuan is None:
            r.add(
                "tier",
                N_("累计获得积分%(earned)s分，%(tier)s"),
                earned=earned,
                tier=Term(tier.name),
            )
        else:
            msgid = r.per_period(
                N_("累计获得积分%(earned)s分，%(tier)s，每季度可兑换%(quota)s元"),
                N_("累计获得积分%(earned)s分，%(tier)s，每月可兑换%(quota)s元"),
            )
            r.add("tier", msgid, earned=earned, tier=Term(tier.name), quota=tier.quota_yuan)
    if r.has_quota:
        r.quota_points = (tier.quota_yuan or 0) * r.points_per_yuan if tier else 0


def check_score_tiers(r: Ruling) -> None:
    """寨里's stars: each holder's latest score gives a tier (三星级 70–80 ...) and its quota;
    a disqualified (取消资格) holder counts 0 and has no quota."""
    if not r.policy.tiers or r.policy.tier_basis != TIER_BY_SCORE:
        return
    scored = [s for s in r.holders if s.score is not None]
    all_disqualified = _check_disqualified(r, scored)
    with_tier = [s for s in scored if s.tier is not None]
    r.tier_name = _family_tier(r.policy, scored, with_tier)
    if with_tier:
        r.reasons.append(_tier_reason(r, with_tier))
    elif not all_disqualified:
        r.supply.append(_no_tier_reason(r, scored))
    if r.has_quota:
        r.quota_points = sum(
            (s.tier.quota_yuan or 0) * r.points_per_yuan for s in with_tier if s.tier
        )


def _check_disqualified(r: Ruling, scored: list[HolderScore]) -> bool:
    """Add the disqualification reasons; True when every scored holder is disqualified."""
    disqualified = [s for s in scored if s.disqualified]
    if scored and len(disqualified) == len(scored):
        first = min(s.disqualified_on for s in disqualified if s.disqualified_on)
        r.add(
            "disqualified",
            N_("%(on)s取消资格：%(period)s积分为0分，取消一切兑换权利"),
            blocking=True,
            on=Day(first),
            period=Period(disqualified[0].period or r.current),
        )
        r.barred = True
        return True
    if disqualified:
        r.add(
            "member_disqualified",
            N_("%(count)s名家庭成员被取消资格，积分按0分计，没有兑换额度"),
            count=len(disqualified),
        )
    return False


def _family_tier(
    policy: Policy, scored: list[HolderScore], with_tier: list[HolderScore]
) -> str | None:
    """The household's tier: by its members' average score (寨里), or its own."""
    if policy.holder == HOLDER_INDIVIDUAL and scored:
        average = Fraction(sum(s.score or 0 for s in scored), len(scored))
        family = tier_reached(average, policy.tiers)
        return family.name if family else None
    if with_tier and with_tier[0].tier is not None:
        return with_tier[0].tier.name
    return None


def _tier_phrase(r: Ruling, s: HolderScore) -> Phrase:
    assert s.tier is not None and s.period is not None
    params: dict[str, Param] = {
        "period": Period(s.period),
        "score": s.score or 0,
        "tier": Term(s.tier.name),
    }
    if s.tier.quota_yuan is None:
        return Phrase(N_("%(period)s评分%(score)s分，%(tier)s"), params)
    msgid = r.per_period(
        N_("%(period)s评分%(score)s分，%(tier)s（每季度%(quota)s元）"),
        N_("%(period)s评分%(score)s分，%(tier)s（每月%(quota)s元）"),
    )
    return Phrase(msgid, {**params, "quota": s.tier.quota_yuan})


def _tier_reason(r: Ruling, with_tier: list[HolderScore]) -> Reason:
    parts = [_tier_phrase(r, s) for s in with_tier]
    if r.policy.holder != HOLDER_INDIVIDUAL:
        return Reason("tier", parts[0].msgid, parts[0].params)
    scores = Listing(tuple(parts), SEMICOLON)
    if r.tier_name:
        return Reason(
            "tier",
            N_("家庭成员%(scores)s；家庭星级%(tier)s"),
            {"scores": scores, "tier": Term(r.tier_name)},
        )
    return Reason("tier", N_("家庭成员%(scores)s"), {"scores": scores})


def _no_tier_reason(r: Ruling, scored: list[HolderScore]) -> Reason:
    lowest = min(r.policy.tiers, key=lambda t: t.min_value)
    params: dict[str, Param] = {"min_score": lowest.min_value, "tier": Term(lowest.name)}
    quota = r.has_quota  # with quotas, no tier means nothing to spend
    if not scored:
        msgid = N_("尚无评分记录，不能兑换") if quota else N_("尚无评分记录")
    elif r.policy.holder == HOLDER_INDIVIDUAL:
        msgid = (
            N_("家庭成员评分均未达到%(min_score)s分（%(tier)s），不能兑换")
            if quota
            else N_("家庭成员评分均未达到%(min_score)s分（%(tier)s）")
        )
    else:
        s = scored[0]
        params.update(period=Period(s.period or r.current), score=s.score or 0)
        msgid = (
            N_("%(period)s评分%(score)s分，未达到%(min_score)s分（%(tier)s），不能兑换")
            if quota
            else N_("%(period)s评分%(score)s分，未达到%(min_score)s分（%(tier)s）")
        )
    return Reason("no_tier", msgid, params, quota)


def check_quota(r: Ruling) -> None:
    """寨里's quota: what the tiers allow this period, less what was already redeemed in it."""
    if r.quota_points is None:
        return
    used = max(0, r.state.used_this_period)
    r.quota_left = max(0, r.quota_points - used)
    amounts: dict[str, Param] = {"quota": r.yuan(r.quota_points)}
    if r.quota_points > 0:
        r.add(
            "quota",
            r.per_period(
                N_("本季度可兑换额度%(quota)s元，已用%(used)s元，剩余%(left)s元"),
                N_("本月可兑换额度%(quota)s元，已用%(used)s元，剩余%(left)s元"),
            ),
            quota=amounts["quota"],
            used=r.yuan(used),
            left=r.yuan(r.quota_left),
        )
        if r.quota_left == 0:
            msgid = r.per_period(
                N_("本季度兑换额度%(quota)s元已用完"), N_("本月兑换额度%(quota)s元已用完")
            )
            r.supply.append(Reason("quota_exhausted", msgid, amounts, True))
    elif not r.barred and not any(s.code == "no_tier" for s in r.supply):
        # A tier whose quota is 0 (a village's own policy): nothing to spend this period.
        msgid = r.per_period(N_("本季度没有兑换额度"), N_("本月没有兑换额度"))
        r.supply.append(Reason("quota_exhausted", msgid, {}, True))


def check_spendable(r: Ruling) -> None:
    """What may be spent now: the quota (寨里), or the balance above the base within any quota."""
    if r.policy.spend == SPEND_QUOTA:
        r.spendable = r.quota_left or 0
        return
    left = r.quota_left
    r.spendable = r.from_balance if left is None else min(r.from_balance, left)
    if r.from_balance:
        return
    base = max(0, r.policy.reserved_base)
    if base:
        r.supply.append(
            Reason(
                "no_points",
                N_("总积分%(balance)s分未超过基础分%(base)s分，没有可兑换积分"),
                {"balance": r.state.balance, "base": base},
                True,
            )
        )
    else:
        r.supply.append(Reason("no_points", N_("当前没有可用积分"), {}, True))


# ---------------------------------------------------------------------------
# Restricted items (寨里's 长者食堂) and the cart
# ---------------------------------------------------------------------------


def check_restrictions(r: Ruling) -> None:
    """Who in the household may take restricted items (寨里: the elder canteen, ages 60–70
    with a score of at least 80), shown at the scan."""
    for rule in r.policy.restrictions:
        count = eligible_count(rule, r)
        r.eligible[rule.key] = count
        if count and not r.barred:
            r.add(
                "restricted_eligible",
                N_("%(label)s：本户有%(count)s人符合条件"),
                label=Term(rule.label),
                count=count,
            )


def eligible_count(rule: Restriction, r: Ruling) -> int:
    """How many holders may take items restricted by ``rule`` (members, or 1 for a household)."""
    births = {m.member_id: m.birth_date for m in r.state.members}

    def age_ok(member_id: int | None) -> bool:
        if rule.min_age is None and rule.max_age is None:
            return True
        birth = births.get(member_id) if member_id is not None else None
        if birth is None:
            return False
        age = age_on(birth, r.today)
        return (rule.min_age is None or age >= rule.min_age) and (
            rule.max_age is None or age <= rule.max_age
        )

    if r.policy.holder == HOLDER_INDIVIDUAL:
        return sum(1 for s in r.holders if _rights_ok(rule, r, s) and age_ok(s.member_id))
    if not _rights_ok(rule, r, r.holders[0]):
        return 0
    if rule.min_age is None and rule.max_age is None:
        return 1
    return sum(1 for m in r.state.members if age_ok(m.member_id))


def _rights_ok(rule: Restriction, r: Ruling, s: HolderScore) -> bool:
    """Whether a holder's score and tier meet the restriction (a disqualified one never does)."""
    if s.disqualified:
        return False
    if rule.min_score is not None and (s.score is None or s.score < rule.min_score):
        return False
    if rule.min_tier is None:
        return True
    tier = r.points_tier if r.policy.tier_basis == TIER_BY_POINTS else s.tier
    return tier is not None and tier_rank(r.policy, tier.name) >= tier_rank(r.policy, rule.min_tier)


def check_cart(r: Ruling) -> None:
    """Price each cart line (a free restricted item costs 0) and check restricted items: only
    for eligible holders, at most ``per_period_limit`` a period each."""
    if r.cart is None:
        return
    r.total = 0
    rules_by_key = {rule.key: rule for rule in r.policy.restrictions}
    asked: dict[str, int] = {}
    for item in r.cart:
        rule = rules_by_key.get(item.restriction_key) if item.restriction_key else None
        unit = item.unit_points
        if rule is not None:
            unit = 0 if rule.free else item.unit_points
            asked[rule.key] = asked.get(rule.key, 0) + item.quantity
            _check_restricted_item(r, item, rule, asked[rule.key])
        r.charged[item.product_id] = unit
        r.total += unit * item.quantity


def _check_restricted_item(r: Ruling, item: CartItem, rule: Restriction, asked: int) -> None:
    count = r.eligible.get(rule.key, 0)
    if count == 0:
        r.cart_reasons.append(
            Reason(
                "restricted_item",
                N_("%(item)s：%(label)s仅限%(conditions)s，本户没有符合条件的成员"),
                {"item": item.name, "label": Term(rule.label), "conditions": conditions(rule)},
                True,
            )
        )
        return
    if rule.per_period_limit is None:
        return
    allowed = rule.per_period_limit * count
    already = dict(r.state.restricted_used).get(rule.key, 0)
    if already + asked > allowed:
        r.cart_reasons.append(
            Reason(
                "restricted_limit",
                r.per_period(
                    N_(
                        "%(item)s：%(label)s本季度最多%(allowed)s份，已用%(used)s份，还能再取%(left)s份"
                    ),
                    N_(
                        "%(item)s：%(label)s本月最多%(allowed)s份，已用%(used)s份，还能再取%(left)s份"
                    ),
                ),
                {
                    "item": item.name,
                    "label": Term(rule.label),
                    "allowed": allowed,
                    "used": already,
                    "left": max(0, allowed - already),
                },
                True,
            )
        )


def conditions(rule: Restriction) -> Phrase | Listing:
    """Who a restriction is for: "60至70岁、评分80分以上"."""
    parts: list[Phrase] = []
    if rule.min_age is not None and rule.max_age is not None:
        parts.append(
            Phrase(
                N_("%(min_age)s至%(max_age)s岁"), {"min_age": rule.min_age, "max_age": rule.max_age}
            )
        )
    elif rule.min_age is not None:
        parts.append(Phrase(N_("%(min_age)s岁以上"), {"min_age": rule.min_age}))
    elif rule.max_age is not None:
        parts.append(Phrase(N_("%(max_age)s岁以下"), {"max_age": rule.max_age}))
    if rule.min_score is not None:
        parts.append(Phrase(N_("评分%(min_score)s分以上"), {"min_score": rule.min_score}))
    if rule.min_tier is not None:
        parts.append(Phrase(N_("%(tier)s及以上"), {"tier": Term(rule.min_tier)}))
    if not parts:
        return Phrase(N_("符合条件"))
    return Listing(tuple(parts), ENUMERATION)


def check_enough(r: Ruling) -> None:
    """The "nothing to spend" reasons (which a cart of free items only does not need), the
    cart's own refusals, and whether the cart fits what may be spent."""
    free_only = r.total is not None and r.total <= 0
    for reason in r.supply:
        r.reasons.append(
            Reason(reason.code, reason.msgid, reason.params, reason.blocking and not free_only)
        )
    if r.barred:
        return
    r.reasons.extend(r.cart_reasons)
    supply_blocked = any(s.blocking for s in r.supply) and not free_only
    total = r.total
    if total is None or total <= 0 or supply_blocked or total <= r.spendable:
        return
    quota_bound = r.quota_left is not None and (
        r.policy.spend == SPEND_QUOTA or r.quota_left < r.from_balance
    )
    if quota_bound:
        left = r.quota_left or 0
        r.add(
            "quota_exhausted",
            r.per_period(
                N_("本次需要%(need)s元，本季度剩余额度只有%(left)s元，还差%(short)s元"),
                N_("本次需要%(need)s元，本月剩余额度只有%(left)s元，还差%(short)s元"),
            ),
            blocking=True,
            need=r.yuan(total),
            left=r.yuan(left),
            short=r.yuan(total - left),
        )
    else:
        r.add(
            "insufficient_points",
            N_("本次需要%(need)s分，可用积分只有%(spendable)s分，还差%(short)s分"),
            blocking=True,
            need=total,
            spendable=r.spendable,
            short=total - r.spendable,
        )


Check = Callable[[Ruling], None]

# The order is the order of the reasons a keeper reads: balance, window, veto, gate, tier,
# quota, restricted items, then what the cart needs.
CHECKS: tuple[Check, ...] = (
    check_household,
    check_balance,
    check_window,
    check_veto,
    check_gate,
    check_points_tier,
    check_score_tiers,
    check_quota,
    check_spendable,
    check_restrictions,
    check_cart,
    check_enough,
)
