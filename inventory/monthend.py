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
number of movements). The opening of a month is the latest close's stored closing plus the
postings since (none when the previous month is closed), so a month's report reads only the
month's own rows.

:func:`build_area_report` puts one month of every supermarket of the county, or of a town,
side by side (``jifen monthend area``), with grouped queries over all of them at once.

:func:`close_month` stores the report as :class:`inventory.models.MonthClose` (a closed month
reads the same forever) and locks the month (:func:`inventory.periods.ensure_open`).
See docs/month-end.md.
"""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from dataclasses import dataclass
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
from kiosk import audit, clock, permissions
from kiosk.database import write_transaction
from kiosk.errors import MonthCloseRefused, NotFound, PermissionDenied, ValidationFailed
from kiosk.extensions import db
from kiosk.messages import Message, _
from kiosk.models import Redemption, RedemptionLine, Supermarket, User
from kiosk.problems import Problem
from kiosk.timeutil import utcnow

# A stored report of another version is not read (its month is recomputed from the ledgers);
# the area report reads a close's summary of it (report_summary, MonthClose.summary).
REPORT_VERSION = 1

# Per-product figures: (quantity, value in fen) pairs by movement kind, as the report names them.
FLOW_KINDS: dict[str, str] = {
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
        raise ValidationFailed(_("月份格式应为 2026-10 这样的年-月")) from None
    return month


# ---- the report ----------------------------------------------------------------------------


# The report's statements are built once per process, with these parameters: building a
# SQLAlchemy statement (its expressions coerced, its cache key made) costs more than running
# it on a village's month.
_SID = sa.bindparam("sid", type_=sa.Integer)
_SIDS = sa.bindparam("sids", expanding=True, type_=sa.Integer)
_PIDS = sa.bindparam("pids", expanding=True, type_=sa.Integer)
_MONTH = sa.bindparam("month", type_=sa.String)
_START = sa.bindparam("start", type_=sa.DateTime)
_END = sa.bindparam("end", type_=sa.DateTime)
_SINCE = sa.bindparam("since", type_=sa.DateTime)


def _of_param(column: Any, single: bool) -> Any:
    """``column`` = :sid, or ``column`` IN :sids."""
    return column == _SID if single else column.in_(_SIDS)


def _since_params(since: datetime | None, start: datetime) -> dict[str, Any]:
    return {"start": start} if since is None else {"since": since, "start": start}


def _between_param(column: Any, bounded: bool) -> Any:
    """``column`` in [:since, :start), or before :start when not bounded."""
    return sa.and_(column >= _SINCE, column < _START) if bounded else column < _START


@dataclass(frozen=True)
class _Base:
    """Where a month's opening starts from: the stored closing of the latest closed month
    before it, to which the postings between that month's end (``since``) and the month's
    start are added (none when it is the previous month)."""

    month: str
    since: datetime
    report: dict[str, Any]


def build_report(supermarket_id: int, month: str) -> dict[str, Any]:
    """The reconciliation report of one month, computed from the ledgers now (a dict that is
    stored as is when the month closes)."""
    _check_month(month)
    supermarket = db.session.get(Supermarket, supermarket_id)
    if supermarket is None:
        raise NotFound(_("没有找到该超市"))
    policy = policy_for(supermarket)
    start, end = periods.month_bounds_utc(month)
    base = _last_close_before(supermarket_id, month)

    products, stock_totals = _stock_lines(supermarket_id, start, end, base)
    fund = _fund(supermarket_id, start, end, base)
    sums = _tieout_sums([supermarket_id], start, end, {supermarket_id: policy.points_per_yuan})
    tieout = _tieout_from(
        *sums.get(supermarket_id, ((), _NO_COUNTS)),
        ppy=policy.points_per_yuan,
        goods_cost_ledger=stock_totals["redeemed_value"] - stock_totals["void_value"],
    )
    tieout["spend"] = policy.spend
    from_close = base is not None and base.month == periods.previous_month(month)
    return {
        "version": REPORT_VERSION,
        "month": month,
        "supermarket": {"id": supermarket.id, "code": supermarket.code, "name": supermarket.name},
        "generated_at": utcnow().isoformat(timespec="seconds"),
        "from_utc": start.isoformat(),
        "to_utc": end.isoformat(),
        "opening_from": "close" if from_close else "ledger",
        "products": products,
        "stock_totals": stock_totals,
        "fund": fund,
        "tieout": tieout,
        "counts": _counts(supermarket_id, start, end),
    }


def _last_close_before(supermarket_id: int, month: str) -> _Base | None:
    """The latest closed month before ``month`` whose stored report this version reads.

    Its stored closing is a snapshot of the books at its end, so a month's opening sums only
    the postings since then (none when the previous month is closed) instead of the ledger
    from the beginning; ``jifen check`` proves every stored closing equals the ledger.
    """
    row = db.session.execute(_last_close_sql(), {"sid": supermarket_id, "month": month}).first()
    if row is None or not row.report or row.report.get("version") != REPORT_VERSION:
        return None
    return _Base(row.month, periods.month_bounds_utc(row.month)[1], row.report)


@functools.cache
def _last_close_sql() -> Any:
    return (
        sa.select(MonthClose.month, MonthClose.report)
        .where(MonthClose.supermarket_id == _SID, MonthClose.month < _MONTH)
        .order_by(MonthClose.month.desc())
        .limit(1)
    )


def _between(column: Any, since: datetime | None, start: datetime) -> Any:
    """``column`` in [since, start), or before ``start`` when there is no ``since``."""
    if since is None:
        return column < start
    return sa.and_(column >= since, column < start)


def _stock_lines(
    supermarket_id: int, start: datetime, end: datetime, base: _Base | None
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The product lines of the month and their totals."""
    sid = {"sid": supermarket_id}
    flows: dict[int, dict[str, tuple[int, int]]] = defaultdict(dict)
    rows = db.session.execute(_stock_sql("flows"), {**sid, "start": start, "end": end})
    for pid, kind, qty, val in rows:
        name = FLOW_KINDS.get(kind, "adjustment")
        q, v = flows[pid].get(name, (0, 0))
        flows[pid][name] = (q + int(qty or 0), v + int(val or 0))

    opening: dict[int, tuple[int, int]] = {}
    if base is not None:
        for closed in base.report["products"]:
            opening[closed["product_id"]] = (closed["closing_qty"], closed["closing_value"])
    since = base.since if base is not None else None
    if since is None or since < start:
        query = _stock_sql("since" if since is not None else "before")
        rows = db.session.execute(query, {**sid, **_since_params(since, start)})
        for pid, qty, val in rows:
            q, v = opening.get(pid, (0, 0))
            opening[pid] = (q + int(qty or 0), v + int(val or 0))

    totals = dict.fromkeys(STOCK_FIELDS, 0)
    totals["counted_value"] = 0
    ids = set(flows) | {pid for pid, (q, v) in opening.items() if q or v}
    if not ids:
        return [], totals
    # Plain rows, not ORM objects: a county supermarket has a thousand products.
    products = {row.id: row for row in db.session.execute(_stock_sql("products"), sid)}
    averages = _average_costs_at(supermarket_id, ids, end, products, base)
    counted = _counted(supermarket_id, start, end)
    names = [(n, n + "_qty", n + "_value") for n in FLOW_KINDS.values()]
    lines = []
    for pid in sorted(ids, key=lambda i: (products[i].sku, i)):
        p = products[pid]
        f = flows.get(pid, {})
        closing_qty, closing_value = opening.get(pid, (0, 0))
        line: dict[str, Any] = {
            "product_id": pid,
            "sku": p.sku,
            "name": p.name,
            "unit": p.unit,
            "opening_qty": closing_qty,
            "opening_value": closing_value,
        }
        for name, qty_key, value_key in names:
            q, v = f.get(name, (0, 0))
            line[qty_key] = q
            line[value_key] = v
            closing_qty += q
            closing_value += v
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
        for field in STOCK_FIELDS:
            totals[field] += line[field]
        totals["counted_value"] += line["counted_value"] or 0
        lines.append(line)
    return lines, totals


@functools.cache
def _stock_sql(name: str) -> Any:
    """One supermarket's movements of the month by product and kind ("flows"), before the
    month ("before") or since the latest close ("since") by product, its products' rows
    ("products"), and the products with receipts after the month ("later")."""
    m = StockMovement
    value = m.quantity * m.unit_cost_fen
    of_supermarket = Product.supermarket_id == _SID
    if name == "flows":
        return (
            sa.select(m.product_id, m.kind, sa.func.sum(m.quantity), sa.func.sum(value))
            .join(Product, Product.id == m.product_id)
            .where(of_supermarket, m.created_at >= _START, m.created_at < _END)
            .group_by(m.product_id, m.kind)
        )
    if name in ("before", "since"):
        return (
            sa.select(m.product_id, sa.func.sum(m.quantity), sa.func.sum(value))
            .join(Product, Product.id == m.product_id)
            .where(of_supermarket, _between_param(m.created_at, name == "since"))
            .group_by(m.product_id)
        )
    if name == "products":
        # Plain rows, not ORM objects: a county supermarket has a thousand products.
        return sa.select(
            Product.id, Product.sku, Product.name, Product.unit, Product.unit_cost_fen
        ).where(of_supermarket)
    if name == "later":
        # Through the supermarket's products' movement index: other supermarkets' receipts
        # are not read.
        return (
            sa.select(m.product_id)
            .join(Product, Product.id == m.product_id)
            .where(of_supermarket, m.created_at >= _END, m.kind.in_(IN_KINDS))
            .distinct()
        )
    raise KeyError(name)


@functools.cache
def _receipts_sql(seeded: bool) -> Any:
    """Receipts of some products before the month's end (since the latest close if seeded)."""
    m = StockMovement
    query = sa.select(m.product_id, m.quantity, m.unit_cost_fen, m.quantity_after).where(
        m.product_id.in_(_PIDS), m.kind.in_(IN_KINDS), m.created_at < _END
    )
    if seeded:
        query = query.where(m.created_at >= _SINCE)
    return query.order_by(m.product_id, m.id)


def _average_costs_at(
    supermarket_id: int,
    ids: set[int],
    end: datetime,
    products: dict[int, Any],
    base: _Base | None,
) -> dict[int, int]:
    """Each product's moving-average unit cost as it stood at ``end``.

    A product's average changes only when goods come in (a purchase or a donation in kind).
    Without any coming in since ``end`` it is the product's current cost; otherwise it is
    replayed through its receipts before ``end``: from the average stored at the latest close
    (through the receipts since), or from its first receipt when that close did not list it.
    """
    later = set(db.session.scalars(_stock_sql("later"), {"sid": supermarket_id, "end": end})) & ids
    averages = {pid: products[pid].unit_cost_fen for pid in ids if pid not in later}
    if not later:
        return averages
    replayed: dict[int, int] = {}
    since = base.since if base is not None else end
    if base is not None:
        for line in base.report["products"]:
            if line["product_id"] in later and line.get("average_cost") is not None:
                replayed[line["product_id"]] = line["average_cost"]
    parts = []
    if replayed:
        parts.append((_receipts_sql(True), {"pids": sorted(replayed), "since": since}))
    if later - set(replayed):
        parts.append((_receipts_sql(False), {"pids": sorted(later - set(replayed))}))
    for query, params in parts:
        for pid, qty, cost, after in db.session.execute(query, {**params, "end": end}):
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
        _counts_sql("counted"), {"sid": supermarket_id, "start": start, "end": end}
    )
    return {
        pid: (counted, counted - (variance or 0), cost) for pid, counted, variance, cost in rows
    }


@functools.cache
def _counts_sql(name: str) -> Any:
    """The month's counted lines by product ("counted") and posted counts ("counts")."""
    if name == "counted":
        return (
            sa.select(
                StocktakeLine.product_id,
                StocktakeLine.counted_qty,
                StocktakeLine.posted_variance,
                sa.func.coalesce(StocktakeLine.posted_unit_cost_fen, StocktakeLine.unit_cost_fen),
            )
            .join(Stocktake, Stocktake.id == StocktakeLine.stocktake_id)
            .where(
                Stocktake.supermarket_id == _SID,
                Stocktake.status.in_((COUNT_APPROVED, COUNT_POSTED)),
                Stocktake.approved_at >= _START,
                Stocktake.approved_at < _END,
                StocktakeLine.counted_qty.is_not(None),
            )
            .order_by(Stocktake.approved_at, Stocktake.id)
        )
    return (
        sa.select(Stocktake.id, Stocktake.posted_at, sa.func.count(StocktakeLine.id))
        .join(StocktakeLine, StocktakeLine.stocktake_id == Stocktake.id)
        .where(
            Stocktake.supermarket_id == _SID,
            Stocktake.status == COUNT_POSTED,
            Stocktake.posted_at >= _START,
            Stocktake.posted_at < _END,
            StocktakeLine.counted_qty.is_not(None),
        )
        .group_by(Stocktake.id, Stocktake.posted_at)
        .order_by(Stocktake.posted_at)
    )


def _counts(supermarket_id: int, start: datetime, end: datetime) -> list[dict[str, Any]]:
    rows = db.session.execute(
        _counts_sql("counts"), {"sid": supermarket_id, "start": start, "end": end}
    )
    return [
        {"id": sid, "posted_at": posted.isoformat(timespec="seconds"), "lines": n}
        for sid, posted, n in rows
    ]


@functools.cache
def _fund_sql(name: str, single: bool) -> Any:
    """Fund entries by supermarket: the month's by kind (total, money in, entries: "month"),
    or the sum before the month ("before") or since the latest close ("since")."""
    E = FundEntry
    of_area = _of_param(FundAccount.supermarket_id, single)
    sums = (
        sa.func.sum(E.amount_fen).label("total"),
        sa.func.sum(sa.case((E.amount_fen > 0, E.amount_fen), else_=0)).label("money_in"),
        sa.func.count(E.id).label("entries"),
    )
    in_month = sa.and_(E.created_at >= _START, E.created_at < _END)
    if name == "month" and single:
        return (
            sa.select(FundAccount.supermarket_id, E.kind, *sums)
            .join(FundAccount, FundAccount.id == E.fund_account_id)
            .where(of_area, in_month)
            .group_by(FundAccount.supermarket_id, E.kind)
        )
    if name == "month":
        # The month's entries of every account through the date index, summed by account
        # first (joined the other way, SQLite walks each account's whole history).
        account = (E.fund_account_id + 0).label("fund_account_id")
        by_account = (
            sa.select(account, E.kind, *sums)
            .where(in_month)
            .group_by(account, E.kind)
            .subquery("by_account")
        )
        c = by_account.c
        return (
            sa.select(FundAccount.supermarket_id, c.kind, c.total, c.money_in, c.entries)
            .join(FundAccount, FundAccount.id == c.fund_account_id)
            .where(of_area)
        )
    before = _between_param(E.created_at, name == "since")
    if single:
        return (
            sa.select(FundAccount.supermarket_id, sa.func.sum(E.amount_fen))
            .join(FundAccount, FundAccount.id == E.fund_account_id)
            .where(of_area, before)
            .group_by(FundAccount.supermarket_id)
        )
    account = (E.fund_account_id + 0).label("fund_account_id")
    by_account = (
        sa.select(account, sa.func.sum(E.amount_fen).label("total"))
        .where(before)
        .group_by(account)
        .subquery("by_account")
    )
    return (
        sa.select(FundAccount.supermarket_id, sa.func.sum(by_account.c.total))
        .join(FundAccount, FundAccount.id == by_account.c.fund_account_id)
        .where(of_area)
        .group_by(FundAccount.supermarket_id)
    )


def _fund_from(rows: Any, opening: int) -> dict[str, int]:
    """The fund section from the month's (kind, total, money in, entries) rows."""
    by_kind = {FUND_DONATION: 0, FUND_PURCHASE: 0, FUND_REVERSAL: 0}
    money_in = money_out = entries = 0
    for kind, total, positive, n in rows:
        total, positive = int(total or 0), int(positive or 0)
        by_kind[kind] = by_kind.get(kind, 0) + total
        money_in += positive
        money_out += positive - total
        entries += n
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


def _fund(
    supermarket_id: int, start: datetime, end: datetime, base: _Base | None
) -> dict[str, Any]:
    sid = {"sid": supermarket_id}
    if db.session.scalar(_fund_account_sql(), sid) is None:
        return _fund_from((), 0)
    rows = db.session.execute(_fund_sql("month", True), {**sid, "start": start, "end": end})
    month_rows = [(kind, total, positive, n) for _sid, kind, total, positive, n in rows]
    opening = base.report["fund"]["closing"] if base is not None else 0
    since = base.since if base is not None else None
    if since is None or since < start:
        query = _fund_sql("since" if since is not None else "before", True)
        for _sid, total in db.session.execute(query, {**sid, **_since_params(since, start)}):
            opening += int(total or 0)
    return _fund_from(month_rows, opening)


@functools.cache
def _fund_account_sql() -> Any:
    return sa.select(FundAccount.id).where(FundAccount.supermarket_id == _SID)


# (redemptions, points spent from balances, voids of the month's, voids of earlier, spent voided)
_NO_COUNTS = (0, 0, 0, 0, 0)


def _of(column: Any, ids: list[int]) -> Any:
    return column == ids[0] if len(ids) == 1 else column.in_(ids)


def _tieout_sums(
    supermarket_ids: list[int], start: datetime, end: datetime, rates: dict[int, int]
) -> dict[int, tuple[list[tuple[Any, ...]], tuple[int, ...]]]:
    """Per supermarket, the month's redemption lines summed by tie-out category, goods or
    service and whether the redemption is of an earlier month; and its redemption counts.
    ``rates`` is each supermarket's points per yuan (a line's category depends on it)."""
    by_rate: dict[int, list[int]] = defaultdict(list)
    for sid in supermarket_ids:
        by_rate[max(1, int(rates[sid]))].append(sid)
    ppys = tuple(sorted(by_rate))
    single = len(supermarket_ids) == 1
    lines_sql, counts_sql = _tieout_sql(single, ppys)
    params: dict[str, Any] = {"start": start, "end": end}
    params.update({"sid": supermarket_ids[0]} if single else {"sids": supermarket_ids})
    params.update({f"rate_{i}": by_rate[ppy] for i, ppy in enumerate(ppys[:-1])})
    grouped: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for sid, *row in db.session.execute(lines_sql, params):
        grouped[sid].append(tuple(row))
    counts = {
        sid: tuple(int(x or 0) for x in sums)
        for sid, *sums in db.session.execute(counts_sql, params)
    }
    return {
        sid: (grouped.get(sid, []), counts.get(sid, _NO_COUNTS))
        for sid in set(grouped) | set(counts)
    }


@functools.cache
def _tieout_sql(single: bool, ppys: tuple[int, ...]) -> tuple[Any, Any]:
    """The tie-out's two statements for one supermarket (:sid) or several (:sids) whose rates
    are ``ppys`` (the supermarkets at each rate but the last in :rate_0, :rate_1, ...).

    Each reads two index ranges: redemptions made in the month, and redemptions made in
    another month voided in this one (``(supermarket_id, voided_at)``).
    """
    R, L = Redemption, RedemptionLine
    of_area = _of_param(R.supermarket_id, single)
    created_in = sa.and_(R.created_at >= _START, R.created_at < _END)
    voided_in = sa.and_(R.voided_at.is_not(None), R.voided_at >= _START, R.voided_at < _END)
    voided_other = sa.and_(voided_in, sa.or_(R.created_at < _START, R.created_at >= _END))
    # The rate is inlined (PostgreSQL groups by the same text): a handful of distinct rates.
    texts: list[sa.ColumnClause[Any]] = [sa.literal_column(str(int(ppy))) for ppy in ppys]
    rate: Any = texts[-1]
    if len(texts) > 1:
        rate = sa.case(
            *(
                (R.supermarket_id.in_(sa.bindparam(f"rate_{i}", expanding=True)), text)
                for i, text in enumerate(texts[:-1])
            ),
            else_=texts[-1],
        )
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
    is_goods = sa.case((Product.kind == KIND_GOODS, 1), else_=0)
    value = L.quantity * L.unit_cost_fen
    zero: sa.ColumnClause[Any] = sa.literal_column("0")

    def lines_of(where: Any, *columns: Any) -> Any:
        names = ("earlier", "pts_in", "pts_void", "cost_in", "cost_void")
        return (
            sa.select(
                R.supermarket_id.label("sid"),
                category.label("category"),
                is_goods.label("is_goods"),
                *(col.label(name) for col, name in zip(columns, names, strict=True)),
            )
            .select_from(L)
            .join(R, R.id == L.redemption_id)
            .join(Product, Product.id == L.product_id)
            .where(of_area, where)
        )

    made = lines_of(
        created_in,
        zero,
        L.line_points,
        sa.case((voided_in, L.line_points), else_=0),
        value,
        sa.case((voided_in, value), else_=0),
    )
    undone = lines_of(
        voided_other,
        sa.case((R.created_at < _START, 1), else_=0),
        zero,
        L.line_points,
        zero,
        value,
    )
    # The grouping happens outside so PostgreSQL groups by plain columns.
    lines = sa.union_all(made, undone).subquery("lines")
    c = list(lines.c)
    keys = c[:4]  # supermarket, category, goods, earlier
    lines_sql = sa.select(*keys, *(sa.func.sum(col) for col in c[4:])).group_by(*keys)

    def redemptions_of(where: Any, *columns: Any) -> Any:
        names = ("issued", "spent_in", "void_same", "void_earlier", "spent_void")
        return sa.select(
            R.supermarket_id.label("sid"),
            *(col.label(name) for col, name in zip(columns, names, strict=True)),
        ).where(of_area, where)

    made_n = redemptions_of(
        created_in,
        sa.literal_column("1"),
        R.spent_points,
        sa.case((voided_in, 1), else_=0),
        zero,
        sa.case((voided_in, R.spent_points), else_=0),
    )
    undone_n = redemptions_of(
        voided_other,
        zero,
        zero,
        sa.case((R.created_at >= _START, 1), else_=0),
        sa.case((R.created_at < _START, 1), else_=0),
        R.spent_points,
    )
    counted = sa.union_all(made_n, undone_n).subquery("counted")
    c = list(counted.c)
    counts_sql = sa.select(c[0], *(sa.func.sum(col) for col in c[1:])).group_by(c[0])
    return lines_sql, counts_sql


def _tieout_from(
    rows: Any, counts: tuple[int, ...], *, ppy: int, goods_cost_ledger: int
) -> dict[str, Any]:
    """Points charged in the month against the cost of what was issued, differences explained
    (from :func:`_tieout_sums`' rows and counts and the stock ledger's goods out)."""
    ppy = max(1, ppy)
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
    n_issued, spent_in, n_void_same, n_void_earlier, spent_void = counts

    points_net = issued[0] - voided_same[0] - voided_earlier[0]
    value_at_rate = _round_div(points_net * 100, ppy)
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


# ---- the area report (town / county) -------------------------------------------------------

# The stock values of an area line (quantities of different goods are not added up).
AREA_STOCK_FIELDS = (
    "opening_value",
    "purchase_value",
    "donation_value",
    "redeemed_value",
    "void_value",
    "adjustment_value",
    "count_value",
    "closing_value",
)
FUND_FIELDS = (
    "opening",
    "donations",
    "purchases",
    "reversals",
    "money_in",
    "money_out",
    "entries",
    "closing",
)
# The tie-out's headline: points net, their value at the rate, the cost issued, the difference
# and its explained parts.
TIEOUT_HEADLINE = (
    "points_net",
    "value_at_rate",
    "cost_issued",
    "difference",
    "rounding",
    "free_items",
    "price_changes",
    "timing",
    "remainder",
)


def build_area_report(month: str, *, town: str | None = None) -> dict[str, Any]:
    """One month across every supermarket of the county, or of one town (``Supermarket.town``):
    a line per supermarket (stock values, fund pool, the tie-out's headline, closed or not)
    and the totals.

    A supermarket whose month is closed shows its stored report. The others are computed
    together, with grouped queries over all of them at once (a handful, whatever their
    number): the month's stock movements, fund entries and redemptions grouped by supermarket,
    the opening from each one's latest stored close (the previous month's when closed) plus
    the postings since, exactly as :func:`build_report` does for one supermarket.
    """
    _check_month(month)
    if db.session.get_bind().dialect.name == "postgresql":
        # Group the month's lines in memory: with the default 4 MB the tie-out sorted a
        # million-movement month's lines on disk (1.95 → 1.72 s for a county month).
        db.session.execute(sa.text("SET LOCAL work_mem = '64MB'"))
    query = sa.select(Supermarket).order_by(Supermarket.code, Supermarket.id)
    if town is not None:
        query = query.where(Supermarket.town == town)
    supermarkets = list(db.session.scalars(query))
    if not supermarkets:
        raise NotFound(f"没有找到{town}的超市" if town else "还没有超市")
    ids = [s.id for s in supermarkets]
    policies = _policies(supermarkets)
    start, end = periods.month_bounds_utc(month)
    previous = periods.previous_month(month)

    # The month's own closes: figures as stored when the month was closed.
    closes = {
        sid: (closed_at, summary)
        for (sid, _month), (closed_at, summary) in _stored_summaries(
            sa.and_(MonthClose.month == month, _of(MonthClose.supermarket_id, ids))
        ).items()
    }
    live = [sid for sid in ids if closes.get(sid, (None, None))[1] is None]
    everyone = town is None and len(live) == len(ids)
    computed = _area_live(live, month, start, end, policies, everyone=everyone) if live else {}

    lines = []
    for s in supermarkets:
        closed_at, stored = closes.get(s.id, (None, None))
        if stored is not None:
            figures = stored | {"opening_from": "stored"}
            stock = {f: int(stored["stock_totals"][f]) for f in AREA_STOCK_FIELDS}
        else:
            figures = computed[s.id]
            stock = figures["stock"]
        lines.append(
            {
                "supermarket": {
                    "id": s.id,
                    "code": s.code,
                    "name": s.name,
                    "town": s.town,
                    "village": s.village,
                },
                "closed": closed_at is not None,
                "closed_at": closed_at.isoformat(timespec="seconds") if closed_at else None,
                "opening_from": figures["opening_from"],
                "stock": stock,
                "fund": {f: int(figures["fund"][f]) for f in FUND_FIELDS},
                "tieout": figures["tieout"],
            }
        )
    totals = {
        "stock": {f: sum(line["stock"][f] for line in lines) for f in AREA_STOCK_FIELDS},
        "fund": {f: sum(line["fund"][f] for line in lines) for f in FUND_FIELDS},
        "tieout": {f: sum(int(line["tieout"][f]) for line in lines) for f in TIEOUT_HEADLINE},
    }
    return {
        "month": month,
        "previous_month": previous,
        "town": town,
        "generated_at": utcnow().isoformat(timespec="seconds"),
        "from_utc": start.isoformat(),
        "to_utc": end.isoformat(),
        "supermarkets": len(lines),
        "closed": sum(1 for line in lines if line["closed"]),
        "lines": lines,
        "totals": totals,
    }


def _stored_summaries(
    where: Any,
) -> dict[tuple[int, str], tuple[datetime, dict[str, Any] | None]]:
    """(supermarket, month) → (closed at, the stored report's ``stock_totals``, ``fund`` and
    ``tieout``, or None when the close has no summary of this REPORT_VERSION), for the closes
    matching ``where``.

    A county supermarket's stored report is half a megabyte, nearly all of it product lines;
    the area report reads the close's summary column instead (a few hundred bytes), which
    ``jifen check`` proves equal to the report. A close without one is computed from the
    ledgers like an open month.
    """
    out: dict[tuple[int, str], tuple[datetime, dict[str, Any] | None]] = {}
    rows = db.session.execute(
        sa.select(
            MonthClose.supermarket_id, MonthClose.month, MonthClose.closed_at, MonthClose.summary
        ).where(where)
    )
    for sid, month, closed_at, summary in rows:
        readable = isinstance(summary, dict) and summary.get("version") == REPORT_VERSION
        out[(sid, month)] = (closed_at, _summary(summary) if readable else None)
    return out


def report_summary(report: dict[str, Any]) -> dict[str, Any] | None:
    """What a close keeps beside its report (``MonthClose.summary``): the report's version,
    stock totals, fund and tie-out; None for a report without them."""
    parts = _summary(report) if isinstance(report, dict) else None
    return None if parts is None else {"version": report.get("version")} | parts


def _summary(parts: dict[str, Any]) -> dict[str, Any] | None:
    """The totals, fund and tie-out of a stored report (None if any is missing)."""
    if not all(isinstance(parts.get(k), dict) for k in ("stock_totals", "fund", "tieout")):
        return None
    return {k: parts[k] for k in ("stock_totals", "fund", "tieout")}


AREA_HEADERS = (
    "超市编号",
    "超市",
    "镇（街道）",
    "状态",
    "期初库存",
    "采购入库",
    "捐赠入库",
    "兑换出库",
    "作废退回",
    "报损",
    "盘点差异",
    "期末库存",
    "基金池期初",
    "基金池收入",
    "基金池支出",
    "基金池期末",
    "兑换积分净额",
    "折合金额",
    "发出成本",
    "差额",
    "进位差",
    "免费项目",
    "价格变动",
    "记账跨月",
    "折算尾差",
)


def _area_cells(stock: dict[str, Any], fund: dict[str, Any], tieout: dict[str, Any]) -> list[Any]:
    from kiosk.export import yuan

    return [
        *(yuan(stock[f]) for f in AREA_STOCK_FIELDS),
        *(yuan(fund[f]) for f in ("opening", "money_in", "money_out", "closing")),
        tieout["points_net"],
        *(yuan(tieout[f]) for f in TIEOUT_HEADLINE[1:]),
    ]


def area_report_xlsx(report: dict[str, Any]) -> tuple[bytes, str]:
    """The area report as a printable workbook (one row per supermarket and a 合计 row) and
    its file name."""
    from kiosk import export

    rows = []
    for line in report["lines"]:
        sm = line["supermarket"]
        rows.append(
            [
                sm["code"],
                sm["name"],
                sm["town"],
                "已结账" if line["closed"] else "未结账",
                *_area_cells(line["stock"], line["fund"], line["tieout"]),
            ]
        )
    t = report["totals"]
    rows.append(
        [
            "合计",
            f"{report['supermarkets']}个超市",
            "",
            f"已结账{report['closed']}个",
            *_area_cells(t["stock"], t["fund"], t["tieout"]),
        ]
    )
    where = report["town"] or "全县"
    sheet = export.Sheet(
        title=f"{where}积分超市{report['month']}月结汇总",
        subtitle=[
            f"月份：{report['month']}　超市：{report['supermarkets']}个（已结账"
            f"{report['closed']}个）　金额单位：元",
            "已结账的超市按结账时保存的报表；未结账的按台账当前数据计算。",
        ],
        headers=AREA_HEADERS,
        rows=rows,
        footer=["经办人：　　　　　　审核人：　　　　　　监督小组："],
        widths=(9, 18, 10, 8, *([12] * 12), 10, *([11] * 8)),
        money_columns=(*range(4, 16), *range(17, 25)),
        name=f"{report['month']}月结汇总",
    )
    return export.workbook_bytes([sheet]), f"月结汇总_{where}_{report['month']}.xlsx"


def _policies(supermarkets: list[Supermarket]) -> dict[int, Any]:
    """Each supermarket's policy, parsed once per distinct rule set (a county runs a few)."""
    parsed: dict[str, Any] = {}
    out = {}
    for s in supermarkets:
        key = json.dumps(s.policy, sort_keys=True) + f"|{s.points_per_yuan}"
        if key not in parsed:
            parsed[key] = policy_for(s)
        out[s.id] = parsed[key]
    return out


def _area_live(
    ids: list[int],
    month: str,
    start: datetime,
    end: datetime,
    policies: dict[int, Any],
    *,
    everyone: bool,
) -> dict[int, dict[str, Any]]:
    """Stock values, fund and tie-out of the month for supermarkets whose month is open, from
    grouped queries over all of them at once (``everyone``: they are all the supermarkets
    there are)."""
    m = StockMovement
    value = m.quantity * m.unit_cost_fen

    # Openings: each one's latest close before the month (only its totals are read).
    latest = (
        sa.select(MonthClose.supermarket_id, sa.func.max(MonthClose.month).label("month"))
        .where(MonthClose.month < month, _of(MonthClose.supermarket_id, ids))
        .group_by(MonthClose.supermarket_id)
        .subquery("latest")
    )
    bases: dict[int, tuple[str, int, int]] = {}
    stored = _stored_summaries(
        sa.tuple_(MonthClose.supermarket_id, MonthClose.month).in_(sa.select(latest))
    )
    for (sid, base_month), (_closed_at, summary) in stored.items():
        if summary is not None:
            bases[sid] = (
                base_month,
                int(summary["stock_totals"]["closing_value"]),
                int(summary["fund"]["closing"]),
            )
    stock_open = {sid: bases[sid][1] if sid in bases else 0 for sid in ids}
    fund_open = {sid: bases[sid][2] if sid in bases else 0 for sid in ids}
    # The postings between each base and the month: one query per distinct base month
    # (usually one: the previous month is closed everywhere, and then there is nothing).
    by_since: dict[datetime | None, list[int]] = defaultdict(list)
    for sid in ids:
        since = periods.month_bounds_utc(bases[sid][0])[1] if sid in bases else None
        if since is None or since < start:
            by_since[since].append(sid)
    for since, sids in by_since.items():
        before = _between(m.created_at, since, start)
        if everyone and len(sids) == len(ids):
            # Every supermarket from the same point (no close yet): through the date index,
            # summed by product first, then joined to the products ("+ 0": grouped by an
            # expression, SQLite does not walk the whole product index instead). With little
            # history before the month this reads next to nothing, where one range per product
            # costs a county's 300,000 index seeks.
            product = (m.product_id + 0).label("product_id")
            by_product = (
                sa.select(product, sa.func.sum(value).label("value"))
                .where(before)
                .group_by(product)
                .subquery("by_product")
            )
            opening_sql = (
                sa.select(Product.supermarket_id, sa.func.sum(by_product.c.value))
                .join(Product, Product.id == by_product.c.product_id)
                .group_by(Product.supermarket_id)
            )
        else:
            opening_sql = (
                sa.select(Product.supermarket_id, sa.func.sum(value))
                .join(Product, Product.id == m.product_id)
                .where(_of(Product.supermarket_id, sids), before)
                .group_by(Product.supermarket_id)
            )
        for sid, val in db.session.execute(opening_sql):
            stock_open[sid] += int(val or 0)
        query = _fund_sql("since" if since is not None else "before", False)
        for sid, total in db.session.execute(query, {"sids": sids, **_since_params(since, start)}):
            fund_open[sid] += int(total or 0)

    # The month's stock movements by supermarket and kind, through the supermarkets' products
    # and their movement index. (Summing by product through the date index first and joining
    # the sums to the products, as the openings below do, took 1.7× the CPU on SQLite for a
    # month of a million movements: the per-product ranges read the rows in index order.)
    in_month = sa.and_(m.created_at >= start, m.created_at < end)
    flows_sql = (
        sa.select(Product.supermarket_id, m.kind, sa.func.sum(value))
        .join(Product, Product.id == m.product_id)
        .where(_of(Product.supermarket_id, ids), in_month)
        .group_by(Product.supermarket_id, m.kind)
    )
    live = set(ids)
    flows: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(FLOW_KINDS.values(), 0))
    for sid, kind, val in db.session.execute(flows_sql):
        if sid in live:
            flows[sid][FLOW_KINDS.get(kind, "adjustment")] += int(val or 0)
    fund_rows: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    month_params = {"sids": ids, "start": start, "end": end}
    for sid, *row in db.session.execute(_fund_sql("month", False), month_params):
        fund_rows[sid].append(tuple(row))
    rates = {sid: policies[sid].points_per_yuan for sid in ids}
    sums = _tieout_sums(ids, start, end, rates)

    out = {}
    for sid in ids:
        f = flows[sid]
        opening = stock_open[sid]
        stock = {
            "opening_value": opening,
            "purchase_value": f["purchase"],
            "donation_value": f["donation"],
            "redeemed_value": -f["redeemed"],
            "void_value": f["void"],
            "adjustment_value": f["adjustment"],
            "count_value": f["count"],
            "closing_value": opening + sum(f.values()),
        }
        tieout = _tieout_from(
            *sums.get(sid, ((), _NO_COUNTS)),
            ppy=rates[sid],
            goods_cost_ledger=stock["redeemed_value"] - stock["void_value"],
        )
        tieout["spend"] = policies[sid].spend
        base = bases.get(sid)
        out[sid] = {
            "opening_from": "close"
            if base and base[0] == periods.previous_month(month)
            else "ledger",
            "stock": stock,
            "fund": _fund_from(fund_rows.get(sid, ()), fund_open[sid]),
            "tieout": tieout,
        }
    return out


# ---- closing -------------------------------------------------------------------------------


def month_status(supermarket_id: int, month: str) -> MonthClose | None:
    """The month's close, or None while it is open."""
    return db.session.scalar(
        sa.select(MonthClose).where(
            MonthClose.supermarket_id == supermarket_id, MonthClose.month == month
        )
    )


def close_refusals(supermarket_id: int, month: str) -> list[Message]:
    """Every reason this month cannot be closed now (empty: it may close)."""
    _check_month(month)
    reasons = []
    if periods.is_closed(supermarket_id, month):
        return [_("%(month)s 已经结账", month=month)]
    current = periods.month_key(clock.local_now())
    if month >= current:
        reasons.append(_("%(month)s 还没有结束，月末过后才能结账", month=month))
    expected = periods.next_month_to_close(supermarket_id)
    if month > expected:
        reasons.append(_("月份要按顺序结账：请先结 %(month)s", month=expected))
    elif month < expected:
        reasons.append(_("%(month)s 在本超市账目开始之前，不需要结账", month=month))
    _start, end = periods.month_bounds_utc(month)
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
        word = {
            "counting": _("正在盘点"),
            "submitted": _("已提交待审核"),
            "approved": _("已审核待过账"),
        }
        reasons.append(
            _(
                "第%(id)s号盘点%(status)s，盘点过账后才能结账",
                id=sid,
                status=word.get(status, status),
            )
        )
    return reasons


def close_month(supermarket_id: int, month: str, *, actor: User) -> MonthClose:
    """Close a month (月结): store its report and lock it. Admins only; months close in order,
    never before they end, never while a count is unposted."""
    _check_month(month)
    if not permissions.allows(actor, "monthend.close"):
        raise PermissionDenied(_("只有村委管理员可以月结"))
    if not permissions.works_for(actor, supermarket_id):
        raise PermissionDenied(_("不能为其他超市月结"))
    try:
        with write_transaction():
            # Lock the supermarket row: two admins closing at once close the month once.
            db.session.execute(
                sa.update(Supermarket)
                .where(Supermarket.id == supermarket_id)
                .values(next_receipt_no=Supermarket.next_receipt_no)
            )
            if db.session.get(Supermarket, supermarket_id) is None:
                raise NotFound(_("没有找到该超市"))
            reasons = close_refusals(supermarket_id, month)
            if reasons:
                raise MonthCloseRefused(reasons)
            report = build_report(supermarket_id, month)
            close = MonthClose(
                supermarket_id=supermarket_id,
                month=month,
                report=report,
                summary=report_summary(report),
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
        raise MonthCloseRefused([_("%(month)s 已经结账", month=month)]) from None
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
    current = periods.month_key(clock.local_now())
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


def _month_ranges(months: list[str]) -> sa.Subquery:
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


def check_problems() -> list[Problem]:
    """Closed months still read as closed: nothing stamped inside a closed month after its
    close, nothing dated before the first closed month, and each stored report's closing stock,
    fund and net points equal the ledgers.

    Supermarkets are checked a group at a time: each group's closed months are read with one
    range join per ledger, and its stored reports one at a time, so a county's check holds one
    group's flows and one report in memory (a county's reports together are gigabytes).
    """

    problems: list[Problem] = []
    by_sm: dict[int, list[tuple[str, datetime | None]]] = defaultdict(list)
    for sid, month, closed_at in db.session.execute(
        sa.select(MonthClose.supermarket_id, MonthClose.month, MonthClose.closed_at).order_by(
            MonthClose.supermarket_id, MonthClose.month
        )
    ):
        try:
            periods.parse_month(month)
        except ValueError:
            problems.append(Problem("month", f"supermarket {sid}", f"bad month {month!r}"))
            continue
        by_sm[sid].append((month, closed_at))
    if not by_sm:
        return problems

    m, R = StockMovement, Redemption
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

    sids = sorted(by_sm)
    for i in range(0, len(sids), _SUPERMARKETS_PER_PASS):
        group = sids[i : i + _SUPERMARKETS_PER_PASS]
        flows = _closed_month_flows(group, sorted({mo for s in group for mo, _ in by_sm[s]}))
        for sid in group:
            problems += _check_supermarket_closes(sid, by_sm[sid], earliest.get(sid), flows)
    return problems


_SUPERMARKETS_PER_PASS = 20


def _closed_month_flows(
    sids: list[int], months: list[str]
) -> dict[str, dict[tuple[int, str], Any]]:
    """What the ledgers posted in each of ``months`` for the supermarkets ``sids``: stock per
    product, the fund pool, net points, and the latest posting's stamp."""
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
            .where(Product.supermarket_id.in_(sids))
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
            .where(FundAccount.supermarket_id.in_(sids))
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
                .where(R.supermarket_id.in_(sids))
                .group_by(rng.c.month, R.supermarket_id)
            ):
                points[(sid, month)] += sign * int(total or 0)
                seen(sid, month, last)
    return {"stock": stock, "fund": fund, "points": points, "latest": latest}


def _check_supermarket_closes(
    sid: int,
    closes: list[tuple[str, datetime | None]],
    earliest: datetime | None,
    flows: dict[str, dict[tuple[int, str], Any]],
) -> list[Problem]:
    """One supermarket's closed months against its ledgers, its stored reports read in
    month order one at a time."""

    problems: list[Problem] = []
    stock, fund, points, latest = flows["stock"], flows["fund"], flows["points"], flows["latest"]
    first_start, _ = periods.month_bounds_utc(closes[0][0])
    if earliest is not None and earliest < first_start:
        problems.append(
            Problem(
                "month",
                f"supermarket {sid}",
                f"a posting stamped {earliest:%Y-%m-%d %H:%M:%S} is dated before the "
                f"first closed month {closes[0][0]}",
            )
        )
    closed_at_of = dict(closes)
    running: dict[int, tuple[int, int]] = {}
    fund_running = 0
    reports = db.session.execute(
        sa.select(MonthClose.month, MonthClose.report, MonthClose.summary)
        .where(MonthClose.supermarket_id == sid, MonthClose.month.in_(list(closed_at_of)))
        .order_by(MonthClose.month)
        .execution_options(yield_per=1)
    )
    for month, report, summary in reports:
        report = report or {}
        closed_at = closed_at_of[month]
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
        if summary != report_summary(report):
            # The area report reads the summary: it must say what the report says.
            problems.append(
                Problem("month", subject, "the close's summary differs from its stored report")
            )
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
    current = periods.month_key(clock.local_now())
    closed = []
    month = periods.next_month_to_close(supermarket.id)
    while month < current and not close_refusals(supermarket.id, month):
        close_month(supermarket.id, month, actor=admin)
        closed.append(month)
        month = periods.next_month(month)
    return closed
