"""Month-end close (月结): the monthly reconciliation report and the month lock.

The report ties the books of one local month together:

- **stock** per product: opening, in (purchases, donations in kind), out (redemptions, voids
  back in), adjustments (报损), count variances (盘点), closing book, what was counted;
  every value is the *ledger's value*, Σ quantity × unit cost of the movements;
- the **fund pool** (基金池): opening, donations in, purchases out, reversals, closing;
- the **tie-out**: points charged in the month (net of voids) at the policy's rate against the
  cost of the goods and services issued, with every difference explained (whole-point
  rounding, free restricted items, prices not at the current rate, ledger timing).

Everything is computed with grouped aggregate queries (a handful per month, whatever the
number of movements). The opening of a month whose previous month is closed is that close's
stored closing, so a month's report reads only the month's own rows.

:func:`close_month` stores the report as :class:`inventory.models.MonthClose` (a closed month
reads the same forever) and locks the month (:func:`inventory.periods.ensure_open`).
See docs/month-end.md.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from inventory import periods
from inventory.models import (
    COUNT_APPROVED,
    COUNT_POSTED,
    COUNT_UNPOSTED,
    FUND_DONATION,
    FUND_PURCHASE,
    FUND_REVERSAL,
    KIND_GOODS,
    MOVE_ADJUSTMENT,
    MOVE_COUNT,
    MOVE_DONATION_IN,
    MOVE_REDEMPTION,
    MOVE_STOCK_IN,
    MOVE_VOID_RETURN,
    FundAccount,
    FundEntry,
    MonthClose,
    Product,
    StockMovement,
    Stocktake,
    StocktakeLine,
)
from inventory.products import policy_for
from inventory.stock import moving_average
from kiosk import audit, standing
from kiosk.database import write_transaction
from kiosk.errors import MonthCloseRefused, NotFound, PermissionDenied, ValidationFailed
from kiosk.extensions import db
from kiosk.models import ROLE_ADMIN, Redemption, RedemptionLine, Supermarket, User
from kiosk.timeutil import utcnow

REPORT_VERSION = 1

# Per-product figures: (quantity, value in fen) pairs by movement kind, as the report names them.
FLOW_KINDS = {
    MOVE_STOCK_IN: "purchase",
    MOVE_DONATION_IN: "donation",
    MOVE_REDEMPTION: "redeemed",
    MOVE_VOID_RETURN: "void",
    MOVE_ADJUSTMENT: "adjustment",
    MOVE_COUNT: "count",
}
# Numeric columns of a product line (and of the stock totals).
STOCK_FIELDS = (
    "opening_qty",
    "opening_value",
    "purchase_qty",
    "purchase_value",
    "donation_qty",
    "donation_value",
    "redeemed_qty",
    "redeemed_value",
    "void_qty",
    "void_value",
    "adjustment_qty",
    "adjustment_value",
    "count_qty",
    "count_value",
    "closing_qty",
    "closing_value",
    "value_at_average",
    "average_difference",
)
IN_KINDS = (MOVE_STOCK_IN, MOVE_DONATION_IN)

# Tie-out line categories (see docs/month-end.md).
CAT_RATE = "rate"  # charged at ceil(cost × rate): the difference is whole-point rounding
CAT_FREE = "free"  # a free restricted item (长者食堂): cost issued, no points
CAT_OTHER = "other"  # charged at another price (the rate or the policy changed meanwhile)


def _round_div(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half away from zero, in integers."""
    sign = -1 if (numerator < 0) != (denominator < 0) else 1
    n, d = abs(numerator), abs(denominator)
    return sign * ((2 * n + d) // (2 * d))


def _check_month(month: str) -> str:
    try:
        periods.parse_month(month)
    except (ValueError, TypeError):
        raise ValidationFailed("月份格式应为 2026-10 这样的年-月") from None
    return month


# ---- the report ----------------------------------------------------------------------------


def build_report(supermarket_id: int, month: str) -> dict[str, Any]:
    """The reconciliation report of one month, computed from the ledgers now (a dict that is
    stored as is when the month closes)."""
    _check_month(month)
    supermarket = db.session.get(Supermarket, supermarket_id)
    if supermarket is None:
        raise NotFound("没有找到该超市")
    policy = policy_for(supermarket)
    start, end = periods.month_bounds_utc(month)
    previous = _stored_report(supermarket_id, periods.previous_month(month))

    products = _stock_lines(supermarket_id, start, end, previous)
    stock_totals = {f: sum(line[f] for line in products) for f in STOCK_FIELDS}
    stock_totals["counted_value"] = sum(line["counted_value"] or 0 for line in products)
    fund = _fund(supermarket_id, start, end, previous)
    tieout = _tieout(supermarket_id, start, end, policy.points_per_yuan, stock_totals)
    tieout["spend"] = policy.spend
    return {
        "version": REPORT_VERSION,
        "month": month,
        "supermarket": {"id": supermarket.id, "code": supermarket.code, "name": supermarket.name},
        "generated_at": utcnow().isoformat(timespec="seconds"),
        "from_utc": start.isoformat(),
        "to_utc": end.isoformat(),
        "opening_from": "close" if previous is not None else "ledger",
        "products": products,
        "stock_totals": stock_totals,
        "fund": fund,
        "tieout": tieout,
        "counts": _counts(supermarket_id, start, end),
    }


def _stored_report(supermarket_id: int, month: str) -> dict[str, Any] | None:
    report = db.session.scalar(
        sa.select(MonthClose.report).where(
            MonthClose.supermarket_id == supermarket_id, MonthClose.month == month
        )
    )
    if report and report.get("version") == REPORT_VERSION:
        return report
    return None


def _stock_lines(
    supermarket_id: int, start: datetime, end: datetime, previous: dict | None
) -> list[dict[str, Any]]:
    value = StockMovement.quantity * StockMovement.unit_cost_fen
    in_month = sa.and_(StockMovement.created_at >= start, StockMovement.created_at < end)
    flows: dict[int, dict[str, int]] = defaultdict(dict)
    rows = db.session.execute(
        sa.select(
            StockMovement.product_id,
            StockMovement.kind,
            sa.func.sum(StockMovement.quantity),
            sa.func.sum(value),
        )
        .join(Product, Product.id == StockMovement.product_id)
        .where(Product.supermarket_id == supermarket_id, in_month)
        .group_by(StockMovement.product_id, StockMovement.kind)
    )
    for pid, kind, qty, val in rows:
        name = FLOW_KINDS.get(kind, "adjustment")
        flows[pid][name + "_qty"] = flows[pid].get(name + "_qty", 0) + int(qty or 0)
        flows[pid][name + "_value"] = flows[pid].get(name + "_value", 0) + int(val or 0)

    opening: dict[int, tuple[int, int]] = {}
    if previous is not None:
        for line in previous["products"]:
            opening[line["product_id"]] = (line["closing_qty"], line["closing_value"])
    else:
        rows = db.session.execute(
            sa.select(
                StockMovement.product_id, sa.func.sum(StockMovement.quantity), sa.func.sum(value)
            )
            .join(Product, Product.id == StockMovement.product_id)
            .where(Product.supermarket_id == supermarket_id, StockMovement.created_at < start)
            .group_by(StockMovement.product_id)
        )
        opening = {pid: (int(q or 0), int(v or 0)) for pid, q, v in rows}

    ids = sorted(set(flows) | {pid for pid, (q, v) in opening.items() if q or v})
    if not ids:
        return []
    products = {p.id: p for p in db.session.scalars(sa.select(Product).where(Product.id.in_(ids)))}
    averages = _average_costs_at(supermarket_id, ids, end, products)
    counted = _counted(supermarket_id, start, end)
    lines = []
    for pid in sorted(ids, key=lambda i: (products[i].sku, i)):
        p = products[pid]
        f = flows.get(pid, {})
        open_qty, open_value = opening.get(pid, (0, 0))
        line: dict[str, Any] = {
            "product_id": pid,
            "sku": p.sku,
            "name": p.name,
            "unit": p.unit,
            "opening_qty": open_qty,
            "opening_value": open_value,
        }
        for name in FLOW_KINDS.values():
            line[name + "_qty"] = f.get(name + "_qty", 0)
            line[name + "_value"] = f.get(name + "_value", 0)
        closing_qty = open_qty + sum(f.get(n + "_qty", 0) for n in FLOW_KINDS.values())
        closing_value = open_value + sum(f.get(n + "_value", 0) for n in FLOW_KINDS.values())
        # Out is shown as a positive quantity taken off the shelf.
        line["redeemed_qty"] = -line["redeemed_qty"]
        line["redeemed_value"] = -line["redeemed_value"]
        average = averages[pid]
        line.update(
            closing_qty=closing_qty,
            closing_value=closing_value,
            average_cost=average,
            value_at_average=closing_qty * average,
            average_difference=closing_value - closing_qty * average,
        )
        count = counted.get(pid)
        line["counted_qty"] = count[0] if count else None
        line["counted_book_qty"] = count[1] if count else None
        line["counted_value"] = count[0] * count[2] if count else None
        lines.append(line)
    return lines


def _average_costs_at(
    supermarket_id: int, ids: list[int], end: datetime, products: dict[int, Product]
) -> dict[int, int]:
    """Each product's moving-average unit cost as it stood at ``end``.

    A product's average changes only when goods come in (a purchase or a donation in kind).
    Without any coming in since ``end`` it is the product's current cost; otherwise it is
    replayed from that product's receipts before ``end`` (receipts are few next to redemptions).
    """
    # Driven by the created_at index: usually the few days since the month ended.
    later = set(
        db.session.scalars(
            sa.select(StockMovement.product_id).where(
                StockMovement.created_at >= end, StockMovement.kind.in_(IN_KINDS)
            )
        )
    ) & set(ids)
    averages = {pid: products[pid].unit_cost_fen for pid in ids if pid not in later}
    if later:
        replayed: dict[int, int] = {}
        rows = db.session.execute(
            sa.select(
                StockMovement.product_id,
                StockMovement.quantity,
                StockMovement.unit_cost_fen,
                StockMovement.quantity_after,
            )
            .where(
                StockMovement.product_id.in_(sorted(later)),
                StockMovement.kind.in_(IN_KINDS),
                StockMovement.created_at < end,
            )
            .order_by(StockMovement.product_id, StockMovement.id)
        )
        for pid, qty, cost, after in rows:
            before = replayed.get(pid, cost)
            replayed[pid] = moving_average(after - qty, before, qty, cost)
        for pid in later:
            averages[pid] = replayed.get(pid, products[pid].unit_cost_fen)
    return averages


def _counted(
    supermarket_id: int, start: datetime, end: datetime
) -> dict[int, tuple[int, int, int]]:
    """Per product, the last count whose variance was posted in the month (at its approval,
    when the count movements are written): (counted, expected at the count, unit cost).

    "Expected" is the book quantity at the moment the line was counted (the book at the start
    plus what moved while counting), so counted − expected is exactly the posted variance.
    """
    rows = db.session.execute(
        sa.select(
            StocktakeLine.product_id,
            StocktakeLine.counted_qty,
            StocktakeLine.posted_variance,
            sa.func.coalesce(StocktakeLine.posted_unit_cost_fen, StocktakeLine.unit_cost_fen),
        )
        .join(Stocktake, Stocktake.id == StocktakeLine.stocktake_id)
        .where(
            Stocktake.supermarket_id == supermarket_id,
            Stocktake.status.in_((COUNT_APPROVED, COUNT_POSTED)),
            Stocktake.approved_at >= start,
            Stocktake.approved_at < end,
            StocktakeLine.counted_qty.is_not(None),
        )
        .order_by(Stocktake.approved_at, Stocktake.id)
    )
    return {
        pid: (counted, counted - (variance or 0), cost) for pid, counted, variance, cost in rows
    }


def _counts(supermarket_id: int, start: datetime, end: datetime) -> list[dict[str, Any]]:
    rows = db.session.execute(
        sa.select(Stocktake.id, Stocktake.posted_at, sa.func.count(StocktakeLine.id))
        .join(StocktakeLine, StocktakeLine.stocktake_id == Stocktake.id)
        .where(
            Stocktake.supermarket_id == supermarket_id,
            Stocktake.status == COUNT_POSTED,
            Stocktake.posted_at >= start,
            Stocktake.posted_at < end,
            StocktakeLine.counted_qty.is_not(None),
        )
        .group_by(Stocktake.id, Stocktake.posted_at)
        .order_by(Stocktake.posted_at)
    )
    return [
        {"id": sid, "posted_at": posted.isoformat(timespec="seconds"), "lines": n}
        for sid, posted, n in rows
    ]


def _fund(supermarket_id: int, start: datetime, end: datetime, previous: dict | None) -> dict:
    account_id = db.session.scalar(
        sa.select(FundAccount.id).where(FundAccount.supermarket_id == supermarket_id)
    )
    by_kind = {FUND_DONATION: 0, FUND_PURCHASE: 0, FUND_REVERSAL: 0}
    money_in = money_out = entries = 0
    opening = 0
    if account_id is not None:
        rows = db.session.execute(
            sa.select(
                FundEntry.kind,
                sa.func.sum(FundEntry.amount_fen),
                sa.func.sum(sa.case((FundEntry.amount_fen > 0, FundEntry.amount_fen), else_=0)),
                sa.func.count(FundEntry.id),
            )
            .where(
                FundEntry.fund_account_id == account_id,
                FundEntry.created_at >= start,
                FundEntry.created_at < end,
            )
            .group_by(FundEntry.kind)
        )
        for kind, total, positive, n in rows:
            total, positive = int(total or 0), int(positive or 0)
            by_kind[kind] = by_kind.get(kind, 0) + total
            money_in += positive
            money_out += positive - total
            entries += n
        if previous is not None:
            opening = previous["fund"]["closing"]
        else:
            opening = int(
                db.session.scalar(
                    sa.select(sa.func.coalesce(sa.func.sum(FundEntry.amount_fen), 0)).where(
                        FundEntry.fund_account_id == account_id, FundEntry.created_at < start
                    )
                )
                or 0
            )
    return {
        "opening": opening,
        "donations": by_kind[FUND_DONATION],
        "purchases": -by_kind[FUND_PURCHASE],
        "reversals": by_kind[FUND_REVERSAL],
        "money_in": money_in,
        "money_out": money_out,
        "entries": entries,
        "closing": opening + money_in - money_out,
    }


def _tieout(
    supermarket_id: int, start: datetime, end: datetime, ppy: int, stock_totals: dict
) -> dict[str, Any]:
    """Points charged in the month against the cost of what was issued, differences explained."""
    ppy = max(1, ppy)
    R, L = Redemption, RedemptionLine
    created_in = sa.and_(R.created_at >= start, R.created_at < end)
    voided_in = sa.and_(R.voided_at.is_not(None), R.voided_at >= start, R.voided_at < end)
    rate = sa.literal_column(str(int(ppy)))  # inlined: PostgreSQL groups by the same text
    category = sa.case(
        (sa.and_(L.unit_points == 0, L.unit_cost_fen > 0), sa.literal_column("'free'")),
        (
            sa.and_(
                L.unit_points * 100 >= L.unit_cost_fen * rate,
                (L.unit_points - 1) * 100 < L.unit_cost_fen * rate,
            ),
            sa.literal_column("'rate'"),
        ),
        else_=sa.literal_column("'other'"),
    )

    # One pass over the supermarket's redemptions made or voided in the month; the grouping
    # happens outside so PostgreSQL groups by plain columns.
    value = L.quantity * L.unit_cost_fen
    lines = (
        sa.select(
            category.label("category"),
            sa.case((Product.kind == KIND_GOODS, 1), else_=0).label("is_goods"),
            sa.case((R.created_at < start, 1), else_=0).label("earlier"),
            sa.case((created_in, L.line_points), else_=0).label("pts_in"),
            sa.case((voided_in, L.line_points), else_=0).label("pts_void"),
            sa.case((created_in, value), else_=0).label("cost_in"),
            sa.case((voided_in, value), else_=0).label("cost_void"),
        )
        .select_from(L)
        .join(R, R.id == L.redemption_id)
        .join(Product, Product.id == L.product_id)
        .where(R.supermarket_id == supermarket_id, sa.or_(created_in, voided_in))
        .subquery()
    )
    keys = (lines.c.category, lines.c.is_goods, lines.c.earlier)
    rows = db.session.execute(
        sa.select(
            *keys,
            sa.func.sum(lines.c.pts_in),
            sa.func.sum(lines.c.pts_void),
            sa.func.sum(lines.c.cost_in),
            sa.func.sum(lines.c.cost_void),
        ).group_by(*keys)
    )
    by_cat = {c: [0, 0] for c in (CAT_RATE, CAT_FREE, CAT_OTHER)}  # net points, net cost
    by_kind = {"goods": [0, 0], "services": [0, 0]}
    issued = [0, 0]
    voided_same = [0, 0]
    voided_earlier = [0, 0]
    for cat, goods, was_earlier, pts_in, pts_void, cost_in, cost_void in rows:
        cat = cat.strip()
        pts_in, pts_void = int(pts_in or 0), int(pts_void or 0)
        cost_in, cost_void = int(cost_in or 0), int(cost_void or 0)
        by_cat[cat][0] += pts_in - pts_void
        by_cat[cat][1] += cost_in - cost_void
        kind = by_kind["goods" if goods else "services"]
        kind[0] += pts_in - pts_void
        kind[1] += cost_in - cost_void
        issued[0] += pts_in
        issued[1] += cost_in
        target = voided_earlier if was_earlier else voided_same
        target[0] += pts_void
        target[1] += cost_void

    counts = db.session.execute(
        sa.select(
            sa.func.sum(sa.case((created_in, 1), else_=0)),
            sa.func.sum(sa.case((created_in, R.spent_points), else_=0)),
            sa.func.sum(sa.case((sa.and_(voided_in, R.created_at >= start), 1), else_=0)),
            sa.func.sum(sa.case((sa.and_(voided_in, R.created_at < start), 1), else_=0)),
            sa.func.sum(sa.case((voided_in, R.spent_points), else_=0)),
        ).where(R.supermarket_id == supermarket_id, sa.or_(created_in, voided_in))
    ).one()
    n_issued, spent_in, n_void_same, n_void_earlier, spent_void = (int(x or 0) for x in counts)

    points_net = issued[0] - voided_same[0] - voided_earlier[0]
    value_at_rate = _round_div(points_net * 100, ppy)
    goods_cost_ledger = stock_totals["redeemed_value"] - stock_totals["void_value"]
    services_cost = by_kind["services"][1]
    cost_issued = goods_cost_ledger + services_cost
    difference = value_at_rate - cost_issued
    rounding = _round_div(by_cat[CAT_RATE][0] * 100 - by_cat[CAT_RATE][1] * ppy, ppy)
    free_items = -by_cat[CAT_FREE][1]
    price_changes = _round_div(by_cat[CAT_OTHER][0] * 100 - by_cat[CAT_OTHER][1] * ppy, ppy)
    timing = by_kind["goods"][1] - goods_cost_ledger
    remainder = difference - rounding - free_items - price_changes - timing
    spent_net = spent_in - spent_void
    return {
        "points_per_yuan": ppy,
        "redemptions": n_issued,
        "voids_same_month": n_void_same,
        "voids_earlier_month": n_void_earlier,
        "points_issued": issued[0],
        "cost_issued_lines": issued[1],
        "points_voided_same": voided_same[0],
        "cost_voided_same": voided_same[1],
        "points_voided_earlier": voided_earlier[0],
        "cost_voided_earlier": voided_earlier[1],
        "points_net": points_net,
        "points_from_balance": spent_net,
        "points_from_quota": points_net - spent_net,
        "goods_points": by_kind["goods"][0],
        "services_points": by_kind["services"][0],
        "value_at_rate": value_at_rate,
        "goods_cost_ledger": goods_cost_ledger,
        "services_cost": services_cost,
        "cost_issued": cost_issued,
        "difference": difference,
        "rounding": rounding,
        "free_items": free_items,
        "free_items_cost": by_cat[CAT_FREE][1],
        "price_changes": price_changes,
        "price_changes_points": by_cat[CAT_OTHER][0],
        "timing": timing,
        "remainder": remainder,
    }


# ---- closing -------------------------------------------------------------------------------


def month_status(supermarket_id: int, month: str) -> MonthClose | None:
    """The month's close, or None while it is open."""
    return db.session.scalar(
        sa.select(MonthClose).where(
            MonthClose.supermarket_id == supermarket_id, MonthClose.month == month
        )
    )


def close_refusals(supermarket_id: int, month: str) -> list[str]:
    """Every reason this month cannot be closed now, in Chinese (empty: it may close)."""
    _check_month(month)
    reasons = []
    if periods.is_closed(supermarket_id, month):
        return [f"{month} 已经结账"]
    current = periods.month_key(standing.local_now())
    if month >= current:
        reasons.append(f"{month} 还没有结束，月末过后才能结账")
    expected = periods.next_month_to_close(supermarket_id)
    if month > expected:
        reasons.append(f"月份要按顺序结账：请先结 {expected}")
    elif month < expected:
        reasons.append(f"{month} 在本超市账目开始之前，不需要结账")
    _, end = periods.month_bounds_utc(month)
    unposted = db.session.execute(
        sa.select(Stocktake.id, Stocktake.status)
        .where(
            Stocktake.supermarket_id == supermarket_id,
            Stocktake.status.in_(COUNT_UNPOSTED),
            Stocktake.started_at < end,
        )
        .order_by(Stocktake.id)
    ).all()
    for sid, status in unposted:
        word = {"counting": "正在盘点", "submitted": "已提交待审核", "approved": "已审核待过账"}
        reasons.append(f"第{sid}号盘点{word.get(status, status)}，盘点过账后才能结账")
    return reasons


def close_month(supermarket_id: int, month: str, *, actor: User) -> MonthClose:
    """Close a month (月结): store its report and lock it. Admins only; months close in order,
    never before they end, never while a count is unposted."""
    _check_month(month)
    if actor is None or actor.role != ROLE_ADMIN:
        raise PermissionDenied("只有村委管理员可以月结")
    if actor.supermarket_id not in (None, supermarket_id):
        raise PermissionDenied("不能为其他超市月结")
    try:
        with write_transaction():
            # Lock the supermarket row: two admins closing at once close the month once.
            db.session.execute(
                sa.update(Supermarket)
                .where(Supermarket.id == supermarket_id)
                .values(next_receipt_no=Supermarket.next_receipt_no)
            )
            if db.session.get(Supermarket, supermarket_id) is None:
                raise NotFound("没有找到该超市")
            reasons = close_refusals(supermarket_id, month)
            if reasons:
                raise MonthCloseRefused(reasons)
            report = build_report(supermarket_id, month)
            close = MonthClose(
                supermarket_id=supermarket_id,
                month=month,
                report=report,
                closed_by_id=actor.id,
                closed_at=utcnow(),
            )
            db.session.add(close)
            db.session.flush()
            totals = report["stock_totals"]
            audit.record(
                "month.close",
                close,
                actor=actor,
                supermarket_id=supermarket_id,
                month=month,
                closing_stock_value=totals["closing_value"],
                closing_fund=report["fund"]["closing"],
                points_net=report["tieout"]["points_net"],
            )
    except IntegrityError:
        db.session.rollback()
        raise MonthCloseRefused([f"{month} 已经结账"]) from None
    return close


def report_for(supermarket_id: int, month: str) -> tuple[dict[str, Any], MonthClose | None]:
    """The month's report: the stored one once closed, computed live while open."""
    _check_month(month)
    close = month_status(supermarket_id, month)
    if close is not None and close.report:
        return close.report, close
    return build_report(supermarket_id, month), close


def month_list(supermarket_id: int) -> list[dict[str, Any]]:
    """Every month of the books, newest first, with its close (or None) and whether it is
    the one to close next."""
    first = periods.first_month(supermarket_id)
    current = periods.month_key(standing.local_now())
    closes = {
        c.month: c
        for c in db.session.scalars(
            sa.select(MonthClose).where(MonthClose.supermarket_id == supermarket_id)
        )
    }
    if closes:
        first = min(first, min(closes))
    upcoming = periods.next_month_to_close(supermarket_id)
    return [
        {
            "month": m,
            "close": closes.get(m),
            "current": m == current,
            "next": m == upcoming,
        }
        for m in reversed(periods.months_between(first, current))
    ]


# ---- integrity (``jifen check``) -------------------------------------------------------------

_CHUNK = 100


def _month_ranges(months: list[str]):
    """A small derived table (month, start, end) of the given months, for range joins."""
    rows = []
    for month in months:
        start, end = periods.month_bounds_utc(month)
        rows.append(
            sa.select(
                sa.literal(month, sa.String).label("month"),
                sa.literal(start, sa.DateTime).label("start"),
                sa.literal(end, sa.DateTime).label("end"),
            )
        )
    return sa.union_all(*rows).subquery("ranges")


def check_problems() -> list:
    """Closed months still read as closed: nothing stamped inside a closed month after its
    close, nothing dated before the first closed month, and each stored report's closing stock,
    fund and net points equal the ledgers.

    Each closed month's rows are read once (one range join per ledger for all supermarkets that
    closed that month), so the check grows with the data like the other checks do.
    """
    from kiosk.check import Problem

    closes = db.session.execute(
        sa.select(
            MonthClose.supermarket_id, MonthClose.month, MonthClose.closed_at, MonthClose.report
        ).order_by(MonthClose.supermarket_id, MonthClose.month)
    ).all()
    if not closes:
        return []
    problems: list[Problem] = []
    by_sm: dict[int, list] = defaultdict(list)
    for sid, month, closed_at, report in closes:
        try:
            periods.parse_month(month)
        except ValueError:
            problems.append(Problem("month", f"supermarket {sid}", f"bad month {month!r}"))
            continue
        by_sm[sid].append((month, closed_at, report or {}))
    months = sorted({m for rows in by_sm.values() for m, _, _ in rows})

    stock: dict[tuple[int, str], dict[int, tuple[int, int]]] = defaultdict(dict)
    fund: dict[tuple[int, str], int] = defaultdict(int)
    points: dict[tuple[int, str], int] = defaultdict(int)
    latest: dict[tuple[int, str], datetime] = {}

    def seen(sid: int, month: str, moment: datetime | None) -> None:
        if moment is not None and ((sid, month) not in latest or moment > latest[(sid, month)]):
            latest[(sid, month)] = moment

    m, R = StockMovement, Redemption
    for i in range(0, len(months), _CHUNK):
        rng = _month_ranges(months[i : i + _CHUNK])
        for month, sid, pid, qty, val, last in db.session.execute(
            sa.select(
                rng.c.month,
                Product.supermarket_id,
                m.product_id,
                sa.func.sum(m.quantity),
                sa.func.sum(m.quantity * m.unit_cost_fen),
                sa.func.max(m.created_at),
            )
            .select_from(m)
            .join(rng, sa.and_(m.created_at >= rng.c.start, m.created_at < rng.c.end))
            .join(Product, Product.id == m.product_id)
            .group_by(rng.c.month, Product.supermarket_id, m.product_id)
        ):
            stock[(sid, month)][pid] = (int(qty or 0), int(val or 0))
            seen(sid, month, last)
        for month, sid, total, last in db.session.execute(
            sa.select(
                rng.c.month,
                FundAccount.supermarket_id,
                sa.func.sum(FundEntry.amount_fen),
                sa.func.max(FundEntry.created_at),
            )
            .select_from(FundEntry)
            .join(
                rng,
                sa.and_(FundEntry.created_at >= rng.c.start, FundEntry.created_at < rng.c.end),
            )
            .join(FundAccount, FundAccount.id == FundEntry.fund_account_id)
            .group_by(rng.c.month, FundAccount.supermarket_id)
        ):
            fund[(sid, month)] = int(total or 0)
            seen(sid, month, last)
        for stamp, sign in ((R.created_at, 1), (R.voided_at, -1)):
            for month, sid, total, last in db.session.execute(
                sa.select(
                    rng.c.month, R.supermarket_id, sa.func.sum(R.total_points), sa.func.max(stamp)
                )
                .select_from(R)
                .join(
                    rng,
                    sa.and_(stamp.is_not(None), stamp >= rng.c.start, stamp < rng.c.end),
                )
                .group_by(rng.c.month, R.supermarket_id)
            ):
                points[(sid, month)] += sign * int(total or 0)
                seen(sid, month, last)

    # The earliest posting of each supermarket with closes (nothing may predate its books).
    earliest: dict[int, datetime] = {}
    for query in (
        sa.select(Product.supermarket_id, sa.func.min(m.created_at))
        .join(Product, Product.id == m.product_id)
        .group_by(Product.supermarket_id),
        sa.select(FundAccount.supermarket_id, sa.func.min(FundEntry.created_at))
        .join(FundAccount, FundAccount.id == FundEntry.fund_account_id)
        .group_by(FundAccount.supermarket_id),
        sa.select(R.supermarket_id, sa.func.min(R.created_at)).group_by(R.supermarket_id),
    ):
        for sid, first in db.session.execute(query):
            if sid in by_sm and first is not None:
                earliest[sid] = min(earliest.get(sid, first), first)

    for sid, rows in by_sm.items():
        first_start, _ = periods.month_bounds_utc(rows[0][0])
        if sid in earliest and earliest[sid] < first_start:
            problems.append(
                Problem(
                    "month",
                    f"supermarket {sid}",
                    f"a posting stamped {earliest[sid]:%Y-%m-%d %H:%M:%S} is dated before the "
                    f"first closed month {rows[0][0]}",
                )
            )
        running: dict[int, tuple[int, int]] = {}
        fund_running = 0
        for month, closed_at, report in rows:
            subject = f"supermarket {sid} month {month}"
            last = latest.get((sid, month))
            if last is not None and closed_at is not None and last > closed_at:
                problems.append(
                    Problem(
                        "month",
                        subject,
                        f"a posting stamped {last:%Y-%m-%d %H:%M:%S} inside the month is later "
                        f"than its close at {closed_at:%Y-%m-%d %H:%M:%S}",
                    )
                )
            for pid, (q, v) in stock.get((sid, month), {}).items():
                old_q, old_v = running.get(pid, (0, 0))
                running[pid] = (old_q + q, old_v + v)
            fund_running += fund.get((sid, month), 0)
            if report.get("version") != REPORT_VERSION:
                problems.append(Problem("month", subject, "the stored report is missing"))
                continue
            stored = {
                line["product_id"]: (line["closing_qty"], line["closing_value"])
                for line in report["products"]
            }
            for pid in sorted(set(stored) | set(running)):
                book = running.get(pid, (0, 0))
                kept = stored.get(pid, (0, 0))
                if book != kept:
                    problems.append(
                        Problem(
                            "month",
                            f"{subject} product {pid}",
                            f"report closes at {kept[0]} ({kept[1]} fen) but the stock ledger "
                            f"says {book[0]} ({book[1]} fen)",
                        )
                    )
            if report["fund"]["closing"] != fund_running:
                problems.append(
                    Problem(
                        "month",
                        f"{subject} fund",
                        f"report closes the fund at {report['fund']['closing']} fen but the "
                        f"ledger says {fund_running}",
                    )
                )
            net = points.get((sid, month), 0)
            if report["tieout"]["points_net"] != net:
                problems.append(
                    Problem(
                        "month",
                        f"{subject} points",
                        f"report has {report['tieout']['points_net']} points redeemed net but "
                        f"the redemptions say {net}",
                    )
                )
    return problems


def seed_demo_monthend(supermarket: Supermarket, users: dict[str, User], rng: Any) -> list[str]:
    """For ``jifen demo``: close every month of the demo's history that has ended, in order, as
    the admin (stops at the first month that may not close, e.g. one with an open count).
    Returns the months closed. ``rng`` is unused: closing is deterministic."""
    admin = users.get("admin")
    if admin is None:
        return []
    current = periods.month_key(standing.local_now())
    closed = []
    month = periods.next_month_to_close(supermarket.id)
    while month < current and not close_refusals(supermarket.id, month):
        close_month(supermarket.id, month, actor=admin)
        closed.append(month)
        month = periods.next_month(month)
    return closed
