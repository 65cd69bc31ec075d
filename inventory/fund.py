"""The fund pool (基金池): cash donated in, purchases paid out, a balance equal to its entries.

:func:`post_entry` is the only way money moves; it runs inside the caller's write transaction
(a donation, a stock-in paid from the pool), locks the pool's row, refuses to go below zero
further than the supermarket's allowed advance, and keeps ``balance_fen`` beside its entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from inventory import periods
from inventory.models import FUND_KINDS, FundAccount, FundEntry
from kiosk import audit, permissions
from kiosk.database import lock, write_transaction
from kiosk.errors import FundInsufficient, NotFound, PermissionDenied, ValidationFailed
from kiosk.extensions import db
from kiosk.messages import _
from kiosk.models import Supermarket, User
from kiosk.timeutil import utcnow

# The largest advance a village may allow (fen): a typo of a few zeros is refused.
MAX_ADVANCE_FEN = 100_000_000  # 1,000,000 yuan


def _yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def locked_account(supermarket_id: int) -> FundAccount:
    """The supermarket's fund pool row, locked (created on first use)."""
    account = db.session.scalar(
        lock(sa.select(FundAccount).where(FundAccount.supermarket_id == supermarket_id))
    )
    if account is None:
        if db.session.get(Supermarket, supermarket_id) is None:
            raise NotFound(_("没有找到该超市"))
        # Two counters may both find no pool on the first donation: the second insert waits
        # for the first and then does nothing, and both lock the one row.
        values = {"supermarket_id": supermarket_id, "balance_fen": 0, "updated_at": utcnow()}
        first: sa.Executable
        if db.session.get_bind().dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            first = (
                pg_insert(FundAccount)
                .values(**values)
                .on_conflict_do_nothing(index_elements=["supermarket_id"])
            )
        else:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            first = (
                sqlite_insert(FundAccount)
                .values(**values)
                .on_conflict_do_nothing(index_elements=["supermarket_id"])
            )
        db.session.execute(first)
        account = db.session.scalars(
            lock(sa.select(FundAccount).where(FundAccount.supermarket_id == supermarket_id))
        ).one()
    return account


def post_entry(
    supermarket_id: int,
    kind: str,
    amount_fen: int,
    *,
    actor: User | None,
    ref_type: str = "",
    ref_id: int | None = None,
    reverses_id: int | None = None,
    note: str = "",
) -> FundEntry:
    """Append one fund entry and move the balance (inside the caller's write transaction)."""
    if kind not in FUND_KINDS:
        raise ValueError(f"unknown fund entry kind {kind!r}")
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool):
        raise TypeError("amount_fen must be an int")
    periods.ensure_open(supermarket_id)
    account = locked_account(supermarket_id)
    after = account.balance_fen + amount_fen
    if amount_fen < 0 and after < 0:
        limit = db.session.get_one(Supermarket, supermarket_id).fund_advance_limit_fen
        if after < -limit:
            raise FundInsufficient(
                _(
                    "基金池余额不足：现有%(balance)s元，需要支出%(needed)s元，允许垫支%(limit)s元",
                    balance=_yuan(account.balance_fen),
                    needed=_yuan(-amount_fen),
                    limit=_yuan(limit),
                ),
                balance_fen=account.balance_fen,
                needed_fen=-amount_fen,
                advance_limit_fen=limit,
            )
    account.balance_fen = after
    account.updated_at = utcnow()
    entry = FundEntry(
        fund_account_id=account.id,
        kind=kind,
        amount_fen=amount_fen,
        balance_after_fen=after,
        ref_type=ref_type,
        ref_id=ref_id,
        reverses_id=reverses_id,
        note=note,
        created_by_id=actor.id if actor is not None else None,
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def balance_fen(supermarket_id: int) -> int:
    """The pool's balance now (0 before the first entry)."""
    value = db.session.scalar(
        sa.select(FundAccount.balance_fen).where(FundAccount.supermarket_id == supermarket_id)
    )
    return value or 0


@dataclass(frozen=True)
class Ledger:
    """The pool's entries over a range of local days, with the balance before and after."""

    start: date
    end: date
    opening_fen: int
    closing_fen: int
    entries: list[FundEntry]

    @property
    def in_fen(self) -> int:
        return sum(e.amount_fen for e in self.entries if e.amount_fen > 0)

    @property
    def out_fen(self) -> int:
        return -sum(e.amount_fen for e in self.entries if e.amount_fen < 0)


def ledger(supermarket_id: int, start: date, end: date) -> Ledger:
    """The fund pool ledger (基金池台账) from local day ``start`` to ``end``, both included."""
    from kiosk.clock import local_to_utc

    if end < start:
        raise ValidationFailed(_("结束日期不能早于开始日期"))
    lo = local_to_utc(datetime(start.year, start.month, start.day))
    after = end + timedelta(days=1)
    hi = local_to_utc(datetime(after.year, after.month, after.day))
    account_id = db.session.scalar(
        sa.select(FundAccount.id).where(FundAccount.supermarket_id == supermarket_id)
    )
    if account_id is None:
        return Ledger(start, end, 0, 0, [])
    before = db.session.scalar(
        sa.select(FundEntry.balance_after_fen)
        .where(FundEntry.fund_account_id == account_id, FundEntry.created_at < lo)
        .order_by(FundEntry.created_at.desc(), FundEntry.id.desc())
        .limit(1)
    )
    entries = list(
        db.session.scalars(
            sa.select(FundEntry)
            .where(
                FundEntry.fund_account_id == account_id,
                FundEntry.created_at >= lo,
                FundEntry.created_at < hi,
            )
            .order_by(FundEntry.created_at, FundEntry.id)
        )
    )
    opening = before or 0
    closing = entries[-1].balance_after_fen if entries else opening
    return Ledger(start, end, opening, closing, entries)


def advance_limit_fen(supermarket_id: int) -> int:
    """How far below zero the pool may go (fen)."""
    supermarket = db.session.get(Supermarket, supermarket_id)
    if supermarket is None:
        raise NotFound(_("没有找到该超市"))
    return supermarket.fund_advance_limit_fen


def set_advance_limit(supermarket_id: int, limit_fen: int, *, actor: User | None) -> int:
    """Set the allowed advance (允许垫支额度, fen); admins only, audited with old and new.

    Refused below what the pool is already advanced: the books would break their own rule.
    """
    if actor is not None and not permissions.allows(actor, "fund.manage"):
        raise PermissionDenied(_("只有村委管理员可以设置垫支额度"))
    if not isinstance(limit_fen, int) or isinstance(limit_fen, bool):
        raise ValidationFailed(_("垫支额度必须是金额"))
    if not 0 <= limit_fen <= MAX_ADVANCE_FEN:
        raise ValidationFailed(_("垫支额度应在0到%(yuan)s元之间", yuan=_yuan(MAX_ADVANCE_FEN)))
    with write_transaction():
        account = locked_account(supermarket_id)
        supermarket = db.session.get_one(Supermarket, supermarket_id)
        if actor is not None and not permissions.works_for(actor, supermarket_id):
            raise PermissionDenied(_("不能设置其他超市的垫支额度"))
        if account.balance_fen < -limit_fen:
            raise ValidationFailed(
                _(
                    "基金池现已垫支%(yuan)s元，垫支额度不能低于这个数",
                    yuan=_yuan(-account.balance_fen),
                )
            )
        old = supermarket.fund_advance_limit_fen
        supermarket.fund_advance_limit_fen = limit_fen
        audit.record(
            "fund.advance_limit",
            supermarket,
            actor=actor,
            supermarket_id=supermarket_id,
            old_fen=old,
            new_fen=limit_fen,
        )
    return limit_fen


def find_entry(entry_id: int) -> FundEntry | None:
    """The fund pool entry with this id, or None."""
    return db.session.get(FundEntry, entry_id)
