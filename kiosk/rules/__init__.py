"""The rules: may this household redeem this cart now, and why (or why not).

One package, a module per job:

- :mod:`~kiosk.rules.policy`: a supermarket's rules as data (:class:`Policy` and its parts);
- :mod:`~kiosk.rules.state`: what the rules know of a household (:class:`AccountState`) and
  the cart (:class:`CartItem`);
- :mod:`~kiosk.rules.periods` and :mod:`~kiosk.rules.windows`: assessment periods, dates, and
  when redemption is open;
- :mod:`~kiosk.rules.scores`: which score counts, tiers, 大同's conversion of scores to points;
- :mod:`~kiosk.rules.checks`: each rule as one small pure function, in the order they run;
- :mod:`~kiosk.rules.engine`: :func:`decide` runs the checks and returns a :class:`Decision`;
- :mod:`~kiosk.rules.reasons`: a :class:`Reason` is a code and parameters, its sentence
  rendered at the edge in the reader's language (Chinese by default);
- :mod:`~kiosk.rules.presets`: the four seed rule sets (大同, 高阳, 寨里, 羊亭);
- :mod:`~kiosk.rules.policy_io`: a policy to and from dicts and TOML, every field checked;
- :mod:`~kiosk.rules.standing`: the one place that reads the database for a decision;
- :mod:`~kiosk.rules.policies`: which policy a supermarket runs, changing it, previewing it.

Everything above ``standing`` is pure (no database, no clock) and is re-exported here; import
``presets``, ``policy_io``, ``standing`` and ``policies`` as modules.
"""

from kiosk.rules.engine import Decision, decide
from kiosk.rules.periods import (
    age_on,
    cn_date,
    is_period_key,
    next_period,
    period_bounds,
    period_key,
    period_label,
    previous_period,
    this_period_word,
)
from kiosk.rules.policy import (
    CYCLE_ROLLING,
    CYCLE_YEAR,
    HOLDER_HOUSEHOLD,
    HOLDER_INDIVIDUAL,
    PERIOD_MONTH,
    PERIOD_QUARTER,
    SPEND_BALANCE,
    SPEND_QUOTA,
    TIER_BY_POINTS,
    TIER_BY_SCORE,
    VETO_CLEAR_AND_BAR_YEAR,
    VETO_NONE,
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
from kiosk.rules.reasons import Reason
from kiosk.rules.scores import converted_points, tier_for, tier_reached, whole_points_due
from kiosk.rules.state import AccountState, Assessment, CartItem, MemberState, VetoRecord
from kiosk.rules.windows import last_market_day, window_status

__all__ = [
    "CYCLE_ROLLING",
    "CYCLE_YEAR",
    "HOLDER_HOUSEHOLD",
    "HOLDER_INDIVIDUAL",
    "PERIOD_MONTH",
    "PERIOD_QUARTER",
    "SPEND_BALANCE",
    "SPEND_QUOTA",
    "TIER_BY_POINTS",
    "TIER_BY_SCORE",
    "VETO_CLEAR_AND_BAR_YEAR",
    "VETO_NONE",
    "VETO_ZERO_SCORE_PERIOD",
    "WINDOW_ALWAYS",
    "WINDOW_LAST_MARKET_DAY",
    "WINDOW_MONTHS",
    "AccountState",
    "Assessment",
    "CartItem",
    "Conversion",
    "Decision",
    "Gate",
    "MemberState",
    "Policy",
    "Reason",
    "Restriction",
    "Tier",
    "VetoRecord",
    "Window",
    "age_on",
    "cn_date",
    "converted_points",
    "decide",
    "is_period_key",
    "last_market_day",
    "next_period",
    "period_bounds",
    "period_key",
    "period_label",
    "previous_period",
    "this_period_word",
    "tier_for",
    "tier_reached",
    "whole_points_due",
    "window_status",
]
