"""Paged reads of the goods-and-money books, for the API a county platform calls.

The office pages read the same rows through the services beside this module (write-offs in
:mod:`inventory.adjustments`, counts in :mod:`inventory.stocktake`, donations in
:mod:`inventory.donations`); these functions add what a remote reader needs on top: a page of
rows with the total, goods lines of many donations in one query, and the names of the people
who did each step. Nothing here writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import sqlalchemy as sa

from inventory.models import ADJ_PENDING, StockAdjustment, StockMovement, Stocktake
from kiosk import auth
from kiosk.errors import NotFound
from kiosk.extensions import db
from kiosk.messages import _

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of rows and how many rows there are in all."""

    rows: list[T]
    total: int


def page_of(rows: Sequence[T], offset: int, limit: int) -> Page[T]:
    """A page of rows already read in full (a ledger over a bounded date range)."""
    return Page(list(rows[offset : offset + limit]), len(rows))


def _paged(stmt: Any, offset: int, limit: int) -> Page[Any]:
    total = db.session.scalar(
        sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())
    )
    return Page(list(db.session.scalars(stmt.offset(offset).limit(limit))), int(total or 0))


def adjustment_page(
    supermarket_id: int, *, status: str | None = None, offset: int = 0, limit: int = 50
) -> Page[StockAdjustment]:
    """Write-off requests (报损) in the office's order: pending first (oldest first), then the
    decided ones newest first."""
    stmt = sa.select(StockAdjustment).where(StockAdjustment.supermarket_id == supermarket_id)
    if status is not None:
        stmt = stmt.where(StockAdjustment.status == status)
    stmt = stmt.order_by(
        sa.case((StockAdjustment.status == ADJ_PENDING, 0), else_=1),
        sa.case(
            (StockAdjustment.status == ADJ_PENDING, StockAdjustment.id), else_=-StockAdjustment.id
        ),
    )
    return _paged(stmt, offset, limit)


def get_adjustment(supermarket_id: int, adjustment_id: int) -> StockAdjustment:
    """A write-off request of this supermarket, or NotFound."""
    row = db.session.get(StockAdjustment, adjustment_id)
    if row is None or row.supermarket_id != supermarket_id:
        raise NotFound(_("没有找到该报损申请"))
    return row


def stocktake_page(
    supermarket_id: int, *, status: str | None = None, offset: int = 0, limit: int = 50
) -> Page[Stocktake]:
    """The supermarket's counts (盘点), newest first, as the office's list shows them."""
    stmt = sa.select(Stocktake).where(Stocktake.supermarket_id == supermarket_id)
    if status is not None:
        stmt = stmt.where(Stocktake.status == status)
    return _paged(stmt.order_by(Stocktake.id.desc()), offset, limit)


def donation_goods(donation_ids: Iterable[int]) -> dict[int, list[StockMovement]]:
    """Goods donations' original stock lines (reversals left out), per donation, in one query."""
    ids = sorted(set(donation_ids))
    found: dict[int, list[StockMovement]] = {i: [] for i in ids}
    if not ids:
        return found
    rows = db.session.scalars(
        sa.select(StockMovement)
        .where(
            StockMovement.ref_type == "donation",
            StockMovement.ref_id.in_(ids),
            StockMovement.reverses_id.is_(None),
        )
        .order_by(StockMovement.id)
    )
    for movement in rows:
        if movement.ref_id is not None:  # (always: the query asked for these ids)
            found[movement.ref_id].append(movement)
    return found


def display_names(user_ids: Iterable[int | None]) -> dict[int, str]:
    """user id → the name the office shows for them (经办人), for the ids given."""
    return {uid: user.display_name for uid, user in auth.users_by_id(user_ids).items()}
