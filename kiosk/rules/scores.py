"""Scores, tiers and conversion: which score counts for a household or member, which tier it
reaches (寨里's stars, 羊亭's pyramid), and how 大同 turns scores into points."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from fractions import Fraction

from kiosk.rules.periods import is_period_key, period_key
from kiosk.rules.policy import (
    HOLDER_HOUSEHOLD,
    HOLDER_INDIVIDUAL,
    VETO_ZERO_SCORE_PERIOD,
    Conversion,
    Policy,
    Tier,
)
from kiosk.rules.state import AccountState


def tier_for(value: int | Fraction, tiers: tuple[Tier, ...] | list[Tier]) -> Tier | None:
    """The tier whose range [min_value, max_value] (both inclusive) holds ``value``."""
    return next((t for t in tiers if t.min_value <= value <= t.max_value), None)


def tier_reached(value: Fraction, tiers: tuple[Tier, ...]) -> Tier | None:
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


@dataclass(frozen=True)
class HolderScore:
    """The score that counts for one holder (household or member) in the current period."""

    member_id: int | None
    period: str | None = None
    score: int | None = None
    disqualified_on: date | None = None
    tier: Tier | None = None

    @property
    def disqualified(self) -> bool:
        """Disqualified (取消资格) for the period whose score counts."""
        return self.disqualified_on is not None


def score_history(
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


def member_ids(state: AccountState) -> list[int]:
    """Every member the rules know of: the active ones, then any with a score only."""
    ids = [m.member_id for m in state.members]
    for a in state.assessments:
        if a.member_id is not None and a.member_id not in ids:
            ids.append(a.member_id)
    return ids


def _holder_score(
    state: AccountState, policy: Policy, member_id: int | None, today: date, current: str
) -> HolderScore:
    scores, disqualified = score_history(state, policy, member_id, today)
    # The score that counts: the latest assessed period not after the current one.
    past = [k for k in scores if k <= current]
    if not past:
        return HolderScore(member_id)
    latest = max(past)
    dq = disqualified.get(latest)
    score = scores[latest]
    tier = None if dq else tier_for(score, policy.tiers)
    return HolderScore(member_id, latest, score, dq, tier)


def holder_scores(
    state: AccountState, policy: Policy, today: date, current: str
) -> list[HolderScore]:
    """The score that counts for each holder: each member (寨里), or the household."""
    if policy.holder == HOLDER_INDIVIDUAL:
        return [_holder_score(state, policy, m, today, current) for m in member_ids(state)]
    return [_holder_score(state, policy, None, today, current)]


def gate_series(state: AccountState, policy: Policy, today: date) -> dict[str, Fraction]:
    """The household's score per period (under HOLDER_INDIVIDUAL: the members' average)."""
    if policy.holder == HOLDER_HOUSEHOLD:
        scores, _ = score_history(state, policy, None, today)
        return {k: Fraction(v) for k, v in scores.items()}
    by_period: dict[str, list[int]] = {}
    for member_id in member_ids(state):
        scores, _ = score_history(state, policy, member_id, today)
        for k, v in scores.items():
            by_period.setdefault(k, []).append(v)
    return {k: Fraction(sum(v), len(v)) for k, v in by_period.items()}


def tier_rank(policy: Policy, name: str | None) -> int:
    """A tier's place in the policy's list (-1 for an unknown name), for "this tier or above"."""
    names = [t.name for t in policy.tiers]
    return names.index(name) if name in names else -1
