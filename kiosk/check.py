"""Integrity check of the books (``jifen check``): every snapshot equals its ledger.

Each check is one aggregate query, so it stays fast on a county's data. Balances equal the sum
of all entries of every kind; ``earned_total`` (the ranking basis) the sum of the earned kinds
(award, deduction, conversion, base grant — never redemption, reversal, veto clearing or
expiry). A redemption's ``spent_points`` is its total (balance policies) or 0 (quota
policies, 寨里), and its point entry, balance movement and void reversal follow
``spent_points``.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from inventory.donations import check_donations
from inventory.models import KIND_GOODS, FundAccount, FundEntry, Product, StockMovement
from inventory.monthend import check_problems as check_month_closes
from inventory.stock import check_stock_ins
from inventory.stocktake import check_problems as check_stocktakes
from kiosk.audit import check_chains
from kiosk.extensions import db
from kiosk.households import check_search_keys
from kiosk.intake import check_proposals
from kiosk.models import (
    EARNED_KINDS,
    ENTRY_KINDS,
    ENTRY_REDEMPTION,
    ENTRY_REVERSAL,
    REDEMPTION_VOIDED,
    PointAccount,
    PointEntry,
    Redemption,
    RedemptionLine,
    Supermarket,
)
from kiosk.notice import check_notices
from kiosk.problems import Problem

__all__ = ["CHECKS", "Problem", "run_checks"]


def run_checks() -> list[Problem]:
    """Every breach found; an empty list means the books are clean."""
    problems: list[Problem] = []
    for fn in CHECKS:
        problems.extend(fn())
    return problems


def _accounts() -> list[Problem]:
    sums = (
        sa.select(
            PointEntry.account_id,
            sa.func.sum(PointEntry.amount).label("total"),
            sa.func.sum(
                sa.case(
                    (PointEntry.kind.in_(EARNED_KINDS), PointEntry.amount),
                    else_=0,
                )
            ).label("earned"),
            sa.func.max(PointEntry.id).label("last_id"),
        )
        .group_by(PointEntry.account_id)
        .subquery()
    )
    rows = db.session.execute(
        sa.select(
            PointAccount.id,
            PointAccount.household_id,
            PointAccount.balance,
            PointAccount.earned_total,
            sa.func.coalesce(sums.c.total, 0),
            sa.func.coalesce(sums.c.earned, 0),
            PointEntry.balance_after,
        )
        .outerjoin(sums, sums.c.account_id == PointAccount.id)
        .outerjoin(PointEntry, PointEntry.id == sums.c.last_id)
        .where(
            sa.or_(
                PointAccount.balance != sa.func.coalesce(sums.c.total, 0),
                PointAccount.earned_total != sa.func.coalesce(sums.c.earned, 0),
                sa.and_(
                    PointEntry.id.is_not(None), PointEntry.balance_after != PointAccount.balance
                ),
            )
        )
    )
    return [
        Problem(
            "points",
            f"account {acc} (household {hh})",
            f"balance {bal} but entries sum to {total}; earned {earned} vs {esum}; "
            f"last entry's balance_after {after}",
        )
        for acc, hh, bal, earned, total, esum, after in rows
    ]


def _entry_kinds() -> list[Problem]:
    rows = db.session.execute(
        sa.select(PointEntry.kind, sa.func.count(PointEntry.id))
        .where(PointEntry.kind.not_in(ENTRY_KINDS))
        .group_by(PointEntry.kind)
    )
    return [
        Problem("points", f"entry kind {kind!r}", f"{count} entries of an unknown kind")
        for kind, count in rows
    ]


def _stock() -> list[Problem]:
    sums = (
        sa.select(StockMovement.product_id, sa.func.sum(StockMovement.quantity).label("total"))
        .group_by(StockMovement.product_id)
        .subquery()
    )
    total = sa.func.coalesce(sums.c.total, 0)
    rows = db.session.execute(
        sa.select(Product.id, Product.sku, Product.stock_qty, total)
        .outerjoin(sums, sums.c.product_id == Product.id)
        .where(
            sa.or_(
                Product.stock_qty != total,
                sa.and_(Product.kind == KIND_GOODS, Product.stock_qty < 0),
            )
        )
    )
    return [
        Problem("stock", f"product {pid} ({sku})", f"stock {qty} but movements sum to {tot}")
        for pid, sku, qty, tot in rows
    ]


def _fund() -> list[Problem]:
    sums = (
        sa.select(
            FundEntry.fund_account_id,
            sa.func.sum(FundEntry.amount_fen).label("total"),
            sa.func.max(FundEntry.id).label("last_id"),
        )
        .group_by(FundEntry.fund_account_id)
        .subquery()
    )
    last = aliased(FundEntry)
    total = sa.func.coalesce(sums.c.total, 0)
    rows = db.session.execute(
        sa.select(
            FundAccount.supermarket_id,
            FundAccount.balance_fen,
            total,
            last.balance_after_fen,
            Supermarket.fund_advance_limit_fen,
        )
        .join(Supermarket, Supermarket.id == FundAccount.supermarket_id)
        .outerjoin(sums, sums.c.fund_account_id == FundAccount.id)
        .outerjoin(last, last.id == sums.c.last_id)
    )
    problems = []
    for sid, bal, tot, last_after, limit in rows:
        subject = f"fund pool of supermarket {sid}"
        if bal != tot:
            problems.append(Problem("fund", subject, f"balance {bal} but entries sum to {tot}"))
        if last_after is not None and last_after != bal:
            problems.append(
                Problem("fund", subject, f"balance {bal} but last entry says {last_after}")
            )
        if bal < -limit:
            problems.append(Problem("fund", subject, f"balance {bal} below advance -{limit}"))
    return problems


def _redemptions() -> list[Problem]:
    problems = []
    line_sums = (
        sa.select(
            RedemptionLine.redemption_id, sa.func.sum(RedemptionLine.line_points).label("pts")
        )
        .group_by(RedemptionLine.redemption_id)
        .subquery()
    )
    entry_sums = (
        sa.select(
            PointEntry.redemption_id,
            sa.func.sum(
                sa.case((PointEntry.kind == ENTRY_REDEMPTION, PointEntry.amount), else_=0)
            ).label("spent"),
            sa.func.sum(
                sa.case((PointEntry.kind == ENTRY_REVERSAL, PointEntry.amount), else_=0)
            ).label("reversed"),
        )
        .where(PointEntry.redemption_id.is_not(None))
        .group_by(PointEntry.redemption_id)
        .subquery()
    )
    spent = sa.func.coalesce(entry_sums.c.spent, 0)
    reversed_ = sa.func.coalesce(entry_sums.c.reversed, 0)
    rows = db.session.execute(
        sa.select(
            Redemption.receipt_no,
            Redemption.total_points,
            Redemption.spent_points,
            sa.func.coalesce(line_sums.c.pts, 0),
            spent,
            reversed_,
            Redemption.status,
        )
        .outerjoin(line_sums, line_sums.c.redemption_id == Redemption.id)
        .outerjoin(entry_sums, entry_sums.c.redemption_id == Redemption.id)
        .where(
            sa.or_(
                Redemption.total_points != sa.func.coalesce(line_sums.c.pts, 0),
                Redemption.spent_points.not_in([0, Redemption.total_points]),
                spent != -Redemption.spent_points,
                Redemption.balance_after != Redemption.balance_before - Redemption.spent_points,
                sa.and_(
                    Redemption.status == REDEMPTION_VOIDED, reversed_ != Redemption.spent_points
                ),
                sa.and_(Redemption.status != REDEMPTION_VOIDED, reversed_ != 0),
            )
        )
    )
    for no, total, spent_points, lines, spent_, rev, status in rows:
        problems.append(
            Problem(
                "redemption",
                f"receipt {no}",
                f"total {total}, spent {spent_points}, lines {lines}, points entry {spent_}, "
                f"reversal {rev}, {status}",
            )
        )
    return problems


def _receipt_numbers() -> list[Problem]:
    rows = db.session.execute(
        sa.select(
            Supermarket.code,
            Supermarket.next_receipt_no,
            sa.func.count(Redemption.id),
        )
        .outerjoin(Redemption, Redemption.supermarket_id == Supermarket.id)
        .group_by(Supermarket.id, Supermarket.code, Supermarket.next_receipt_no)
    )
    return [
        Problem(
            "receipts",
            f"supermarket {code}",
            f"{count} redemptions but numbers 1..{nxt - 1} issued (numbering has a gap)",
        )
        for code, nxt, count in rows
        if count != nxt - 1
    ]


# Every check ``jifen check`` runs, in order.
CHECKS = [
    _accounts,
    _entry_kinds,
    _stock,
    _fund,
    _redemptions,
    _receipt_numbers,
    check_chains,
    check_stocktakes,
    check_donations,
    check_month_closes,
    check_search_keys,
    check_stock_ins,
    check_proposals,
    check_notices,
]
