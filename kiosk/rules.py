"""The policy engine: may this household redeem this cart now, and why (or why not).

Pure functions of (account state, policy, moment): no database, no Flask. The redemption
service builds the state inside its transaction and enforces the decision; the counter, the
self-service screen and ``POST /api/v1/scan`` show the same decision and its reasons.

This is the seam the full rule sets (大同, 高阳, 寨里, 羊亭) plug into: for now a policy knows
points-per-yuan and the spendable balance; tiers, quotas, windows and vetoes add reasons here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Policy:
    """A supermarket's redemption rules."""

    points_per_yuan: int = 1

    def points_price(self, unit_cost_fen: int) -> int:
        """Points for one unit at cost price, rounded up to a whole point."""
        if unit_cost_fen <= 0:
            return 0
        # ceil(cost_fen * ppy / 100) in integers.
        return -(-unit_cost_fen * self.points_per_yuan // 100)


@dataclass(frozen=True)
class AccountState:
    """What the rules need to know about a household at a moment."""

    household_active: bool
    balance: int
    earned_total: int = 0


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

    @property
    def blocking_reason(self) -> Reason | None:
        return next((r for r in self.reasons if r.blocking), None)

    def to_dict(self) -> dict[str, object]:
        return {
            "may_redeem": self.may_redeem,
            "spendable": self.spendable,
            "quota_left": self.quota_left,
            "tier": self.tier,
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
