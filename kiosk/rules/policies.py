"""Which rule set a supermarket runs, changing it, and previewing its effect.

The policy is stored on the supermarket as the dict of
:func:`kiosk.rules.policy_io.policy_to_dict`
(``Supermarket.policy``); a supermarket without one runs the default :class:`Policy` at its
points-per-yuan rate. Changing the rate reprices every product (points price = ceil(cost in
fen × points per yuan / 100)) in the same transaction. :func:`preview` shows a committee every
household's decision under a policy on a chosen day before they switch to it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time

import sqlalchemy as sa

from inventory.models import Product
from kiosk import audit
from kiosk.database import lock, write_transaction
from kiosk.errors import NotFound, ValidationFailed
from kiosk.extensions import db
from kiosk.messages import _
from kiosk.models import Household, Supermarket, User
from kiosk.rules import standing
from kiosk.rules.engine import Decision, decide
from kiosk.rules.policy import Policy
from kiosk.rules.policy_io import policy_from_dict, policy_to_dict

logger = logging.getLogger(__name__)

# A previewed day is judged at noon local time, when a supermarket is open.
PREVIEW_TIME = time(12, 0)


def policy_for(supermarket: Supermarket) -> Policy:
    """The policy the supermarket runs (the default one when none is set)."""
    if supermarket.policy:
        return policy_from_dict(supermarket.policy)
    return Policy(points_per_yuan=supermarket.points_per_yuan)


def set_policy(supermarket_id: int, policy: Policy, *, actor: User | None) -> Policy:
    """Make ``policy`` the supermarket's rule set (audited); reprice products on a new rate."""
    if not isinstance(policy, Policy):
        raise ValidationFailed(_("规则格式不正确"))
    data = policy_to_dict(policy)
    policy = policy_from_dict(data)  # validates every field, with a Chinese message
    with write_transaction():
        supermarket = db.session.scalar(
            lock(sa.select(Supermarket).where(Supermarket.id == supermarket_id))
        )
        if supermarket is None:
            raise NotFound(_("没有找到该超市"))
        before = policy_for(supermarket)
        repriced = 0
        if supermarket.points_per_yuan != policy.points_per_yuan:
            products = db.session.scalars(
                lock(
                    sa.select(Product)
                    .where(Product.supermarket_id == supermarket_id)
                    .order_by(Product.id)
                )
            )
            for product in products:
                price = policy.points_price(product.unit_cost_fen)
                if product.points_price != price:
                    product.points_price = price
                    repriced += 1
        supermarket.policy = data
        supermarket.points_per_yuan = policy.points_per_yuan
        audit.record(
            "policy.set",
            supermarket,
            actor=actor,
            supermarket_id=supermarket.id,
            before=before.name,
            before_preset=before.preset,
            name=policy.name,
            preset=policy.preset,
            policy=data,
            repriced=repriced,
        )
    logger.info("supermarket %s now runs policy %s", supermarket_id, policy.name)
    return policy


@dataclass(frozen=True)
class Standing:
    """One household's position under a policy on a day."""

    household_id: int
    number: str
    head_name: str
    balance: int
    earned_total: int
    decision: Decision


def preview(supermarket_id: int, policy: Policy, on: date) -> list[Standing]:
    """Every household's decision under ``policy`` on ``on`` (at noon, local), by number."""
    if not isinstance(on, date) or isinstance(on, datetime):
        raise ValidationFailed(_("日期格式不正确，应为 YYYY-MM-DD"))
    if db.session.get(Supermarket, supermarket_id) is None:
        raise NotFound(_("没有找到该超市"))
    moment = datetime.combine(on, PREVIEW_TIME)
    homes = db.session.scalars(
        sa.select(Household)
        .where(Household.supermarket_id == supermarket_id)
        .order_by(Household.number)
    )
    out = []
    for home in homes:
        state = standing.account_state(home, policy, moment)
        out.append(
            Standing(
                household_id=home.id,
                number=home.number,
                head_name=home.head_name,
                balance=state.balance,
                earned_total=state.earned_total,
                decision=decide(state, policy, moment),
            )
        )
    return out
