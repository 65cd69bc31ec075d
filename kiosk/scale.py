"""Data at scale for benchmarks: a village, a town or a county, generated in bulk.

    jifen demo --scale village|town|county      (or python bench/generate.py)

A county is 300 supermarkets, 200,000 households with members and cards, about 10 million
point entries over three years, 2 million redemptions, 1,000 products per supermarket with
their stock-ins and monthly donations into the fund pool. The rows go in through SQLAlchemy
Core in large batches (no ORM objects, no per-row services), with ids assigned here, but
every invariant the services keep holds and ``jifen check`` passes afterwards: balances equal
their entries and never go below zero, stock never goes negative and equals its movements,
receipt numbers are gap-free per supermarket, the fund pool never goes below zero.

Each supermarket is generated on its own, in memory (a county supermarket holds about 670
households and 33,000 entries), with events processed in time order so that every running
balance (``balance_after``, ``quantity_after``, ``balance_after_fen``) is the one a real
history would have left.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from inventory.models import (
    FUND_DONATION,
    FUND_PURCHASE,
    KIND_GOODS,
    MOVE_REDEMPTION,
    MOVE_STOCK_IN,
    MOVE_VOID_RETURN,
    Category,
    FundAccount,
    FundEntry,
    Product,
    StockMovement,
)
from kiosk import presets
from kiosk.auth import _hash_secret
from kiosk.demo import ean13
from kiosk.extensions import db
from kiosk.models import (
    ENTRY_AWARD,
    ENTRY_DEDUCTION,
    ENTRY_REDEMPTION,
    ENTRY_REVERSAL,
    REDEMPTION_COMPLETED,
    REDEMPTION_VOIDED,
    Card,
    Household,
    Member,
    PointAccount,
    PointEntry,
    Redemption,
    RedemptionLine,
    Supermarket,
    User,
)
from kiosk.search_keys import build_search_key
from kiosk.timeutil import utcnow

BATCH = 20_000
YEARS = 3
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏"
)
GIVEN = "秀兰玉英桂芳建国志强明华丽娟海燕春梅德福金凤淑珍永红文军小平宏伟家乐子涵"
RELATIONS = ("配偶", "子", "女", "母", "父", "孙子", "孙女")
GOODS = (
    ("粮油", "大米", "袋", 4500),
    ("粮油", "花生油", "桶", 6800),
    ("粮油", "面粉", "袋", 3200),
    ("日用品", "洗衣粉", "袋", 1500),
    ("日用品", "牙膏", "支", 900),
    ("日用品", "毛巾", "条", 1200),
    ("日用品", "香皂", "块", 450),
    ("调味品", "酱油", "瓶", 850),
    ("调味品", "食盐", "袋", 250),
    ("调味品", "醋", "瓶", 650),
    ("文具", "作业本", "本", 300),
    ("文具", "铅笔", "盒", 800),
)
POLICIES = (presets.GAOYANG, presets.YANGTING, presets.DATONG)


@dataclass(frozen=True)
class Scale:
    supermarkets: int
    households: int
    products_per_supermarket: int
    entries: int  # point entries, approximately (awards, deductions, redemptions, reversals)
    redemptions: int  # approximately


SCALES: dict[str, Scale] = {
    "village": Scale(1, 600, 200, 36_000, 6_000),
    "town": Scale(20, 12_000, 1_000, 600_000, 120_000),
    "county": Scale(300, 200_000, 1_000, 10_000_000, 2_000_000),
}


@dataclass
class ScaleSummary:
    scale: str
    supermarkets: int = 0
    households: int = 0
    members: int = 0
    products: int = 0
    point_entries: int = 0
    redemptions: int = 0
    stock_movements: int = 0
    fund_entries: int = 0
    seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)


class _Ids:
    """The next free id of every table we fill (bulk paths assign ids themselves)."""

    def __init__(self) -> None:
        self.next: dict[str, int] = {}

    def start(self, model: Any) -> None:
        table = model.__table__
        top = db.session.scalar(sa.select(sa.func.max(table.c.id))) or 0
        self.next[table.name] = top + 1

    def take(self, model: Any, n: int = 1) -> int:
        name = model.__table__.name
        first = self.next[name]
        self.next[name] = first + n
        return first


class _Writer:
    """Buffers rows per table and writes them in large executemany batches, parents first."""

    # Foreign keys point only leftwards in this list, so flushing a table after every table
    # before it never inserts a row before the row it refers to.
    ORDER = (
        Supermarket,
        User,
        Category,
        Product,
        Household,
        Member,
        Card,
        PointAccount,
        FundAccount,
        FundEntry,
        Redemption,
        RedemptionLine,
        PointEntry,
        StockMovement,
    )

    def __init__(self) -> None:
        self.rows: dict[Any, list[dict[str, Any]]] = {m: [] for m in self.ORDER}
        self.written: dict[str, int] = {}

    def add(self, model: Any, row: dict[str, Any]) -> None:
        buf = self.rows[model]
        buf.append(row)
        if len(buf) >= BATCH:
            self.flush(upto=model)

    def flush(self, upto: Any | None = None) -> None:
        conn = db.session.connection()
        copy = conn.dialect.name == "postgresql"
        for m in self.ORDER:
            buf = self.rows[m]
            if buf:
                if copy and m is not Supermarket:  # (its policy is JSON: a plain INSERT)
                    _copy_rows(conn, m.__table__, buf)
                else:
                    conn.execute(m.__table__.insert(), buf)
                name = m.__table__.name
                self.written[name] = self.written.get(name, 0) + len(buf)
                self.rows[m] = []
            if m is upto:
                break


def _copy_rows(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL's COPY through psycopg: several times faster than batched INSERTs."""
    columns = list(rows[0])
    cursor = conn.connection.driver_connection.cursor()
    names = ", ".join(f'"{c}"' for c in columns)
    with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])
    cursor.close()


def _moments(rng: random.Random, start: datetime, end: datetime, n: int) -> list[datetime]:
    span = int((end - start).total_seconds())
    # Opening hours only: 08:00–18:00 local is 00:00–10:00 UTC.
    out = []
    for _ in range(n):
        t = start + timedelta(seconds=rng.randrange(span))
        t = t.replace(hour=rng.randrange(0, 10))
        out.append(min(t, end - timedelta(minutes=10)))
    return sorted(out)


def generate(
    scale_name: str,
    *,
    seed: int = 2026,
    now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ScaleSummary:
    """Fill the database with a village, town or county (see SCALES); returns what was made."""
    scale = SCALES[scale_name]
    rng = random.Random(seed)
    now = (now or utcnow()).replace(microsecond=0)
    start = now - timedelta(days=365 * YEARS)
    ids = _Ids()
    for model in (
        Supermarket,
        User,
        Category,
        Product,
        Household,
        Member,
        Card,
        PointAccount,
        Redemption,
        RedemptionLine,
        PointEntry,
        StockMovement,
        FundAccount,
        FundEntry,
    ):
        ids.start(model)
    first_serial = (db.session.scalar(sa.select(sa.func.max(Card.serial))) or 0) + 1
    serial = first_serial
    taken_codes = set(db.session.scalars(sa.select(Supermarket.code)))
    password = _hash_secret("keeper123")
    pin = _hash_secret("1234")
    writer = _Writer()
    summary = ScaleSummary(scale=scale_name)

    per_sm_households = _split(scale.households, scale.supermarkets)
    entries_per_household = scale.entries / scale.households
    redemptions_per_household = scale.redemptions / scale.households
    t0 = utcnow()
    for s_index in range(scale.supermarkets):
        sm_id = ids.take(Supermarket)
        code = f"S{s_index + 1:04d}"
        while code in taken_codes:
            code = "X" + code
        policy = POLICIES[s_index % len(POLICIES)]
        n_households = per_sm_households[s_index]
        sm = _Supermarket(sm_id, code, policy.points_per_yuan)
        writer.add(
            Supermarket,
            {
                "id": sm_id,
                "code": code,
                "name": f"第{s_index + 1}村积分超市",
                "town": f"第{s_index // 20 + 1}镇",
                "village": f"第{s_index + 1}村",
                "points_per_yuan": policy.points_per_yuan,
                "policy": presets.policy_to_dict(policy),
                "next_receipt_no": 1,
                "fund_advance_limit_fen": 0,
                "created_at": start,
            },
        )
        keeper_id = ids.take(User)
        for uid, role, suffix in ((keeper_id, "keeper", "k"), (ids.take(User), "admin", "a")):
            writer.add(
                User,
                {
                    "id": uid,
                    "supermarket_id": sm_id,
                    "username": f"{code.lower()}{suffix}",
                    "display_name": f"{code}{'店长' if role == 'keeper' else '村委'}",
                    "role": role,
                    "password_hash": password,
                    "pin_hash": pin if role == "keeper" else None,
                    "failed_attempts": 0,
                    "active": True,
                    "created_at": start,
                },
            )
        _products(sm, scale.products_per_supermarket, ids, writer, rng, start)
        serial = _households(sm, n_households, ids, writer, rng, start, serial, summary)
        _history(
            sm,
            keeper_id,
            ids,
            writer,
            rng,
            start,
            now,
            entries_per_household,
            redemptions_per_household,
            summary,
        )
        writer.flush()
        summary.supermarkets += 1
        if progress is not None:
            progress(s_index + 1, scale.supermarkets)
    writer.flush()
    _advance_sequences(ids)
    db.session.commit()
    summary.seconds = (utcnow() - t0).total_seconds()
    summary.counts = dict(writer.written)
    summary.point_entries = writer.written.get("point_entries", 0)
    summary.redemptions = writer.written.get("redemptions", 0)
    summary.stock_movements = writer.written.get("stock_movements", 0)
    summary.fund_entries = writer.written.get("fund_entries", 0)
    summary.products = writer.written.get("products", 0)
    return summary


def _split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


@dataclass
class _Supermarket:
    id: int
    code: str
    points_per_yuan: int
    # product id → (points price, unit cost fen, name, unit)
    products: list[tuple[int, int, int, str, str]] = field(default_factory=list)
    # household id → account id
    accounts: list[tuple[int, int, int | None]] = field(default_factory=list)


def _products(
    sm: _Supermarket,
    n: int,
    ids: _Ids,
    writer: _Writer,
    rng: random.Random,
    start: datetime,
) -> None:
    categories: dict[str, int] = {}
    for order, name in enumerate(dict.fromkeys(g[0] for g in GOODS)):
        cid = ids.take(Category)
        categories[name] = cid
        writer.add(
            Category, {"id": cid, "supermarket_id": sm.id, "name": name, "sort_order": order}
        )
    for i in range(n):
        category, base, unit, cost = GOODS[i % len(GOODS)]
        variant = i // len(GOODS)
        name = base if variant == 0 else f"{base}（{variant + 1}号）"
        cost = cost + variant * 10
        price = -(-cost * sm.points_per_yuan // 100)
        pid = ids.take(Product)
        writer.add(
            Product,
            {
                "id": pid,
                "supermarket_id": sm.id,
                "sku": f"P{i + 1:05d}",
                "barcode": ean13(f"69{sm.id % 10000:04d}{i + 1:06d}"),
                "name": name,
                "unit": unit,
                "category_id": categories[category],
                "kind": KIND_GOODS,
                "unit_cost_fen": cost,
                "points_price": price,
                "stock_qty": 0,  # set after the history, from its movements
                "active": True,
                "restriction_key": None,
                "created_at": start,
            },
        )
        sm.products.append((pid, price, cost, name, unit))


def _households(
    sm: _Supermarket,
    n: int,
    ids: _Ids,
    writer: _Writer,
    rng: random.Random,
    start: datetime,
    serial: int,
    summary: ScaleSummary,
) -> int:
    for i in range(n):
        hid = ids.take(Household)
        surname = rng.choice(SURNAMES)
        head = surname + "".join(rng.sample(GIVEN, 2))
        size = rng.choice((1, 2, 3, 3, 4, 5))
        names = [head] + [surname + "".join(rng.sample(GIVEN, 2)) for _ in range(size - 1)]
        number = f"{i // 100 + 1:02d}-{i % 100 + 1:03d}"
        writer.add(
            Household,
            {
                "id": hid,
                "supermarket_id": sm.id,
                "number": number,
                "head_name": head,
                "village": "",
                "group_name": f"第{i // 100 + 1}组",
                "status": "active",
                "search_key": build_search_key(number, [head, *names]),
                "created_at": start,
            },
        )
        for m, name in enumerate(names):
            writer.add(
                Member,
                {
                    "id": ids.take(Member),
                    "household_id": hid,
                    "name": name,
                    "relation": "户主" if m == 0 else rng.choice(RELATIONS),
                    "birth_date": date(rng.randint(1940, 2015), rng.randint(1, 12), 1),
                    "active": True,
                },
            )
            summary.members += 1
        card_id = ids.take(Card)
        writer.add(
            Card,
            {
                "id": card_id,
                "household_id": hid,
                "serial": serial,
                "issue_no": 1,
                "status": "active",
                "issued_at": start,
            },
        )
        serial += 1
        account_id = ids.take(PointAccount)
        # Written with zero balances now (point entries refer to it); the history sets them.
        writer.add(
            PointAccount,
            {
                "id": account_id,
                "household_id": hid,
                "balance": 0,
                "earned_total": 0,
                "redeemed_total": 0,
                "updated_at": start,
            },
        )
        sm.accounts.append((hid, account_id, card_id))
        summary.households += 1
    return serial


def _history(
    sm: _Supermarket,
    keeper_id: int,
    ids: _Ids,
    writer: _Writer,
    rng: random.Random,
    start: datetime,
    now: datetime,
    entries_per_household: float,
    redemptions_per_household: float,
    summary: ScaleSummary,
) -> None:
    """Awards, deductions, redemptions (some voided), stock-ins and fund entries, in time order."""
    # Every household's events, then one merged timeline for the supermarket.
    events: list[tuple[datetime, int, str, int]] = []  # (when, account index, kind, amount)
    for index in range(len(sm.accounts)):
        n_red = _around(rng, redemptions_per_household)
        n_other = max(1, _around(rng, entries_per_household - n_red * 1.02))
        for when in _moments(rng, start, now, n_other):
            if rng.random() < 0.08:
                events.append((when, index, ENTRY_DEDUCTION, -rng.choice((1, 2, 5))))
            else:
                events.append((when, index, ENTRY_AWARD, rng.choice((5, 10, 10, 20, 30, 50))))
        for when in _moments(rng, start, now, n_red):
            events.append((when, index, ENTRY_REDEMPTION, 0))
    events.sort(key=lambda e: (e[0], e[1]))

    balances = [0] * len(sm.accounts)
    earned = [0] * len(sm.accounts)
    redeemed = [0] * len(sm.accounts)
    last_entry_at = [start] * len(sm.accounts)
    stock: dict[int, int] = {}
    fund_id = ids.take(FundAccount)
    fund_balance = 0
    writer.add(
        FundAccount,
        {"id": fund_id, "supermarket_id": sm.id, "balance_fen": 0, "updated_at": start},
    )
    receipt_no = 0
    month_seen: set[tuple[int, int]] = set()

    def fund(when: datetime, kind: str, amount: int, note: str) -> None:
        nonlocal fund_balance
        fund_balance += amount
        writer.add(
            FundEntry,
            {
                "id": ids.take(FundEntry),
                "fund_account_id": fund_id,
                "kind": kind,
                "amount_fen": amount,
                "balance_after_fen": fund_balance,
                "ref_type": "",
                "ref_id": None,
                "reverses_id": None,
                "note": note,
                "created_by_id": keeper_id,
                "created_at": when,
            },
        )

    def restock(when: datetime, product: tuple[int, int, int, str, str], qty: int) -> None:
        pid, _price, cost, _name, _unit = product
        total = qty * cost
        if fund_balance < total:
            fund(when, FUND_DONATION, total - fund_balance + 100_000, "乡贤捐赠")
        fund(when, FUND_PURCHASE, -total, "采购入库")
        stock[pid] = stock.get(pid, 0) + qty
        writer.add(StockMovement, _movement(ids, pid, MOVE_STOCK_IN, qty, cost, stock[pid], when))

    for when, index, kind, amount in events:
        hid, account_id, card_id = sm.accounts[index]
        month = (when.year, when.month)
        if month not in month_seen:
            month_seen.add(month)
            fund(
                when - timedelta(minutes=1),
                FUND_DONATION,
                rng.choice((50_000, 100_000)),
                "月度捐赠",
            )
        if kind != ENTRY_REDEMPTION:
            balances[index] += amount
            if balances[index] < 0:  # a deduction never takes a balance below zero here
                amount -= balances[index]
                balances[index] = 0
                if amount == 0:
                    continue
            earned[index] += amount
            writer.add(
                PointEntry,
                _entry(ids, account_id, kind, amount, balances[index], when, "文明积分"),
            )
            last_entry_at[index] = when
            continue
        # A redemption of 1–3 goods the household can afford.
        picks = rng.sample(sm.products, k=min(len(sm.products), rng.choice((1, 2, 2, 3))))
        lines = []
        total = 0
        for product in picks:
            qty = rng.choice((1, 1, 2))
            if total + product[1] * qty > balances[index]:
                continue
            lines.append((product, qty))
            total += product[1] * qty
        if not lines:
            continue
        receipt_no += 1
        rid = ids.take(Redemption)
        before = balances[index]
        balances[index] -= total
        voided = rng.random() < 0.01
        if not voided:
            redeemed[index] += total
        last_entry_at[index] = when
        cost_total = sum(p[2] * q for p, q in lines)
        writer.add(
            Redemption,
            {
                "id": rid,
                "supermarket_id": sm.id,
                "receipt_no": f"{sm.code}-{receipt_no:06d}",
                "household_id": hid,
                "account_id": account_id,
                "card_id": card_id,
                "keeper_id": keeper_id,
                "idempotency_key": f"scale-{sm.id}-{receipt_no}",
                "cart_hash": "",
                "total_points": total,
                "spent_points": total,
                "quota_left": None,
                "total_cost_fen": cost_total,
                "balance_before": before,
                "balance_after": before - total,
                "status": REDEMPTION_VOIDED if voided else REDEMPTION_COMPLETED,
                "created_at": when,
                "voided_at": when + timedelta(minutes=5) if voided else None,
                "voided_by_id": keeper_id if voided else None,
                "void_reason": "录错了" if voided else None,
            },
        )
        for product, qty in lines:
            pid, price, cost, name, unit = product
            writer.add(
                RedemptionLine,
                {
                    "id": ids.take(RedemptionLine),
                    "redemption_id": rid,
                    "product_id": pid,
                    "product_name": name,
                    "unit": unit,
                    "quantity": qty,
                    "unit_points": price,
                    "unit_cost_fen": cost,
                    "line_points": price * qty,
                    "restriction_key": None,
                },
            )
            if stock.get(pid, 0) < qty:
                restock(when - timedelta(hours=1), product, 50)
            stock[pid] -= qty
            writer.add(
                StockMovement,
                _movement(ids, pid, MOVE_REDEMPTION, -qty, cost, stock[pid], when, rid),
            )
        entry_id = ids.take(PointEntry)
        writer.add(
            PointEntry,
            _entry(
                ids,
                account_id,
                ENTRY_REDEMPTION,
                -total,
                balances[index],
                when,
                f"兑换 {sm.code}-{receipt_no:06d}",
                rid,
                entry_id=entry_id,
            ),
        )
        if voided:
            back = when + timedelta(minutes=5)
            balances[index] += total
            writer.add(
                PointEntry,
                _entry(
                    ids,
                    account_id,
                    ENTRY_REVERSAL,
                    total,
                    balances[index],
                    back,
                    "作废退回",
                    rid,
                    reverses_id=entry_id,
                ),
            )
            for product, qty in lines:
                pid, _price, cost, _name, _unit = product
                stock[pid] += qty
                writer.add(
                    StockMovement,
                    _movement(ids, pid, MOVE_VOID_RETURN, qty, cost, stock[pid], back, rid),
                )
    # Snapshots equal to their ledgers.
    writer.flush()
    conn = db.session.connection()
    accounts = PointAccount.__table__
    conn.execute(
        accounts.update()
        .where(accounts.c.id == sa.bindparam("aid"))
        .values(
            balance=sa.bindparam("bal"),
            earned_total=sa.bindparam("earned"),
            redeemed_total=sa.bindparam("redeemed"),
            updated_at=sa.bindparam("at"),
        ),
        [
            {
                "aid": account_id,
                "bal": balances[index],
                "earned": earned[index],
                "redeemed": redeemed[index],
                "at": last_entry_at[index],
            }
            for index, (_hid, account_id, _card) in enumerate(sm.accounts)
        ],
    )
    supermarkets = Supermarket.__table__
    conn.execute(
        supermarkets.update()
        .where(supermarkets.c.id == sm.id)
        .values(next_receipt_no=receipt_no + 1)
    )
    funds = FundAccount.__table__
    conn.execute(funds.update().where(funds.c.id == fund_id).values(balance_fen=fund_balance))
    if stock:
        products = Product.__table__
        conn.execute(
            products.update()
            .where(products.c.id == sa.bindparam("pid"))
            .values(stock_qty=sa.bindparam("qty")),
            [{"pid": pid, "qty": qty} for pid, qty in stock.items()],
        )


def _around(rng: random.Random, mean: float) -> int:
    """A whole number near ``mean`` whose average over many draws is ``mean``."""
    if mean <= 0:
        return 0
    low = int(mean)
    return low + (1 if rng.random() < mean - low else 0)


def _entry(
    ids: _Ids,
    account_id: int,
    kind: str,
    amount: int,
    after: int,
    when: datetime,
    reason: str,
    redemption_id: int | None = None,
    *,
    entry_id: int | None = None,
    reverses_id: int | None = None,
) -> dict[str, Any]:
    return {
        "id": entry_id if entry_id is not None else ids.take(PointEntry),
        "account_id": account_id,
        "kind": kind,
        "amount": amount,
        "balance_after": after,
        "reason": reason,
        "redemption_id": redemption_id,
        "reverses_id": reverses_id,
        "idempotency_key": None,
        "created_by_id": None,
        "created_at": when,
    }


def _movement(
    ids: _Ids,
    product_id: int,
    kind: str,
    qty: int,
    cost: int,
    after: int,
    when: datetime,
    redemption_id: int | None = None,
) -> dict[str, Any]:
    return {
        "id": ids.take(StockMovement),
        "product_id": product_id,
        "kind": kind,
        "quantity": qty,
        "unit_cost_fen": cost,
        "quantity_after": after,
        "redemption_id": redemption_id,
        "reverses_id": None,
        "supplier": "",
        "invoice_no": "",
        "note": "",
        "reason": "",
        "ref_type": "",
        "ref_id": None,
        "created_by_id": None,
        "created_at": when,
    }


def _advance_sequences(ids: _Ids) -> None:
    """On PostgreSQL, move each id sequence past the ids assigned here."""
    if db.engine.dialect.name != "postgresql":
        return
    for table, next_id in ids.next.items():
        db.session.execute(
            sa.text("SELECT setval(pg_get_serial_sequence(:t, 'id'), :v, false)"),
            {"t": table, "v": next_id},
        )
