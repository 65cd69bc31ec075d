"""The fund pool (基金池): cash donated in, purchases paid out, a balance equal to its entries.

:func:`post_entry` is the only way money moves; it runs inside the caller's write transaction
(a donation, a stock-in paid from the pool), locks the pool's row, refuses to go below zero
further than the supermarket's allowed advance, and keeps ``balance_fen`` beside its entries.
"""

from __future__ import annotations

import sqlalchemy as sa

from inventory import periods
from inventory.models import FUND_KINDS, FundAccount, FundEntry
from kiosk.database import lock
from kiosk.errors import FundInsufficient, NotFound
from kiosk.extensions import db
from kiosk.models import Supermarket, User
from kiosk.timeutil import utcnow


def locked_account(supermarket_id: int) -> FundAccount:
    """The supermarket's fund pool row, locked (created on first use)."""
    account = db.session.scalar(
        lock(sa.select(FundAccount).where(FundAccount.supermarket_id == supermarket_id))
    )
    if account is None:
        if db.session.get(Supermarket, supermarket_id) is None:
            raise NotFound("没有找到该超市")
        account = FundAccount(supermarket_id=supermarket_id, balance_fen=0)
        db.session.add(account)
        db.session.flush()
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
        limit = db.session.get(Supermarket, supermarket_id).fund_advance_limit_fen
        if after < -limit:
            raise FundInsufficient(
                balance_fen=account.balance_fen, needed_fen=-amount_fen, advance_limit_fen=limit
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
