"""What the rules know about a household at a moment, and the cart it brings.

:mod:`kiosk.rules.standing` reads these from the database; the engine only ever sees them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


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
    """A member as the age limits see them."""

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
