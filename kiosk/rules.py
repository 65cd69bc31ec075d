"""The policy engine: may this household redeem this cart now, and why (or why not).

Pure functions of (account state, policy, moment): no database, no Flask. The redemption
service builds an :class:`AccountState` inside its transaction and enforces the decision; the
counter, the self-service screen, the receipt and ``POST /api/v1/scan`` show the same decision
and its reasons. A policy is data (:class:`Policy`); the four seed rule sets ship as presets in
:mod:`kiosk.presets`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

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


def decide(
    state: AccountState, policy: Policy, moment: datetime, cart_points: int | None = None
) -> Decision:
    """Decide whether the household may redeem now, and a cart of ``cart_points`` if given."""
    del moment  # windows and periods come with the full rule sets
    spendable = max(0, state.balance)
    reasons: list[Reason] = []
    if not state.household_active:
        reasons.append(Reason("household_inactive", "该户已停用，不能兑换", blocking=True))
        return Decision(False, 0, reasons)
    reasons.append(Reason("balance", f"可用积分{spendable}分"))
    if spendable <= 0:
        reasons.append(Reason("no_points", "当前没有可用积分", blocking=True))
        return Decision(False, spendable, reasons)
    if cart_points is not None and cart_points > spendable:
        reasons.append(
            Reason(
                "insufficient_points",
                f"本次需要{cart_points}分，可用积分只有{spendable}分，还差{cart_points - spendable}分",
                blocking=True,
            )
        )
        return Decision(False, spendable, reasons)
    return Decision(True, spendable, reasons)
