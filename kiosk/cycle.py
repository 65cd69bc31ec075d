"""Year-end turnover (年终清零) for calendar-year policies (高阳 "积分以每年为一个周期，次年重新积分").

``close_cycle`` writes, per household, an "expiry" entry taking the balance to zero and, for
active households, a "base_grant" entry of the policy's base points for the next year
("每年赋予每户基础分100分"). Balances change only through those entries. A year is closed at
most once per supermarket (``CycleClose`` is unique on (supermarket, year), written first so a
concurrent second close waits on it and then finds it); a second call returns the first
result and writes nothing. A negative balance (deductions over the year) also lapses to zero:
the new year starts from the base for everyone.

A year may be closed once it has ended, or during its December (the committee closes the
books at year end).

A household that joins during the year gets that year's base when it is registered
(:func:`grant_joining_base`, called by the household services), not at the next year's close:
a household registered in May has its 100 base points in May. Every base grant carries the key
``base:<household id>:<year>``, so a year's base is granted to a household at most once: a close
skips the households that already hold the next year's base (they joined after the closed year
ended, so nothing of theirs lapses), and a household joining in December after its year was
closed gets the next year's base.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from kiosk import audit, clock
from kiosk.database import write_transaction
from kiosk.errors import NotFound, ValidationFailed
from kiosk.extensions import db
from kiosk.messages import _
from kiosk.models import (
    ACTIVE,
    ENTRY_BASE_GRANT,
    ENTRY_EXPIRY,
    CycleClose,
    Household,
    PointAccount,
    PointEntry,
    Supermarket,
    User,
)
from kiosk.points import locked_account, post_entry
from kiosk.rules import CYCLE_YEAR, Policy

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CycleResult:
    """What closing a year did (the same answer on every later call)."""

    supermarket_id: int
    year: int
    households: int
    expired_points: int
    granted_points: int
    closed_at: datetime
    closed_by_id: int | None

    def to_dict(self) -> dict[str, object]:
        return {
            "year": self.year,
            "households": self.households,
            "expired_points": self.expired_points,
            "granted_points": self.granted_points,
            "closed_at": self.closed_at.isoformat(),
        }


def _result(row: CycleClose) -> CycleResult:
    return CycleResult(
        supermarket_id=row.supermarket_id,
        year=row.year,
        households=row.households,
        expired_points=row.expired_points,
        granted_points=row.granted_points,
        closed_at=row.created_at,
        closed_by_id=row.created_by_id,
    )


def _closed(supermarket_id: int, year: int) -> CycleClose | None:
    return db.session.scalar(
        sa.select(CycleClose).where(
            CycleClose.supermarket_id == supermarket_id, CycleClose.year == year
        )
    )


def base_reason(year: int) -> str:
    """The reason on a year's base grant entry ("2025年度基础分")."""
    return f"{year}年度基础分"


def base_key(household_id: int, year: int) -> str:
    """The idempotency key of a household's base grant for ``year``."""
    return f"base:{household_id}:{year}"


def _granted(account_ids: list[int], year: int) -> set[int]:
    """Of ``account_ids``, the accounts that already hold ``year``'s base (by key, or by the
    reason of a grant written before grants carried keys)."""
    if not account_ids:
        return set()
    return set(
        db.session.scalars(
            sa.select(PointEntry.account_id).where(
                PointEntry.account_id.in_(account_ids),
                PointEntry.kind == ENTRY_BASE_GRANT,
                PointEntry.reason == base_reason(year),
            )
        )
    )


def joining_year(supermarket_id: int, policy: Policy, today: date) -> int | None:
    """The year whose base a household registered on ``today`` gets, or None when the policy
    grants no yearly base: this year, or the next one once this year has been closed."""
    if policy.cycle != CYCLE_YEAR or policy.base_grant <= 0:
        return None
    if _closed(supermarket_id, today.year) is not None:
        return today.year + 1
    return today.year


def grant_joining_base(
    households: list[Household], *, actor: User | None, today: date | None = None
) -> int:
    """Grant newly registered households the year's base points (高阳 "每年赋予每户基础分100分"),
    inside the caller's transaction; returns the points granted (0 under other policies).

    Each household of one supermarket; a household already holding the year's base (a second
    call) gets nothing. ``today`` is the local date (default :func:`kiosk.clock.local_now`).
    """
    from kiosk.rules.policies import policy_for

    homes = [h for h in households if h.status == ACTIVE]
    if not homes:
        return 0
    supermarket = db.session.get_one(Supermarket, homes[0].supermarket_id)
    policy = policy_for(supermarket)
    year = joining_year(supermarket.id, policy, today or clock.local_now().date())
    if year is None:
        return 0
    accounts = {
        a.household_id: a
        for a in db.session.scalars(
            sa.select(PointAccount).where(PointAccount.household_id.in_([h.id for h in homes]))
        )
    }
    done = _granted([a.id for a in accounts.values()], year)
    granted = 0
    for home in homes:
        account = accounts[home.id]
        if account.id in done:
            continue
        post_entry(
            account,
            ENTRY_BASE_GRANT,
            policy.base_grant,
            actor=actor,
            reason=base_reason(year),
            idempotency_key=base_key(home.id, year),
            counts_as_earned=True,
            flush=False,
        )
        audit.record(
            "cycle.base_grant",
            home,
            actor=actor,
            supermarket_id=supermarket.id,
            household_id=home.id,
            year=year,
            amount=policy.base_grant,
        )
        granted += policy.base_grant
    db.session.flush()
    return granted


def close_cycle(
    supermarket_id: int, year: int, *, actor: User | None, moment: datetime | None = None
) -> CycleResult:
    """Close ``year``: expiry + base grant entries per household; idempotent per year.

    ``moment`` is local wall-clock time (default :func:`kiosk.clock.local_now`).
    """
    from kiosk.rules.policies import policy_for

    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
        raise ValidationFailed(_("年份不正确，应为四位数字，例如 2024"))
    today = (moment or clock.local_now()).date()
    existing = _closed(supermarket_id, year)
    if existing is not None:
        return _result(existing)
    if year > today.year or (year == today.year and today.month < 12):
        raise ValidationFailed(_("%(year)s年还没有结束，不能年终清零（12月起可以办理）", year=year))
    try:
        with write_transaction():
            supermarket = db.session.get(Supermarket, supermarket_id)
            if supermarket is None:
                raise NotFound(_("没有找到该超市"))
            existing = _closed(supermarket_id, year)
            if existing is not None:
                return _result(existing)
            policy = policy_for(supermarket)
            if policy.cycle != CYCLE_YEAR:
                raise ValidationFailed(
                    _("本超市的规则（%(name)s）积分滚动结存，不需要年终清零", name=policy.name)
                )
            # The marker first: a concurrent close of the same year blocks here, then fails.
            row = CycleClose(
                supermarket_id=supermarket_id,
                year=year,
                created_by_id=actor.id if actor is not None else None,
            )
            db.session.add(row)
            db.session.flush()
            homes = db.session.scalars(
                sa.select(Household)
                .where(Household.supermarket_id == supermarket_id)
                .order_by(Household.id)
            ).all()
            # Households registered after the year ended hold next year's base already:
            # nothing of theirs belongs to the closed year.
            joined_later = _granted(
                list(
                    db.session.scalars(
                        sa.select(PointAccount.id)
                        .join(Household, Household.id == PointAccount.household_id)
                        .where(Household.supermarket_id == supermarket_id)
                    )
                ),
                year + 1,
            )
            expired = granted = 0
            for home in homes:
                account = locked_account(home.id)
                if account.id in joined_later:
                    continue
                if account.balance != 0:
                    expired += account.balance
                    post_entry(
                        account,
                        ENTRY_EXPIRY,
                        -account.balance,
                        actor=actor,
                        reason=f"{year}年度积分到期清零（次年重新积分）",
                        counts_as_earned=False,
                    )
                if home.status == ACTIVE and policy.base_grant > 0:
                    granted += policy.base_grant
                    post_entry(
                        account,
                        ENTRY_BASE_GRANT,
                        policy.base_grant,
                        actor=actor,
                        reason=base_reason(year + 1),
                        idempotency_key=base_key(home.id, year + 1),
                        counts_as_earned=True,
                    )
            row.households = len(homes) - len(joined_later)
            row.expired_points = expired
            row.granted_points = granted
            db.session.flush()
            audit.record(
                "cycle.close",
                row,
                actor=actor,
                supermarket_id=supermarket_id,
                year=year,
                households=row.households,
                expired_points=expired,
                granted_points=granted,
            )
            result = _result(row)
    except IntegrityError:
        db.session.rollback()
        existing = _closed(supermarket_id, year)
        if existing is None:
            raise
        return _result(existing)
    logger.info("closed year %s for supermarket %s", year, supermarket_id)
    return result
