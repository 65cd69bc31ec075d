"""The four seed rule sets as ready-made policies.

Each preset follows one seed (quoted in ``docs/rules/``): 大同 (001), 高阳 (003), 寨里 (000),
羊亭 (004). A village may start from a preset and change any field (the policy form, or a TOML
file read by :mod:`kiosk.rules.policy_io`).
"""

from __future__ import annotations

from kiosk.errors import NotFound
from kiosk.messages import N_, WORD_SEPARATOR, Joined, _
from kiosk.rules.policy import (
    CYCLE_ROLLING,
    CYCLE_YEAR,
    HOLDER_HOUSEHOLD,
    HOLDER_INDIVIDUAL,
    PERIOD_QUARTER,
    SPEND_BALANCE,
    SPEND_QUOTA,
    TIER_BY_POINTS,
    TIER_BY_SCORE,
    VETO_CLEAR_AND_BAR_YEAR,
    VETO_ZERO_SCORE_PERIOD,
    WINDOW_ALWAYS,
    WINDOW_LAST_MARKET_DAY,
    WINDOW_MONTHS,
    Conversion,
    Gate,
    Policy,
    Restriction,
    Tier,
    Window,
)

# 大同 (001): "兑换活动于每月最后一个赶场天". The seed does not list the town's market days; we
# ship 逢三逢八 (3, 8, 13, 18, 23, 28), so the month's last market day is the 28th (it exists in
# every month, February included). A village sets its own in ``window.market_days``.
DATONG_MARKET_DAYS = (3, 8, 13, 18, 23, 28)

DATONG = Policy(
    name=N_("大同镇文明积分制"),
    preset="datong",
    holder=HOLDER_HOUSEHOLD,
    points_per_yuan=1,
    spend=SPEND_BALANCE,
    cycle=CYCLE_ROLLING,
    period=PERIOD_QUARTER,
    gate=Gate(min_score=85, consecutive_periods=2),
    conversion=Conversion(numerator=1, denominator=10),
    window=Window(kind=WINDOW_LAST_MARKET_DAY, market_days=DATONG_MARKET_DAYS, every_months=1),
    veto=VETO_CLEAR_AND_BAR_YEAR,
)

GAOYANG = Policy(
    name=N_("高阳镇乡风文明积分制"),
    preset="gaoyang",
    holder=HOLDER_HOUSEHOLD,
    points_per_yuan=1,
    spend=SPEND_BALANCE,
    reserved_base=100,
    base_grant=100,
    cycle=CYCLE_YEAR,
    period=PERIOD_QUARTER,
    window=Window(kind=WINDOW_MONTHS, months=(1, 4, 7, 10)),
)

ZHAILI = Policy(
    name=N_("寨里镇美德信用积分"),
    preset="zhaili",
    holder=HOLDER_INDIVIDUAL,
    points_per_yuan=1,
    spend=SPEND_QUOTA,
    cycle=CYCLE_ROLLING,
    period=PERIOD_QUARTER,
    tier_basis=TIER_BY_SCORE,
    tiers=(
        Tier(N_("三星级"), 70, 80, 50),
        Tier(N_("四星级"), 81, 90, 100),
        Tier(N_("五星级"), 91, 100, 150),
    ),
    window=Window(kind=WINDOW_ALWAYS),
    veto=VETO_ZERO_SCORE_PERIOD,
    restrictions=(
        Restriction(
            key="elder_canteen",
            label=N_("长者食堂免费就餐"),
            min_age=60,
            max_age=70,
            min_score=80,
            free=True,
        ),
    ),
)

# 羊亭 (004) shows household credit points "以金字塔形式直觀展現" but gives no levels: these three
# display levels (no quotas) are ours, by points earned; a village sets its own.
YANGTING = Policy(
    name=N_("羊亭镇信用积分"),
    preset="yangting",
    holder=HOLDER_HOUSEHOLD,
    points_per_yuan=1,
    spend=SPEND_BALANCE,
    cycle=CYCLE_ROLLING,
    period=PERIOD_QUARTER,
    tier_basis=TIER_BY_POINTS,
    tiers=(
        Tier(N_("塔基"), 0, 99),
        Tier(N_("塔身"), 100, 299),
        Tier(N_("塔尖"), 300, 999_999),
    ),
    window=Window(kind=WINDOW_ALWAYS),
)

PRESETS: dict[str, Policy] = {
    "datong": DATONG,
    "gaoyang": GAOYANG,
    "zhaili": ZHAILI,
    "yangting": YANGTING,
}


# The words jifen ships in its rule sets: Policy's default name, the presets' names, their tiers
# and restricted items. Pages show them in the reader's language (kiosk.formatting.rule_term);
# a name a village gives its own rules, tiers or items is shown as written.
SHIPPED_TERMS = frozenset(
    {
        N_("默认规则"),
        *(p.name for p in PRESETS.values()),
        *(t.name for p in PRESETS.values() for t in p.tiers),
        *(r.label for p in PRESETS.values() for r in p.restrictions),
    }
)


def preset(key: str) -> Policy:
    """The preset policy called ``key`` ("datong", "gaoyang", "zhaili", "yangting")."""
    try:
        return PRESETS[key]
    except (KeyError, TypeError):
        choices = Joined(list(PRESETS), WORD_SEPARATOR)
        raise NotFound(
            _("没有名为“%(key)s”的预设规则，可选：%(choices)s", key=key, choices=choices)
        ) from None


def preset_choices() -> list[dict[str, str]]:
    """[{"key", "name"}] of every preset, for pickers."""
    return [{"key": key, "name": p.name} for key, p in PRESETS.items()]
