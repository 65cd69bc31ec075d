"""The decision: may this household redeem (this cart) now, and why (or why not).

:func:`decide` runs the checks of :mod:`kiosk.rules.checks` in order on an
:class:`~kiosk.rules.state.AccountState`, a :class:`~kiosk.rules.policy.Policy` and a local
moment; no database, no clock. The redemption service enforces the :class:`Decision`; the
counter, the self-service screen, the preview and ``POST /api/v1/scan`` show its reasons.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime

from kiosk.rules.checks import CHECKS, Ruling
from kiosk.rules.periods import period_key
from kiosk.rules.policy import CYCLE_YEAR, Policy
from kiosk.rules.reasons import Reason, Term
from kiosk.rules.state import AccountState, CartItem


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
        """The first reason that stops the redemption, if any."""
        return next((r for r in self.reasons if r.blocking), None)

    def to_dict(self) -> dict[str, object]:
        """The decision as JSON, its reasons rendered in the request's language."""
        return {
            "may_redeem": self.may_redeem,
            "spendable": self.spendable,
            "quota_left": self.quota_left,
            "tier": self.tier,
            "tier_label": Term(self.tier).render() if self.tier is not None else None,
            "next_open": self.next_open.isoformat() if self.next_open else None,
            "reasons": [r.to_dict() for r in self.reasons],
        }


def decide(
    state: AccountState,
    policy: Policy,
    moment: datetime | date,
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
    ruling = Ruling.start(state, policy, today, tuple(cart) if cart is not None else None)
    for check in CHECKS:
        check(ruling)
        if ruling.stopped:
            return Decision(False, 0, ruling.reasons)
    reasons = ruling.reasons
    next_open = ruling.next_open
    if (
        next_open is not None
        and look_ahead
        and not _redeemable_on(state, policy, moment, next_open)
    ):
        next_open = None
        if ruling.veto_at is not None and ruling.veto_undated is not None:
            reasons[ruling.veto_at] = ruling.veto_undated
    return Decision(
        may_redeem=not any(r.blocking for r in reasons),
        spendable=0 if ruling.barred else max(0, ruling.spendable),
        reasons=reasons,
        quota_left=ruling.quota_left,
        tier=ruling.tier_name,
        next_open=next_open,
        charged=ruling.charged,
    )


def _redeemable_on(state: AccountState, policy: Policy, moment: datetime | date, day: date) -> bool:
    """Whether the household, as things stand now, may redeem on ``day`` (its next opening):
    a new period starts with its quota unused, and a new calendar-year cycle with the base."""
    today = moment.date() if isinstance(moment, datetime) else moment
    if period_key(day, policy.period) != period_key(today, policy.period):
        state = replace(state, used_this_period=0, restricted_used=())
    if policy.cycle == CYCLE_YEAR and day.year > today.year:
        state = replace(state, balance=max(0, policy.base_grant))
    at = datetime.combine(day, moment.time()) if isinstance(moment, datetime) else day
    return decide(state, policy, at, look_ahead=False).may_redeem
