"""Accounting months (会计月) and their locks.

A month is the supermarket's local calendar month ("2026-10"). Once closed (月结), nothing may
be posted into it: every goods or money ledger write calls :func:`ensure_open` inside its
transaction, for the moment it posts at (now). A correction found later is posted in the next
open month, never backdated.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa

from inventory.models import MonthClose
from kiosk.clock import local_to_utc, utc_to_local
from kiosk.errors import MonthClosed
from kiosk.extensions import db
from kiosk.timeutil import utcnow


def month_key(moment_local: date | datetime) -> str:
    """ "2026-10" for any local date or time in October 2026."""
    return f"{moment_local.year:04d}-{moment_local.month:02d}"


def month_of(moment_utc: datetime) -> str:
    """The local month a naive-UTC timestamp falls in."""
    return month_key(utc_to_local(moment_utc))


def parse_month(value: str) -> tuple[int, int]:
    """(year, month) from "2026-10"; ValueError on anything else."""
    year_s, sep, month_s = value.partition("-")
    if not sep or len(year_s) != 4 or len(month_s) != 2:
        raise ValueError(value)
    year, month = int(year_s), int(month_s)
    if not 1 <= month <= 12:
        raise ValueError(value)
    return year, month


def next_month(value: str) -> str:
    year, month = parse_month(value)
    return f"{year + month // 12:04d}-{month % 12 + 1:02d}"


def previous_month(value: str) -> str:
    year, month = parse_month(value)
    return f"{year - (month == 1):04d}-{(month - 2) % 12 + 1:02d}"


def month_bounds_utc(value: str) -> tuple[datetime, datetime]:
    """[start, end) of a local month as naive-UTC timestamps, for range queries."""
    year, month = parse_month(value)
    start = datetime(year, month, 1)
    n_year, n_month = parse_month(next_month(value))
    end = datetime(n_year, n_month, 1)
    return local_to_utc(start), local_to_utc(end)


def is_closed(supermarket_id: int, month: str) -> bool:
    return (
        db.session.scalar(
            sa.select(MonthClose.id).where(
                MonthClose.supermarket_id == supermarket_id, MonthClose.month == month
            )
        )
        is not None
    )


def ensure_open(supermarket_id: int, moment_utc: datetime | None = None) -> str:
    """Refuse a posting into a closed month; return the month it posts into."""
    month = month_of(moment_utc or utcnow())
    if is_closed(supermarket_id, month):
        raise MonthClosed(month=month)
    return month


def last_closed_month(supermarket_id: int) -> str | None:
    """The latest closed month ("2026-10"), or None before the first close."""
    return db.session.scalar(
        sa.select(sa.func.max(MonthClose.month)).where(MonthClose.supermarket_id == supermarket_id)
    )


def first_month(supermarket_id: int) -> str:
    """The first month of the books: the supermarket's creation or its earliest posting,
    whichever is earlier (data brought in from paper may predate the supermarket's row)."""
    from inventory.models import FundAccount, FundEntry, Product, StockMovement
    from kiosk.models import Redemption, Supermarket

    candidates = [
        db.session.scalar(
            sa.select(Supermarket.created_at).where(Supermarket.id == supermarket_id)
        ),
        db.session.scalar(
            sa.select(sa.func.min(StockMovement.created_at))
            .join(Product, Product.id == StockMovement.product_id)
            .where(Product.supermarket_id == supermarket_id)
        ),
        db.session.scalar(
            sa.select(sa.func.min(FundEntry.created_at))
            .join(FundAccount, FundAccount.id == FundEntry.fund_account_id)
            .where(FundAccount.supermarket_id == supermarket_id)
        ),
        db.session.scalar(
            sa.select(sa.func.min(Redemption.created_at)).where(
                Redemption.supermarket_id == supermarket_id
            )
        ),
    ]
    moments = [m for m in candidates if m is not None]
    return month_of(min(moments)) if moments else month_of(utcnow())


def next_month_to_close(supermarket_id: int) -> str:
    """Months close in order: the one after the last closed month (or the first month)."""
    last = last_closed_month(supermarket_id)
    return next_month(last) if last is not None else first_month(supermarket_id)


def posting_month(supermarket_id: int, moment_utc: datetime | None = None) -> str:
    """The month a correction found at ``moment_utc`` is posted in: its own month while open,
    otherwise the first open month after it (never a closed, earlier one)."""
    month = month_of(moment_utc or utcnow())
    last = last_closed_month(supermarket_id)
    if last is not None and month <= last:
        return next_month(last)
    return month


def months_between(first: str, last: str) -> list[str]:
    """Every month from ``first`` to ``last`` inclusive, oldest first ([] if first > last)."""
    months = []
    month = first
    while month <= last:
        months.append(month)
        month = next_month(month)
    return months
