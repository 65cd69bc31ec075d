"""A supermarket's redemption rules as data: the :class:`Policy` and its parts.

Every field is a village committee's choice, named after the seed rule that needs it (大同's
gate and market-day window, 高阳's reserved base and months, 寨里's star tiers and quotas, 羊亭's
pyramid). :mod:`kiosk.rules.presets` holds the four seeds as ready-made policies and
:mod:`kiosk.rules.policy_io` reads and writes a policy as a dict or TOML.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
