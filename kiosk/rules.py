"""The policy engine: may this household redeem this cart now, and why (or why not).

Pure functions of (account state, policy, moment): no database, no Flask. The redemption
service builds an :class:`AccountState` inside its transaction and enforces the decision; the
counter, the self-service screen, the receipt and ``POST /api/v1/scan`` show the same decision
and its reasons. A policy is data (:class:`Policy`); the four seed rule sets ship as presets in
:mod:`kiosk.presets`.
"""

from __future__ import annotations

import calendar
import math
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from fractions import Fraction

# Who holds the rights: the household, or each member with their rights summed to the household.
HOLDER_HOUSEHOLD = "household"
HOLDER_INDIVIDUAL = "individual"

# What a redemption spends: the points balance (大同, 高阳, 羊亭) or only the period's quota,
# leaving the score untouched (寨里: the score is a rating, not a currency).
SPEND_BALANCE = "balance"
SPEND_QUOTA = "quota"

# Cycle: points roll over for ever (大同 "积分滚动结存"), or restart each calendar year (高阳).
CYCLE_ROLLING = "rolling"
CYCLE_YEAR = "calendar_year"

# Assessment periods.
PERIOD_QUARTER = "quarter"
PERIOD_MONTH = "month"

# Redemption windows.
WINDOW_ALWAYS = "always"
WINDOW_MONTHS = "months"  # open during the listed months (高阳: 1, 4, 7, 10)
WINDOW_LAST_MARKET_DAY = "last_market_day"  # 大同: the month's last market day (赶场天)

# What a veto does.
VETO_NONE = "none"
VETO_CLEAR_AND_BAR_YEAR = "clear_and_bar_year"  # 大同 一票否决
VETO_ZERO_SCORE_PERIOD = "zero_score_period"  # 寨里 取消资格: score 0, the period's rights gone

# Tier basis.
TIER_BY_SCORE = "score"
TIER_BY_POINTS = "points"


@dataclass(frozen=True)
class Gate:
    """Eligibility: a minimum score in each of N consecutive assessed periods (大同: 85, 2)."""

    min_score: int
    consecutive_periods: int


@dataclass(frozen=True)
class Conversion:
    """Score to points: the average of the gate's periods times numerator/denominator
    (大同: 1/10, "评分1分折换成平台积分0.1分")."""

    numerator: int = 1
    denominator: int = 10


@dataclass(frozen=True)
class Tier:
    """A level by score (寨里 stars) or by points (羊亭 pyramid), with a quota per period in
    yuan (None: no quota)."""

    name: str
    min_value: int
    max_value: int
    quota_yuan: int | None = None


@dataclass(frozen=True)
class Window:
    """When redemption is open."""

    kind: str = WINDOW_ALWAYS
    months: tuple[int, ...] = ()  # WINDOW_MONTHS
    market_days: tuple[int, ...] = ()  # WINDOW_LAST_MARKET_DAY: days of month that are market days
    every_months: int = 1  # WINDOW_LAST_MARKET_DAY: 1 = 一月一兑, 3 = every third month (数月一兑)


@dataclass(frozen=True)
class Restriction:
    """A rule on products carrying ``key`` (Product.restriction_key): who may take them.

    寨里: key "elder_canteen", ages 60–70 with a score of at least 80, free (not charged to the
    balance nor the quota), at most ``per_period_limit`` a period per eligible member.
    """

    key: str
    label: str
    min_age: int | None = None
    max_age: int | None = None
    min_score: int | None = None
    min_tier: str | None = None
    free: bool = False
    per_period_limit: int | None = None


@dataclass(frozen=True)
class Policy:
    """A supermarket's redemption rules, as data."""

    name: str = "默认规则"
    preset: str | None = None
    holder: str = HOLDER_HOUSEHOLD
    points_per_yuan: int = 1
    spend: str = SPEND_BALANCE
    reserved_base: int = 0  # 高阳: only points above 100 may be redeemed
    base_grant: int = 0  # 高阳: 100 base points granted at each cycle start
    cycle: str = CYCLE_ROLLING
    period: str = PERIOD_QUARTER
    gate: Gate | None = None
    conversion: Conversion | None = None
    tier_basis: str = TIER_BY_SCORE
    tiers: tuple[Tier, ...] = ()
    window: Window = field(default_factory=Window)
    veto: str = VETO_NONE
    restrictions: tuple[Restriction, ...] = ()

    def points_price(self, unit_cost_fen: int) -> int:
        """Points for one unit at cost price, rounded up to a whole point."""
        if unit_cost_fen <= 0:
            return 0
        # ceil(cost_fen * ppy / 100) in integers.
        return -(-unit_cost_fen * self.points_per_yuan // 100)


@dataclass(frozen=True)
class Assessment:
    """A score (0–100) for one period ("2024Q1" or "2024-03"), of the household or a member."""

    period: str
    score: int
    member_id: int | None = None


@dataclass(frozen=True)
class VetoRecord:
    """A veto (一票否决) or disqualification (取消资格) on a day, of the household or a member."""

    on: date
    member_id: int | None = None
    reason: str = ""


@dataclass(frozen=True)
class MemberState:
    member_id: int
    birth_date: date | None = None


@dataclass(frozen=True)
class CartItem:
    """One cart line as the rules see it."""

    product_id: int
    name: str
    quantity: int
    unit_points: int
    restriction_key: str | None = None


@dataclass(frozen=True)
class AccountState:
    """What the rules need to know about a household at a moment."""

    household_active: bool
    balance: int
    earned_total: int = 0
    assessments: tuple[Assessment, ...] = ()
    members: tuple[MemberState, ...] = ()
    vetoes: tuple[VetoRecord, ...] = ()
    # Points value of this period's completed (not voided) redemptions, excluding free lines.
    used_this_period: int = 0
    # Units of each restricted key taken this period: {"elder_canteen": 2}.
    restricted_used: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class Reason:
    """One line of a decision, with a stable code and a sentence a keeper can read aloud."""

    code: str
    message: str
    blocking: bool = False

    def to_dict(self) -> dict[str, object]:
        return {"code": self.code, "message": self.message, "blocking": self.blocking}


@dataclass(frozen=True)
class Decision:
    """The answer to "may this card redeem (this cart) now?"."""

    may_redeem: bool
    spendable: int
    reasons: list[Reason] = field(default_factory=list)
    quota_left: int | None = None
    tier: str | None = None
    next_open: date | None = None
    # Points each cart line is charged (0 for free restricted items), by product id.
    charged: dict[int, int] = field(default_factory=dict)

    @property
    def blocking_reason(self) -> Reason | None:
        return next((r for r in self.reasons if r.blocking), None)

    def to_dict(self) -> dict[str, object]:
        return {
            "may_redeem": self.may_redeem,
            "spendable": self.spendable,
            "quota_left": self.quota_left,
            "tier": self.tier,
            "next_open": self.next_open.isoformat() if self.next_open else None,
            "reasons": [r.to_dict() for r in self.reasons],
        }


# ---------------------------------------------------------------------------
# Periods and dates
# ---------------------------------------------------------------------------

_QUARTER_RE = re.compile(r"^(\d{4})Q([1-4])$")
_MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_CN_NUMERALS = ("零", "一", "两", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二")
_CN_QUARTERS = ("", "一", "二", "三", "四")


def _parse_period(key: str) -> tuple[str, int, int]:
    """(kind, year, index) of a period key: index is the quarter 1–4 or the month 1–12."""
    if isinstance(key, str):
        m = _QUARTER_RE.match(key)
        if m:
            return PERIOD_QUARTER, int(m.group(1)), int(m.group(2))
        m = _MONTH_RE.match(key)
        if m:
            return PERIOD_MONTH, int(m.group(1)), int(m.group(2))
    raise ValueError(f"not a period key: {key!r} (expected like 2024Q1 or 2024-03)")


def _make_period(kind: str, year: int, index: int) -> str:
    return f"{year}Q{index}" if kind == PERIOD_QUARTER else f"{year}-{index:02d}"


def is_period_key(key: object, period: str | None = None) -> bool:
    """True if ``key`` is a period key ("2024Q1", "2024-03"), of kind ``period`` if given."""
    try:
        kind, _, _ = _parse_period(key)  # type: ignore[arg-type]
    except ValueError:
        return False
    return period is None or kind == period


def period_key(day: date, period: str) -> str:
    """The period a day falls in: "2024Q1" for quarters, "2024-03" for months."""
    if period == PERIOD_QUARTER:
        return _make_period(PERIOD_QUARTER, day.year, (day.month - 1) // 3 + 1)
    if period == PERIOD_MONTH:
        return _make_period(PERIOD_MONTH, day.year, day.month)
    raise ValueError(f"unknown period kind: {period!r}")


def previous_period(key: str) -> str:
    """The period just before ``key`` ("2024Q1" -> "2023Q4", "2024-01" -> "2023-12")."""
    kind, year, index = _parse_period(key)
    if index > 1:
        return _make_period(kind, year, index - 1)
    return _make_period(kind, year - 1, 4 if kind == PERIOD_QUARTER else 12)


def next_period(key: str) -> str:
    """The period just after ``key`` ("2023Q4" -> "2024Q1", "2023-12" -> "2024-01")."""
    kind, year, index = _parse_period(key)
    last = 4 if kind == PERIOD_QUARTER else 12
    if index < last:
        return _make_period(kind, year, index + 1)
    return _make_period(kind, year + 1, 1)


def period_bounds(key: str) -> tuple[date, date]:
    """First day of the period (inclusive) and first day of the next one (exclusive)."""
    kind, year, index = _parse_period(key)
    month = (index - 1) * 3 + 1 if kind == PERIOD_QUARTER else index
    start = date(year, month, 1)
    _, next_year, next_index = _parse_period(next_period(key))
    next_month = (next_index - 1) * 3 + 1 if kind == PERIOD_QUARTER else next_index
    return start, date(next_year, next_month, 1)


def period_label(key: str) -> str:
    """A period in Chinese: "2024年第一季度" or "2024年3月"."""
    kind, year, index = _parse_period(key)
    if kind == PERIOD_QUARTER:
        return f"{year}年第{_CN_QUARTERS[index]}季度"
    return f"{year}年{index}月"


def cn_date(day: date) -> str:
    """A date in Chinese: "2024年3月28日"."""
    return f"{day.year}年{day.month}月{day.day}日"


def _cn_count(n: int) -> str:
    return _CN_NUMERALS[n] if 0 <= n < len(_CN_NUMERALS) else str(n)


def _this_period_word(period: str) -> str:
    return "本季度" if period == PERIOD_QUARTER else "本月"


def _per_period_word(period: str) -> str:
    return "每季度" if period == PERIOD_QUARTER else "每月"


def _num(value: Fraction | int) -> str:
    """A score or amount without a spurious ".0": 85, 87.5, 33.33."""
    value = Fraction(value)
    if value.denominator == 1:
        return str(value.numerator)
    return f"{float(value):.2f}".rstrip("0").rstrip(".")


def _yuan(points: int, points_per_yuan: int) -> str:
    return _num(Fraction(points, max(1, points_per_yuan)))


def age_on(birth: date, day: date) -> int:
    """Age in full years on ``day`` (a 29 February birthday counts from 1 March in common years)."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


# ---------------------------------------------------------------------------
# Windows
# ---------------------------------------------------------------------------


def _add_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def last_market_day(window: Window, year: int, month: int) -> date | None:
    """The redemption day of a month under WINDOW_LAST_MARKET_DAY, or None if the month has none.

    Only every ``every_months``-th month redeems (months divisible by it: 3 -> Mar, Jun, Sep,
    Dec); market days past the month's end (30 in February) do not exist that month.
    """
    every = max(1, window.every_months)
    if month % every:
        return None
    days_in_month = calendar.monthrange(year, month)[1]
    days = [d for d in window.market_days if 1 <= d <= days_in_month]
    return date(year, month, max(days)) if days else None


def window_status(window: Window, day: date) -> tuple[bool, date | None]:
    """(open on ``day``?, next opening day after ``day`` when closed — None when open or never)."""
    if window.kind == WINDOW_ALWAYS:
        return True, None
    if window.kind == WINDOW_MONTHS:
        months = {m for m in window.months if 1 <= m <= 12}
        if day.month in months:
            return True, None
        year, month = day.year, day.month
        for _ in range(12):
            year, month = _add_month(year, month)
            if month in months:
                return False, date(year, month, 1)
        return False, None
    if window.kind == WINDOW_LAST_MARKET_DAY:
        if last_market_day(window, day.year, day.month) == day:
            return True, None
        year, month = day.year, day.month
        for _ in range(13):
            opening = last_market_day(window, year, month)
            if opening is not None and opening > day:
                return False, opening
            year, month = _add_month(year, month)
        return False, None
    raise ValueError(f"unknown window kind: {window.kind!r}")


def _months_text(months: tuple[int, ...]) -> str:
    return "、".join(f"{m}月" for m in months)


def _window_text(window: Window, day: date, is_open: bool, opens: date | None) -> str:
    if window.kind == WINDOW_MONTHS:
        if tuple(sorted(window.months)) == (1, 4, 7, 10):
            rule = f"每季度第一个月（{_months_text((1, 4, 7, 10))}）兑换"
        else:
            rule = f"兑换月份为{_months_text(tuple(sorted(window.months)))}"
        if is_open:
            return f"{rule}，本月可以兑换"
        if opens is None:
            return f"{rule}，今天不能兑换"
        return f"{rule}，今天不能兑换，下次从{cn_date(opens)}开始"
    # WINDOW_LAST_MARKET_DAY
    if is_open:
        return f"今天（{cn_date(day)}）是本月最后一个赶场天，可以兑换"
    if opens is None:
        return "没有设定赶场天，不能兑换"
    this_month = last_market_day(window, day.year, day.month)
    if this_month is not None and this_month > day:
        return f"本月兑换日为{this_month.month}月{this_month.day}日（赶场天），今天不能兑换"
    if this_month is not None:
        return (
            f"本月兑换日{this_month.month}月{this_month.day}日已过，"
            f"下次兑换日为{cn_date(opens)}（赶场天）"
        )
    return (
        f"每{_cn_count(max(1, window.every_months))}个月兑换一次，本月不兑换，"
        f"下次兑换日为{cn_date(opens)}（赶场天）"
    )


# ---------------------------------------------------------------------------
# Tiers and conversion
# ---------------------------------------------------------------------------


def tier_for(value: int | Fraction, tiers: tuple[Tier, ...] | list[Tier]) -> Tier | None:
    """The tier whose range [min_value, max_value] (both inclusive) holds ``value``."""
    return next((t for t in tiers if t.min_value <= value <= t.max_value), None)


def _tier_reached(value: Fraction, tiers: tuple[Tier, ...]) -> Tier | None:
    """Like tier_for, but a value in a gap (80.5 between 70–80 and 81–90) keeps the lower tier."""
    found = tier_for(value, tiers)
    if found is not None:
        return found
    below = [t for t in tiers if t.min_value <= value]
    return max(below, key=lambda t: t.min_value) if below else None


def converted_points(scores: list[int], conversion: Conversion) -> Fraction:
    """Average of ``scores`` times numerator/denominator, exactly (大同: avg(88, 91) x 1/10 = 8.95)."""
    if not scores:
        return Fraction(0)
    return Fraction(sum(scores), len(scores)) * Fraction(
        conversion.numerator, conversion.denominator
    )


def whole_points_due(cumulative: Fraction, already_awarded: int) -> int:
    """Whole points to award now: floor(all converted so far) − points already awarded.

    The ledger holds whole points, so the fraction is carried: 8.95 then 9.1 awards 8 then 10.
    """
    return max(0, math.floor(cumulative) - already_awarded)


# ---------------------------------------------------------------------------
# Scores
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Standing:
    """The score that counts for one holder (household or member) in the current period."""

    member_id: int | None
    period: str | None = None
    score: int | None = None
    disqualified_on: date | None = None
    tier: Tier | None = None

    @property
    def disqualified(self) -> bool:
        return self.disqualified_on is not None


def _history(
    state: AccountState, policy: Policy, member_id: int | None, today: date
) -> tuple[dict[str, int], dict[str, date]]:
    """Scores by period for a holder (latest row per period wins), and disqualified periods."""
    scores: dict[str, int] = {}
    for a in state.assessments:
        if a.member_id == member_id and is_period_key(a.period, policy.period):
            scores[a.period] = a.score
    disqualified: dict[str, date] = {}
    if policy.veto == VETO_ZERO_SCORE_PERIOD:
        for v in state.vetoes:
            if v.on > today:
                continue
            # A household-level record hits every member; a member's record hits that member
            # and, under HOLDER_HOUSEHOLD, the household's score.
            if member_id is not None and v.member_id not in (None, member_id):
                continue
            key = period_key(v.on, policy.period)
            disqualified[key] = min(v.on, disqualified.get(key, v.on))
            scores[key] = 0
    return scores, disqualified


def _member_ids(state: AccountState) -> list[int]:
    ids = [m.member_id for m in state.members]
    for a in state.assessments:
        if a.member_id is not None and a.member_id not in ids:
            ids.append(a.member_id)
    return ids


def _standing(
    state: AccountState, policy: Policy, member_id: int | None, today: date, current: str
) -> _Standing:
    scores, disqualified = _history(state, policy, member_id, today)
    # The score that counts: the latest assessed period not after the current one.
    past = [k for k in scores if k <= current]
    if not past:
        return _Standing(member_id)
    latest = max(past)
    dq = disqualified.get(latest)
    score = scores[latest]
    tier = None if dq else tier_for(score, policy.tiers)
    return _Standing(member_id, latest, score, dq, tier)


def _standings(state: AccountState, policy: Policy, today: date, current: str) -> list[_Standing]:
    if policy.holder == HOLDER_INDIVIDUAL:
        return [_standing(state, policy, m, today, current) for m in _member_ids(state)]
    return [_standing(state, policy, None, today, current)]


def _gate_series(state: AccountState, policy: Policy, today: date) -> dict[str, Fraction]:
    """The household's score per period (under HOLDER_INDIVIDUAL: the members' average)."""
    if policy.holder == HOLDER_HOUSEHOLD:
        scores, _ = _history(state, policy, None, today)
        return {k: Fraction(v) for k, v in scores.items()}
    by_period: dict[str, list[int]] = {}
    for member_id in _member_ids(state):
        scores, _ = _history(state, policy, member_id, today)
        for k, v in scores.items():
            by_period.setdefault(k, []).append(v)
    return {k: Fraction(sum(v), len(v)) for k, v in by_period.items()}


def _check_gate(gate: Gate, series: dict[str, Fraction], current: str, period: str) -> Reason:
    """gate_met / gate_not_met over the latest ``consecutive_periods`` periods up to the last
    assessed one not after ``current``."""
    unit = "个季度" if period == PERIOD_QUARTER else "个月"
    n = max(1, gate.consecutive_periods)
    rule = f"连续{_cn_count(n)}{unit}评分需达到{gate.min_score}分"
    past = [k for k in series if k <= current]
    if not past:
        return Reason("gate_not_met", f"{rule}（尚无评分）", blocking=True)
    keys = [max(past)]
    while len(keys) < n:
        keys.insert(0, previous_period(keys[0]))
    failing = []
    for k in keys:
        if k not in series:
            failing.append(f"{period_label(k)}：未评分")
        elif series[k] < gate.min_score:
            failing.append(f"{period_label(k)}：{_num(series[k])}分")
    if failing:
        return Reason("gate_not_met", f"{rule}（{'，'.join(failing)}）", blocking=True)
    shown = "，".join(f"{period_label(k)}：{_num(series[k])}分" for k in keys)
    return Reason(
        "gate_met", f"连续{_cn_count(n)}{unit}评分达到{gate.min_score}分（{shown}），可以参加兑换"
    )


def _conditions_text(r: Restriction) -> str:
    parts = []
    if r.min_age is not None and r.max_age is not None:
        parts.append(f"{r.min_age}至{r.max_age}岁")
    elif r.min_age is not None:
        parts.append(f"{r.min_age}岁以上")
    elif r.max_age is not None:
        parts.append(f"{r.max_age}岁以下")
    if r.min_score is not None:
        parts.append(f"评分{r.min_score}分以上")
    if r.min_tier is not None:
        parts.append(f"{r.min_tier}及以上")
    return "、".join(parts) or "符合条件"


def _tier_rank(policy: Policy, name: str | None) -> int:
    names = [t.name for t in policy.tiers]
    return names.index(name) if name in names else -1


def _eligible_count(
    r: Restriction,
    policy: Policy,
    state: AccountState,
    standings: list[_Standing],
    points_tier: Tier | None,
    today: date,
) -> int:
    """How many holders may take items restricted by ``r`` (members, or 1 for a household)."""
    births = {m.member_id: m.birth_date for m in state.members}

    def age_ok(member_id: int | None) -> bool:
        if r.min_age is None and r.max_age is None:
            return True
        birth = births.get(member_id) if member_id is not None else None
        if birth is None:
            return False
        age = age_on(birth, today)
        return (r.min_age is None or age >= r.min_age) and (r.max_age is None or age <= r.max_age)

    def rights_ok(s: _Standing) -> bool:
        if s.disqualified:
            return False
        if r.min_score is not None and (s.score is None or s.score < r.min_score):
            return False
        if r.min_tier is not None:
            tier = points_tier if policy.tier_basis == TIER_BY_POINTS else s.tier
            if tier is None or _tier_rank(policy, tier.name) < _tier_rank(policy, r.min_tier):
                return False
        return True

    if policy.holder == HOLDER_INDIVIDUAL:
        return sum(1 for s in standings if rights_ok(s) and age_ok(s.member_id))
    if not rights_ok(standings[0]):
        return 0
    if r.min_age is None and r.max_age is None:
        return 1
    return sum(1 for m in state.members if age_ok(m.member_id))


# ---------------------------------------------------------------------------
# The decision
# ---------------------------------------------------------------------------


def decide(
    state: AccountState,
    policy: Policy,
    moment: datetime,
    cart: tuple[CartItem, ...] | list[CartItem] | None = None,
    *,
    look_ahead: bool = True,
) -> Decision:
    """Decide whether the household may redeem now (and this cart, if given), with reasons.

    ``moment`` is the supermarket's local wall-clock time. ``next_open`` (下次可兑换) is given
    only when the household, as things stand, may redeem on that day (``look_ahead``).
    """
    if cart is not None and len({item.product_id for item in cart}) != len(cart):
        # Decision.charged is per product: a cart must hold one line per product (the
        # redemption service merges repeated products before it asks).
        raise ValueError("a cart must have one line per product")
    today = moment.date() if isinstance(moment, datetime) else moment
    if not state.household_active:
        return Decision(False, 0, [Reason("household_inactive", "该户已停用，不能兑换", True)])

    current = period_key(today, policy.period)
    ppy = max(1, policy.points_per_yuan)
    this_period = _this_period_word(policy.period)
    reasons: list[Reason] = []
    barred = False  # a blocking reason that no cart can change: nothing may be spent now
    next_open: date | None = None
    veto_at: int | None = None  # where the veto's reason is, and its text without a day
    veto_text = ""

    # Balance (and 高阳's reserved base).
    base = max(0, policy.reserved_base)
    from_balance = max(0, state.balance - base)
    if policy.spend == SPEND_BALANCE:
        if base:
            reasons.append(Reason("balance", f"总积分{state.balance}分"))
            reasons.append(
                Reason("reserved_base", f"基础分{base}分不能兑换，可兑换积分{from_balance}分")
            )
        else:
            reasons.append(Reason("balance", f"可用积分{from_balance}分"))

    # Window.
    if policy.window.kind != WINDOW_ALWAYS:
        is_open, opens = window_status(policy.window, today)
        text = _window_text(policy.window, today, is_open, opens)
        if is_open:
            reasons.append(Reason("window_open", text))
        else:
            reasons.append(Reason("window_closed", text, blocking=True))
            barred = True
            next_open = opens

    # 大同 一票否决: no redemption for the rest of the calendar year of the veto.
    if policy.veto == VETO_CLEAR_AND_BAR_YEAR:
        this_year = [v.on for v in state.vetoes if v.on.year == today.year and v.on <= today]
        if this_year:
            resume = date(today.year + 1, 1, 1)
            resume_open, after = window_status(policy.window, resume)
            first_day = resume if resume_open else after
            text = f"{cn_date(min(this_year))}因一票否决取消{today.year}年兑换资格"
            resume_day = ""
            if first_day is not None:
                text += f"，{today.year + 1}年起恢复"
                resume_day = f"（下次兑换日{cn_date(first_day)}）"
                next_open = max(next_open or first_day, first_day)
            veto_at, veto_text = len(reasons), text  # the day goes with next_open (below)
            reasons.append(Reason("vetoed", text + resume_day, blocking=True))
            barred = True

    # Gate over consecutive periods (大同).
    if policy.gate is not None:
        gate_reason = _check_gate(
            policy.gate, _gate_series(state, policy, today), current, policy.period
        )
        reasons.append(gate_reason)
        barred = barred or gate_reason.blocking

    # Tiers and quotas.
    has_quota = any(t.quota_yuan is not None for t in policy.tiers)
    supply: list[Reason] = []  # "nothing to spend" reasons: they do not block a free-only cart
    tier_name: str | None = None
    quota_points: int | None = None
    standings = _standings(state, policy, today, current)
    points_tier = (
        tier_for(state.earned_total, policy.tiers) if policy.tier_basis == TIER_BY_POINTS else None
    )
    lowest = min(policy.tiers, key=lambda t: t.min_value) if policy.tiers else None
    if policy.tiers and policy.tier_basis == TIER_BY_POINTS:
        if points_tier is not None:
            tier_name = points_tier.name
            text = f"累计获得积分{state.earned_total}分，{points_tier.name}"
            if points_tier.quota_yuan is not None:
                text += f"，{_per_period_word(policy.period)}可兑换{points_tier.quota_yuan}元"
            reasons.append(Reason("tier", text))
        else:
            supply.append(
                Reason("no_tier", f"累计获得积分{state.earned_total}分，未达到任何等级", has_quota)
            )
        if has_quota:
            quota_points = (points_tier.quota_yuan or 0) * ppy if points_tier else 0
    elif policy.tiers:
        scored = [s for s in standings if s.score is not None]
        disqualified = [s for s in scored if s.disqualified]
        if scored and len(disqualified) == len(scored):
            first = min(s.disqualified_on for s in disqualified if s.disqualified_on)
            reasons.append(
                Reason(
                    "disqualified",
                    f"{cn_date(first)}取消资格：{period_label(disqualified[0].period or current)}"
                    "积分为0分，取消一切兑换权利",
                    blocking=True,
                )
            )
            barred = True
        elif disqualified:
            reasons.append(
                Reason(
                    "member_disqualified",
                    f"{len(disqualified)}名家庭成员被取消资格，积分按0分计，没有兑换额度",
                )
            )
        with_tier = [s for s in scored if s.tier is not None]
        if policy.holder == HOLDER_INDIVIDUAL and scored:
            average = Fraction(sum(s.score or 0 for s in scored), len(scored))
            family = _tier_reached(average, policy.tiers)
            tier_name = family.name if family else None
        elif with_tier:
            tier_name = with_tier[0].tier.name if with_tier[0].tier else None
        if with_tier:
            parts = []
            for s in with_tier:
                assert s.tier is not None and s.period is not None
                part = f"{period_label(s.period)}评分{s.score}分，{s.tier.name}"
                if s.tier.quota_yuan is not None:
                    part += f"（{_per_period_word(policy.period)}{s.tier.quota_yuan}元）"
                parts.append(part)
            text = "；".join(parts)
            if policy.holder == HOLDER_INDIVIDUAL:
                text = f"家庭成员{text}"
                if tier_name:
                    text += f"；家庭星级{tier_name}"
            reasons.append(Reason("tier", text))
        elif not (scored and len(disqualified) == len(scored)):
            lowest_text = f"{lowest.min_value}分（{lowest.name}）" if lowest else ""
            if not scored:
                text = "尚无评分记录"
            elif policy.holder == HOLDER_INDIVIDUAL:
                text = f"家庭成员评分均未达到{lowest_text}"
            else:
                s = scored[0]
                text = f"{period_label(s.period or current)}评分{s.score}分，未达到{lowest_text}"
            if has_quota:
                text += "，不能兑换"
            supply.append(Reason("no_tier", text, has_quota))
        if has_quota:
            quota_points = sum((s.tier.quota_yuan or 0) * ppy for s in with_tier if s.tier)

    quota_left: int | None = None
    if quota_points is not None:
        used = max(0, state.used_this_period)
        quota_left = max(0, quota_points - used)
        if quota_points > 0:
            reasons.append(
                Reason(
                    "quota",
                    f"{this_period}可兑换额度{_yuan(quota_points, ppy)}元，"
                    f"已用{_yuan(used, ppy)}元，剩余{_yuan(quota_left, ppy)}元",
                )
            )
            if quota_left == 0:
                supply.append(
                    Reason(
                        "quota_exhausted",
                        f"{this_period}兑换额度{_yuan(quota_points, ppy)}元已用完",
                        True,
                    )
                )
        elif not barred and not any(r.code == "no_tier" for r in supply):
            # A tier whose quota is 0 (a village's own policy): nothing to spend this period.
            supply.append(Reason("quota_exhausted", f"{this_period}没有兑换额度", True))

    if policy.spend == SPEND_QUOTA:
        spendable = quota_left or 0
    else:
        spendable = from_balance if quota_left is None else min(from_balance, quota_left)
        if from_balance == 0:
            text = (
                f"总积分{state.balance}分未超过基础分{base}分，没有可兑换积分"
                if base
                else "当前没有可用积分"
            )
            supply.append(Reason("no_points", text, True))

    # Restricted items that this household could take (shown at the scan).
    eligible: dict[str, int] = {}
    for r in policy.restrictions:
        eligible[r.key] = _eligible_count(r, policy, state, standings, points_tier, today)
        if eligible[r.key] and not barred:
            reasons.append(
                Reason("restricted_eligible", f"{r.label}：本户有{eligible[r.key]}人符合条件")
            )

    # The cart.
    charged: dict[int, int] = {}
    cart_reasons: list[Reason] = []
    total: int | None = None
    if cart is not None:
        total = 0
        rules_by_key = {r.key: r for r in policy.restrictions}
        used_by_key = dict(state.restricted_used)
        asked: dict[str, int] = {}
        for item in cart:
            rule = rules_by_key.get(item.restriction_key) if item.restriction_key else None
            unit = item.unit_points
            if rule is not None:
                unit = 0 if rule.free else item.unit_points
                count = eligible.get(rule.key, 0)
                asked[rule.key] = asked.get(rule.key, 0) + item.quantity
                if count == 0:
                    cart_reasons.append(
                        Reason(
                            "restricted_item",
                            f"{item.name}：{rule.label}仅限{_conditions_text(rule)}，"
                            "本户没有符合条件的成员",
                            True,
                        )
                    )
                elif rule.per_period_limit is not None:
                    allowed = rule.per_period_limit * count
                    already = used_by_key.get(rule.key, 0)
                    if already + asked[rule.key] > allowed:
                        cart_reasons.append(
                            Reason(
                                "restricted_limit",
                                f"{item.name}：{rule.label}{this_period}最多{allowed}份，"
                                f"已用{already}份，还能再取{max(0, allowed - already)}份",
                                True,
                            )
                        )
            charged[item.product_id] = unit
            total += unit * item.quantity

    free_only = total is not None and total <= 0
    for reason in supply:
        # A cart that costs nothing (free restricted items only) needs no points or quota.
        reasons.append(Reason(reason.code, reason.message, reason.blocking and not free_only))
    supply_blocked = any(r.blocking for r in supply) and not free_only
    if not barred:
        reasons.extend(cart_reasons)
        if total is not None and total > 0 and not supply_blocked and total > spendable:
            quota_bound = quota_left is not None and (
                policy.spend == SPEND_QUOTA or quota_left < from_balance
            )
            if quota_bound:
                left = quota_left or 0
                reasons.append(
                    Reason(
                        "quota_exhausted",
                        f"本次需要{_yuan(total, ppy)}元，{this_period}剩余额度只有"
                        f"{_yuan(left, ppy)}元，还差{_yuan(total - left, ppy)}元",
                        True,
                    )
                )
            else:
                reasons.append(
                    Reason(
                        "insufficient_points",
                        f"本次需要{total}分，可用积分只有{spendable}分，还差{total - spendable}分",
                        True,
                    )
                )

    may_redeem = not any(r.blocking for r in reasons)
    if (
        next_open is not None
        and look_ahead
        and not _redeemable_on(state, policy, moment, next_open)
    ):
        next_open = None
        if veto_at is not None:
            reasons[veto_at] = Reason("vetoed", veto_text, blocking=True)
    return Decision(
        may_redeem=may_redeem,
        spendable=0 if barred else max(0, spendable),
        reasons=reasons,
        quota_left=quota_left,
        tier=tier_name,
        next_open=next_open,
        charged=charged,
    )


def _redeemable_on(state: AccountState, policy: Policy, moment: datetime, day: date) -> bool:
    """Whether the household, as things stand now, may redeem on ``day`` (its next opening):
    a new period starts with its quota unused, and a new calendar-year cycle with the base."""
    today = moment.date() if isinstance(moment, datetime) else moment
    if period_key(day, policy.period) != period_key(today, policy.period):
        state = replace(state, used_this_period=0, restricted_used=())
    if policy.cycle == CYCLE_YEAR and day.year > today.year:
        state = replace(state, balance=max(0, policy.base_grant))
    at = datetime.combine(day, moment.time()) if isinstance(moment, datetime) else day
    return decide(state, policy, at, look_ahead=False).may_redeem
