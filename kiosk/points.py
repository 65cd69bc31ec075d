"""The points ledger: awards, deductions and reversals, each an append-only entry.

``PointAccount.balance`` is a snapshot that changes only in :func:`post_entry`, in the same
transaction as the entry it reflects.

A person's award or deduction (the office, an import, the API, an objection's correction)
never comes straight here: it is a proposal (:mod:`kiosk.intake`) that posts its entry only
when a second admin approves it. Entries
posted directly are the rules' own (conversion, veto, year close, base grant, expiry),
redemptions and their voids, and the generated data of the demo and scale villages
(:func:`award_points` / :func:`deduct_points`, also the tests' factories).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa

from kiosk import audit
from kiosk.database import lock, write_transaction
from kiosk.errors import IdempotencyConflict, NotFound, ValidationFailed
from kiosk.extensions import db
from kiosk.messages import _
from kiosk.models import (
    ENTRY_AWARD,
    ENTRY_DEDUCTION,
    Household,
    PointAccount,
    PointEntry,
    PointProposal,
    User,
)
from kiosk.timeutil import utcnow

MAX_ADJUSTMENT = 1_000_000


def locked_account(household_id: int) -> PointAccount:
    """The household's account, row-locked for this transaction."""
    account = db.session.scalar(
        lock(sa.select(PointAccount).where(PointAccount.household_id == household_id))
    )
    if account is None:
        raise NotFound(_("没有找到该户的积分账户"))
    return account


def post_entry(
    account: PointAccount,
    kind: str,
    amount: int,
    *,
    actor: User | None,
    reason: str = "",
    redemption_id: int | None = None,
    reverses_id: int | None = None,
    idempotency_key: str | None = None,
    counts_as_earned: bool | None = None,
    flush: bool = True,
) -> PointEntry:
    """Append an entry and move the balance snapshot with it (caller holds the lock).

    ``flush=False`` leaves the entry to the caller's next flush (when its id is not needed).
    """
    account.balance += amount
    if counts_as_earned is None:
        counts_as_earned = kind in (ENTRY_AWARD, ENTRY_DEDUCTION)
    if counts_as_earned:
        account.earned_total += amount
    account.updated_at = utcnow()
    entry = PointEntry(
        account_id=account.id,
        kind=kind,
        amount=amount,
        balance_after=account.balance,
        reason=reason,
        redemption_id=redemption_id,
        reverses_id=reverses_id,
        idempotency_key=idempotency_key,
        created_by_id=actor.id if actor is not None else None,
    )
    db.session.add(entry)
    if flush:
        db.session.flush()
    return entry


def award_points(
    household_id: int,
    amount: int,
    *,
    reason: str,
    actor: User | None,
    idempotency_key: str | None = None,
) -> PointEntry:
    """Award points (positive) to a household at once, with no second signature: for generated
    data (demo, scale, tests) only. A retry with the same key returns the entry."""
    return _adjust(household_id, ENTRY_AWARD, amount, reason, actor, idempotency_key)


def deduct_points(
    household_id: int,
    amount: int,
    *,
    reason: str,
    actor: User | None,
    idempotency_key: str | None = None,
) -> PointEntry:
    """Deduct points at once, with no second signature: for generated data only (a person's
    deduction is a proposal). The balance may go below zero; redemption never spends below
    zero."""
    return _adjust(household_id, ENTRY_DEDUCTION, -amount, reason, actor, idempotency_key)


def _adjust(
    household_id: int,
    kind: str,
    amount: int,
    reason: str,
    actor: User | None,
    idempotency_key: str | None,
) -> PointEntry:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount == 0:
        raise ValidationFailed(_("积分必须是非零整数"))
    if abs(amount) > MAX_ADJUSTMENT:
        raise ValidationFailed(_("单次调整积分过大"))
    if (kind == ENTRY_AWARD) != (amount > 0):
        raise ValidationFailed(_("积分必须是正整数"))
    if not (reason or "").strip():
        raise ValidationFailed(_("请填写加减分原因"))
    with write_transaction():
        household = db.session.get(Household, household_id)
        if household is None:
            raise NotFound(_("没有找到该户"))
        account = locked_account(household_id)
        if idempotency_key:
            existing = db.session.scalar(
                sa.select(PointEntry).where(PointEntry.idempotency_key == idempotency_key)
            )
            if existing is not None:
                if (existing.account_id, existing.kind, existing.amount) != (
                    account.id,
                    kind,
                    amount,
                ):
                    raise IdempotencyConflict()
                return existing
        entry = post_entry(
            account,
            kind,
            amount,
            actor=actor,
            reason=reason.strip(),
            idempotency_key=idempotency_key,
        )
        audit.record(
            f"points.{kind}",
            entry,
            actor=actor,
            supermarket_id=household.supermarket_id,
            household_id=household_id,
            amount=amount,
            reason=reason.strip(),
        )
    return entry


def history(household_id: int, limit: int = 20) -> list[PointEntry]:
    """A household's most recent entries, newest first."""
    return list(
        db.session.scalars(
            sa.select(PointEntry)
            .join(PointAccount, PointAccount.id == PointEntry.account_id)
            .where(PointAccount.household_id == household_id)
            .order_by(PointEntry.id.desc())
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class EntryEvent:
    """When and where the event behind an entry happened (its approved proposal's 时间、地点)."""

    proposal_id: int
    occurred_on: date
    occurred_at: datetime | None  # UTC, when the recorder gave the time
    place: str


def entry_events(entry_ids: list[int]) -> dict[int, EntryEvent]:
    """The event of each entry posted by approving a proposal (key ``proposal-<id>``), by
    entry id, in one query; entries the rules or redemptions posted have none."""
    if not entry_ids:
        return {}
    rows = db.session.execute(
        sa.select(
            PointProposal.entry_id,
            PointProposal.id,
            PointProposal.occurred_on,
            PointProposal.occurred_at,
            PointProposal.place,
        )
        .join(PointEntry, PointEntry.id == PointProposal.entry_id)
        .where(
            PointProposal.entry_id.in_(entry_ids),
            PointEntry.idempotency_key
            == sa.literal("proposal-") + sa.cast(PointProposal.id, sa.String),
        )
    )
    return {
        entry_id: EntryEvent(proposal_id, day, at, place or "")
        for entry_id, proposal_id, day, at, place in rows
        if entry_id is not None  # always, by the query's IN; said so for the type checker
    }
