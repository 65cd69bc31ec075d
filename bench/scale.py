"""Data at scale for benchmarks: a village, a town or a county, generated in bulk.

    python bench/scale.py village|town|county [--seed N]   (or bench/generate.py, which times it)

A county is 300 supermarkets, 200,000 households with members and cards, about 10 million
point entries over three years, 2 million redemptions, 1,000 products per supermarket with
their stock-in documents, donations, monthly counts and closed months. The rows go in through
SQLAlchemy Core in large batches (COPY on PostgreSQL; no ORM objects, no per-row services),
with ids assigned here, but every invariant the services keep holds and ``jifen check``
passes afterwards: balances equal their entries and never go below zero, stock never goes
negative and equals its movements, receipt, stock-in and donation numbers are gap-free per
supermarket, the fund pool never goes below zero, closed months match their stored reports.

Each supermarket is generated on its own, in memory (a county supermarket holds about 670
households and 33,000 entries), with events processed in time order (a heap: a void five
minutes after its redemption comes after whatever happened in between) so that every running
balance (``balance_after``, ``quantity_after``, ``balance_after_fen``) is the one a real
history would have left, and ids grow with time in every ledger. Each supermarket is
committed on its own.

What the books hold, as the services would have written them:

- **Donations** (``inventory.donations``): each supermarket has its donors (a bank, a partner
  unit, the village collective, the town's reward, two 乡贤 and a villager). A cash donation
  comes in at the start of every month, and whenever a purchase needs more than the pool
  holds the village collective or a 乡贤 tops it up; now and then an enterprise gives goods
  in kind (``MOVE_DONATION_IN`` at the goods' cost). Receipt numbers JZ000001... per
  supermarket, the cash donations' pool entries refer to them.
- **Stock-in documents** (``inventory.stock``): when a redemption needs goods the shelf does
  not have, the keeper buys them, together with every other product running low (under 5),
  as one numbered document (RK000001...) paid from the fund pool.
- **Counts** (``inventory.stocktake``), after closing time on each month's last day: a cycle
  count of the goods that moved in the month, and in December the year-end full count
  (年终盘点) of every product. A full count every month (or quarter) would multiply the
  county's rows (1,000 lines a count against ~250 that moved) and its generation time for
  little realism: a village shop counts what moved, and everything once a year. Counted by
  the keeper (one "set" per line), approved by the admin, signed off by the supervisor;
  about 2% of lines differ by ±1 or ±2, posted as ``MOVE_COUNT`` movements.
- **Closed months** (``inventory.monthend``): every month from the first through the one two
  months before the current one is closed by the admin a day or two after it ended, with
  its report built by ``monthend.build_report``; the last complete month waits for its close
  (``periods.next_month_to_close``) and the current month is open.

Opening hours are 08:00–18:00 in the supermarket's time zone (``JIFEN_TIMEZONE``, UTC+8 by
default: the generator places events in 00:00–10:00 UTC), the counts at 18:10.
"""

from __future__ import annotations

import heapq
import os
import random
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import click
import sqlalchemy as sa
from flask.cli import ScriptInfo, with_appcontext

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # run as a script from a checkout: the packages beside bench/

from inventory import monthend, periods  # noqa: E402
from inventory.donations import receipt_label  # noqa: E402
from inventory.models import (  # noqa: E402
    COUNT_EVENT_SET,
    COUNT_POSTED,
    DONATION_CASH,
    DONATION_GOODS,
    DONATION_RECORDED,
    DONOR_COLLECTIVE,
    DONOR_ENTERPRISE,
    DONOR_INDIVIDUAL,
    DONOR_PARTNER,
    DONOR_TOWN,
    DONOR_XIANGXIAN,
    FUND_DONATION,
    FUND_PURCHASE,
    KIND_GOODS,
    MOVE_COUNT,
    MOVE_DONATION_IN,
    MOVE_REDEMPTION,
    MOVE_STOCK_IN,
    MOVE_VOID_RETURN,
    PAID_FROM_FUND,
    Category,
    Donation,
    Donor,
    FundAccount,
    FundEntry,
    MonthClose,
    Product,
    StockIn,
    StockMovement,
    Stocktake,
    StocktakeCount,
    StocktakeLine,
    stock_in_label,
)
from inventory.stock import REF_STOCK_IN  # noqa: E402
from inventory.stocktake import REASON_COUNT, REF_STOCKTAKE  # noqa: E402
from kiosk.auth import _hash_secret  # noqa: E402
from kiosk.clock import local_to_utc, utc_to_local  # noqa: E402
from kiosk.demo import ean13  # noqa: E402
from kiosk.extensions import db  # noqa: E402
from kiosk.models import (  # noqa: E402
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
from kiosk.redemption import receipt_number  # noqa: E402
from kiosk.rules import policy_io, presets  # noqa: E402
from kiosk.schema import table_names, upgrade_database  # noqa: E402
from kiosk.search_keys import build_search_key  # noqa: E402
from kiosk.timeutil import utcnow  # noqa: E402

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
SUPPLIERS = ("县供销社", "镇批发部", "县百货公司")
LOW_STOCK = 5  # a product under this is bought again with the next purchase
MAX_STOCK_IN_LINES = 40
COUNT_VARIANCE_RATE = 0.02  # share of counted lines whose count differs from the book
FULL_COUNT_MONTHS = (12,)  # the year-end count (年终盘点) covers every product


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
    donations: int = 0
    stock_ins: int = 0
    stocktakes: int = 0
    month_closes: int = 0
    seconds: float = 0.0
    report_seconds: float = 0.0  # of which building the closed months' reports
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

    def last(self, model: Any) -> int:
        """The highest id taken so far (0 for an empty table)."""
        return self.next[model.__table__.name] - 1


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
        Donor,
        FundAccount,
        FundEntry,
        Donation,
        StockIn,
        Redemption,
        RedemptionLine,
        PointEntry,
        StockMovement,
        Stocktake,
        StocktakeLine,
        StocktakeCount,
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
        if copy:
            # Skip the per-row foreign-key triggers while copying rows whose keys were all
            # assigned here (a quarter of the load time); the transaction ends it. SQLite, with
            # its foreign keys on, checks the same rows in the tests.
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
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
        out.append(max(start, min(t, end - timedelta(minutes=10))))
    return sorted(out)


def generate(
    scale_name: str,
    *,
    seed: int = 2026,
    now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
    resume: bool = False,
) -> ScaleSummary:
    """Fill the database with a village, town or county (see SCALES); returns what was made.

    Each supermarket is committed on its own, so an interrupted run leaves whole supermarkets
    behind; ``resume`` carries on after them (S0001... already there) instead of adding a
    second set.
    """
    scale = SCALES[scale_name]
    first_index = 0
    if resume:
        codes = db.session.scalars(sa.select(Supermarket.code).where(Supermarket.code.like("S%")))
        first_index = len([c for c in codes if re.fullmatch(r"S\d{4}", c)])
    # (a resumed run draws other numbers than an uninterrupted one would: still a county)
    rng = random.Random(seed if first_index == 0 else f"{seed}-{first_index}")
    now = (now or utcnow()).replace(microsecond=0)
    start = now - timedelta(days=365 * YEARS)
    ids = _Ids()
    for model in (*_Writer.ORDER, MonthClose):
        ids.start(model)
    first_serial = (db.session.scalar(sa.select(sa.func.max(Card.serial))) or 0) + 1
    serial = first_serial
    taken_codes = set(db.session.scalars(sa.select(Supermarket.code)))
    password = _hash_secret("keeper123")
    pin = _hash_secret("1234")
    writer = _Writer()
    summary = ScaleSummary(scale=scale_name)
    calendar = _Calendar(start, now)

    per_sm_households = _split(scale.households, scale.supermarkets)
    entries_per_household = scale.entries / scale.households
    redemptions_per_household = scale.redemptions / scale.households
    t0 = utcnow()
    for s_index in range(first_index, scale.supermarkets):
        sm_id = ids.take(Supermarket)
        code = f"S{s_index + 1:04d}"
        while code in taken_codes:
            code = "X" + code
        policy = POLICIES[s_index % len(POLICIES)]
        n_households = per_sm_households[s_index]
        sm = _Supermarket(sm_id, code, policy.points_per_yuan)
        town = f"第{s_index // 20 + 1}镇"
        village = f"第{s_index + 1}村"
        writer.add(
            Supermarket,
            {
                "id": sm_id,
                "code": code,
                "name": f"{village}积分超市",
                "town": town,
                "village": village,
                "points_per_yuan": policy.points_per_yuan,
                "policy": policy_io.policy_to_dict(policy),
                "next_receipt_no": 1,
                "fund_advance_limit_fen": 0,
                "created_at": start,
            },
        )
        for role, suffix, title in (
            ("keeper", "k", "店长"),
            ("admin", "a", "村委"),
            ("supervisor", "s", "监督小组"),
        ):
            uid = ids.take(User)
            setattr(sm, f"{role}_id", uid)
            writer.add(
                User,
                {
                    "id": uid,
                    "supermarket_id": sm_id,
                    "username": f"{code.lower()}{suffix}",
                    "display_name": f"{code}{title}",
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
        _donors(sm, village, town, ids, writer, rng, start)
        history = _History(
            sm, ids, writer, rng, calendar, entries_per_household, redemptions_per_household
        )
        history.run()
        summary.month_closes += history.closes
        summary.report_seconds += history.report_seconds
        _advance_sequences(ids)
        db.session.commit()
        if (s_index + 1) & s_index == 0:  # 1, 2, 4, 8...: the statistics stay within 2×
            _analyze()
        summary.supermarkets += 1
        if progress is not None:
            progress(s_index + 1, scale.supermarkets)
    writer.flush()
    _advance_sequences(ids)
    db.session.commit()
    _analyze()
    summary.seconds = (utcnow() - t0).total_seconds()
    summary.counts = dict(writer.written)
    summary.counts["month_closes"] = summary.month_closes
    summary.point_entries = writer.written.get("point_entries", 0)
    summary.redemptions = writer.written.get("redemptions", 0)
    summary.stock_movements = writer.written.get("stock_movements", 0)
    summary.fund_entries = writer.written.get("fund_entries", 0)
    summary.products = writer.written.get("products", 0)
    summary.donations = writer.written.get("donations", 0)
    summary.stock_ins = writer.written.get("stock_ins", 0)
    summary.stocktakes = writer.written.get("stocktakes", 0)
    return summary


def _split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


class _Calendar:
    """The local months of the history: which have ended, when each is counted and closed."""

    def __init__(self, start: datetime, now: datetime) -> None:
        self.start, self.now = start, now
        self.first = periods.month_of(start)
        self.current = periods.month_of(now)
        # The last complete month stays open for the keeper to close; the ones before close.
        self.last_to_close = periods.previous_month(periods.previous_month(self.current))
        self.ended = periods.months_between(self.first, periods.previous_month(self.current))
        self.closing = periods.months_between(self.first, self.last_to_close)
        self.bounds = {m: periods.month_bounds_utc(m) for m in self.ended}

    def count_time(self, month: str) -> datetime | None:
        """18:10 local on the month's last day, after the shop shut (None before the books)."""
        end_local = utc_to_local(self.bounds[month][1])
        moment = local_to_utc(end_local - timedelta(days=1) + timedelta(hours=18, minutes=10))
        return moment if moment > self.start else None


@dataclass
class _Supermarket:
    id: int
    code: str
    points_per_yuan: int
    keeper_id: int = 0
    admin_id: int = 0
    supervisor_id: int = 0
    # (product id, points price, unit cost fen, name, unit)
    products: list[tuple[int, int, int, str, str]] = field(default_factory=list)
    # (household id, account id, card id)
    accounts: list[tuple[int, int, int | None]] = field(default_factory=list)
    # (donor id, name, kind)
    donors: list[tuple[int, str, str]] = field(default_factory=list)


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


def _donors(
    sm: _Supermarket,
    village: str,
    town: str,
    ids: _Ids,
    writer: _Writer,
    rng: random.Random,
    start: datetime,
) -> None:
    """The supermarket's donors (捐赠方): organisations by full name, people masked or not."""
    people = [rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, 2)) for _ in range(3)]
    for name, kind, publish in (
        ("县农商银行", DONOR_ENTERPRISE, False),
        ("县供电公司", DONOR_PARTNER, False),
        (f"{village}村集体", DONOR_COLLECTIVE, False),
        (f"{town}政府（积分超市奖励）", DONOR_TOWN, False),
        (people[0], DONOR_XIANGXIAN, True),
        (people[1], DONOR_XIANGXIAN, False),
        (people[2], DONOR_INDIVIDUAL, False),
    ):
        donor_id = ids.take(Donor)
        writer.add(
            Donor,
            {
                "id": donor_id,
                "supermarket_id": sm.id,
                "name": name,
                "kind": kind,
                "contact": "",
                "publish_full_name": publish,
                "active": True,
                "created_at": start,
            },
        )
        sm.donors.append((donor_id, name, kind))


# Event kinds on a supermarket's timeline (the heap orders same-moment events by this rank).
_EV_CLOSE, _EV_COUNT, _EV_GOODS_GIFT, _EV_POINTS, _EV_REDEEM, _EV_VOID = range(6)


class _History:
    """One supermarket's three years, in time order: monthly cash donations, points awarded
    and deducted, redemptions (1% voided five minutes later), purchases when the shelf runs
    out, goods donated in kind, and the month-end count."""

    def __init__(
        self,
        sm: _Supermarket,
        ids: _Ids,
        writer: _Writer,
        rng: random.Random,
        calendar: _Calendar,
        entries_per_household: float,
        redemptions_per_household: float,
    ) -> None:
        self.sm, self.ids, self.writer, self.rng, self.cal = sm, ids, writer, rng, calendar
        self.entries_per_household = entries_per_household
        self.redemptions_per_household = redemptions_per_household
        n = len(sm.accounts)
        self.balances = [0] * n
        self.earned = [0] * n
        self.redeemed = [0] * n
        self.last_entry_at = [calendar.start] * n
        self.stock: dict[int, int] = {}
        self.last_move: dict[int, int] = {}  # product id → its latest movement id
        self.low: set[int] = set()  # stocked products under LOW_STOCK
        self.moved: set[int] = set()  # products that moved this month (the cycle count)
        self.by_id = {p[0]: p for p in sm.products}
        self.fund_id = 0
        self.fund_balance = 0
        self.receipt_no = 0
        self.stock_in_no = 0
        self.donation_seq = 0
        self.clock = calendar.start  # the latest moment written: nothing is written before it
        self.closes = 0
        self.report_seconds = 0.0

    # ---- the timeline

    def run(self) -> None:
        sm, rng, cal = self.sm, self.rng, self.cal
        # (when, rank, tie, payload): ``tie`` is unique, so payloads are never compared.
        events: list[tuple[datetime, int, int, Any]] = []
        for index in range(len(sm.accounts)):
            n_red = _around(rng, self.redemptions_per_household)
            n_other = max(1, _around(rng, self.entries_per_household - n_red * 1.02))
            for when in _moments(rng, cal.start, cal.now, n_other):
                if rng.random() < 0.08:
                    amount = -rng.choice((1, 2, 5))
                    events.append((when, _EV_POINTS, len(events), (index, ENTRY_DEDUCTION, amount)))
                else:
                    amount = rng.choice((5, 10, 10, 20, 30, 50))
                    events.append((when, _EV_POINTS, len(events), (index, ENTRY_AWARD, amount)))
            for when in _moments(rng, cal.start, cal.now, n_red):
                events.append((when, _EV_REDEEM, len(events), index))
        for month in cal.ended:
            at = cal.count_time(month)
            if at is not None:
                events.append((at, _EV_COUNT, len(events), month))
        for month in cal.closing:
            at = cal.bounds[month][1] + timedelta(
                days=rng.choice((1, 2)), hours=rng.randrange(1, 9)
            )
            events.append((at, _EV_CLOSE, len(events), month))
        for month in [*cal.ended, cal.current]:
            first, last = self._month_span(month)
            if rng.random() < 0.25 and last - first > timedelta(days=1):  # goods, now and then
                events.append((_moments(rng, first, last, 1)[0], _EV_GOODS_GIFT, len(events), None))
        heapq.heapify(events)
        self.fund_id = self.ids.take(FundAccount)
        self.writer.add(
            FundAccount,
            {
                "id": self.fund_id,
                "supermarket_id": sm.id,
                "balance_fen": 0,
                "updated_at": cal.start,
            },
        )
        month_seen: set[tuple[int, int]] = set()
        tie = len(events)
        while events:
            when, rank, _tie, payload = heapq.heappop(events)
            month = (when.year, when.month)
            if month not in month_seen:
                month_seen.add(month)
                self._cash_donation(
                    self._at(when - timedelta(minutes=1)),
                    self._donor(DONOR_ENTERPRISE, DONOR_PARTNER, DONOR_TOWN, DONOR_XIANGXIAN),
                    rng.choice((50_000, 100_000)),
                    "月度捐赠",
                )
            if rank == _EV_POINTS:
                self._points(when, *payload)
            elif rank == _EV_REDEEM:
                void = self._redeem(when, payload)
                if void is not None:
                    tie += 1
                    heapq.heappush(events, (when + timedelta(minutes=5), _EV_VOID, tie, void))
            elif rank == _EV_VOID:
                self._void(when, *payload)
            elif rank == _EV_GOODS_GIFT:
                self._goods_donation(when)
            elif rank == _EV_CLOSE:
                self._close(when, payload)
            else:
                self._count(when, payload)
            self.clock = max(self.clock, when)
        self._snapshots()

    def _month_span(self, month: str) -> tuple[datetime, datetime]:
        start, end = periods.month_bounds_utc(month)
        return max(start, self.cal.start), min(end, self.cal.now)

    def _at(self, moment: datetime) -> datetime:
        """A moment for something done just before an event (a purchase, a donation): never
        before what is already written, so ids grow with time."""
        self.clock = max(self.clock, moment)
        return self.clock

    def _donor(self, *kinds: str) -> tuple[int, str, str]:
        return self.rng.choice([d for d in self.sm.donors if d[2] in kinds])

    # ---- points

    def _points(self, when: datetime, index: int, kind: str, amount: int) -> None:
        self.balances[index] += amount
        if self.balances[index] < 0:  # a deduction never takes a balance below zero here
            amount -= self.balances[index]
            self.balances[index] = 0
            if amount == 0:
                return
        self.earned[index] += amount
        account_id = self.sm.accounts[index][1]
        self.writer.add(
            PointEntry,
            _entry(self.ids, account_id, kind, amount, self.balances[index], when, "文明积分"),
        )
        self.last_entry_at[index] = when

    def _redeem(self, when: datetime, index: int) -> tuple | None:
        """A redemption of 1–3 goods the household can afford; the void to come, if any."""
        sm, rng, ids, writer = self.sm, self.rng, self.ids, self.writer
        hid, account_id, card_id = sm.accounts[index]
        picks = rng.sample(sm.products, k=min(len(sm.products), rng.choice((1, 2, 2, 3))))
        lines = []
        total = 0
        for product in picks:
            qty = rng.choice((1, 1, 2))
            if total + product[1] * qty > self.balances[index]:
                continue
            lines.append((product, qty))
            total += product[1] * qty
        if not lines:
            return None
        short = [(p, q) for p, q in lines if self.stock.get(p[0], 0) < q]
        if short:
            self._purchase(self._at(when - timedelta(minutes=30)), short)
        self.receipt_no += 1
        receipt = receipt_number(sm.code, self.receipt_no)
        rid = ids.take(Redemption)
        before = self.balances[index]
        self.balances[index] -= total
        voided = rng.random() < 0.01
        if not voided:
            self.redeemed[index] += total
        self.last_entry_at[index] = when
        writer.add(
            Redemption,
            {
                "id": rid,
                "supermarket_id": sm.id,
                "receipt_no": receipt,
                "household_id": hid,
                "account_id": account_id,
                "card_id": card_id,
                "keeper_id": sm.keeper_id,
                "idempotency_key": f"scale-{sm.id}-{self.receipt_no}",
                "cart_hash": "",
                "total_points": total,
                "spent_points": total,
                "quota_left": None,
                "total_cost_fen": sum(p[2] * q for p, q in lines),
                "balance_before": before,
                "balance_after": before - total,
                "status": REDEMPTION_VOIDED if voided else REDEMPTION_COMPLETED,
                "created_at": when,
                "voided_at": when + timedelta(minutes=5) if voided else None,
                "voided_by_id": sm.keeper_id if voided else None,
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
            self._move(pid, MOVE_REDEMPTION, -qty, cost, when, redemption_id=rid)
        entry_id = ids.take(PointEntry)
        writer.add(
            PointEntry,
            _entry(
                ids,
                account_id,
                ENTRY_REDEMPTION,
                -total,
                self.balances[index],
                when,
                f"兑换 {receipt}",
                rid,
                entry_id=entry_id,
            ),
        )
        return (index, rid, total, lines, entry_id) if voided else None

    def _void(
        self, when: datetime, index: int, rid: int, total: int, lines: list, entry_id: int
    ) -> None:
        account_id = self.sm.accounts[index][1]
        self.balances[index] += total
        self.last_entry_at[index] = when
        self.writer.add(
            PointEntry,
            _entry(
                self.ids,
                account_id,
                ENTRY_REVERSAL,
                total,
                self.balances[index],
                when,
                "作废退回",
                rid,
                reverses_id=entry_id,
            ),
        )
        for product, qty in lines:
            self._move(product[0], MOVE_VOID_RETURN, qty, product[2], when, redemption_id=rid)

    # ---- goods and money

    def _move(self, pid: int, kind: str, qty: int, cost: int, when: datetime, **extra: Any) -> int:
        """Append a stock movement and follow the product's stock (never below zero)."""
        after = self.stock.get(pid, 0) + qty
        if after < 0:  # pragma: no cover - a bug in this generator, not in the data
            raise AssertionError(f"product {pid} would go to {after}")
        self.stock[pid] = after
        if after < LOW_STOCK:
            self.low.add(pid)
        else:
            self.low.discard(pid)
        self.moved.add(pid)
        row = _movement(self.ids, pid, kind, qty, cost, after, when)
        row.update(extra)
        self.writer.add(StockMovement, row)
        self.last_move[pid] = row["id"]
        return row["id"]

    def _fund(self, when: datetime, kind: str, amount: int, ref_type: str, ref_id: int, note: str):
        self.fund_balance += amount
        if self.fund_balance < 0:  # pragma: no cover - a bug in this generator
            raise AssertionError("the fund pool would go below zero")
        entry_id = self.ids.take(FundEntry)
        self.writer.add(
            FundEntry,
            {
                "id": entry_id,
                "fund_account_id": self.fund_id,
                "kind": kind,
                "amount_fen": amount,
                "balance_after_fen": self.fund_balance,
                "ref_type": ref_type,
                "ref_id": ref_id,
                "reverses_id": None,
                "note": note[:200],
                "created_by_id": self.sm.keeper_id,
                "created_at": when,
            },
        )
        return entry_id

    def _donation(
        self, when: datetime, donor: tuple[int, str, str], form: str, amount: int, note: str
    ) -> tuple[int, str, dict[str, Any]]:
        """A donation row with the next receipt number (its pool entry is the caller's)."""
        self.donation_seq += 1
        receipt_no = receipt_label(self.donation_seq)
        donation_id = self.ids.take(Donation)
        row = {
            "id": donation_id,
            "supermarket_id": self.sm.id,
            "seq": self.donation_seq,
            "receipt_no": receipt_no,
            "donor_id": donor[0],
            "form": form,
            "amount_fen": amount,
            "donated_on": utc_to_local(when).date(),
            "note": note,
            "status": DONATION_RECORDED,
            "fund_entry_id": None,
            "copies_printed": 0,
            "last_print_job_id": None,
            "created_by_id": self.sm.keeper_id,
            "created_at": when,
            "reversed_by_id": None,
            "reversed_at": None,
            "reverse_reason": "",
        }
        return donation_id, receipt_no, row

    def _cash_donation(
        self, when: datetime, donor: tuple[int, str, str], amount: int, note: str
    ) -> None:
        donation_id, receipt_no, row = self._donation(when, donor, DONATION_CASH, amount, note)
        row["fund_entry_id"] = self._fund(
            when, FUND_DONATION, amount, "donation", donation_id, f"{receipt_no} {donor[1]}"
        )
        self.writer.add(Donation, row)

    def _goods_donation(self, when: datetime) -> None:
        donor = self._donor(DONOR_ENTERPRISE, DONOR_PARTNER)
        picks = self.rng.sample(self.sm.products, k=min(len(self.sm.products), 2))
        lines = [(p, self.rng.choice((10, 20, 30))) for p in picks]
        total = sum(p[2] * q for p, q in lines)  # assessed at cost: the average stays put
        donation_id, receipt_no, row = self._donation(
            when, donor, DONATION_GOODS, total, "爱心物资"
        )
        self.writer.add(Donation, row)
        for product, qty in lines:
            self._move(
                product[0],
                MOVE_DONATION_IN,
                qty,
                product[2],
                when,
                supplier=donor[1][:100],
                invoice_no=receipt_no,
                note=f"捐赠 {receipt_no}",
                ref_type="donation",
                ref_id=donation_id,
                created_by_id=self.sm.keeper_id,
            )

    def _purchase(self, when: datetime, short: list[tuple[tuple, int]]) -> None:
        """One stock-in document paid from the fund pool: what the counter needs now and
        whatever else runs low, topped up by a donation when the pool cannot pay."""
        rng = self.rng
        wanted: dict[int, int] = {}
        for product, qty in short:
            wanted[product[0]] = max(qty, rng.choice((20, 30, 50)))
        for pid in sorted(self.low):
            if len(wanted) >= MAX_STOCK_IN_LINES:
                break
            wanted.setdefault(pid, rng.choice((20, 30, 50)))
        lines = [(self.by_id[pid], qty) for pid, qty in wanted.items()]
        total = sum(p[2] * q for p, q in lines)
        if self.fund_balance < total:
            donor = self._donor(DONOR_COLLECTIVE, DONOR_XIANGXIAN)
            gift = -(-(total - self.fund_balance) // 100_000) * 100_000 + 100_000
            self._cash_donation(when, donor, gift, "补充采购资金")
        self.stock_in_no += 1
        number = stock_in_label(self.stock_in_no)
        supplier = rng.choice(SUPPLIERS)
        invoice_no = f"FP{self.sm.id:04d}{self.stock_in_no:06d}"
        doc_id = self.ids.take(StockIn)
        entry_id = self._fund(
            when, FUND_PURCHASE, -total, REF_STOCK_IN, doc_id, f"入库单{number} {supplier}"
        )
        self.writer.add(
            StockIn,
            {
                "id": doc_id,
                "supermarket_id": self.sm.id,
                "number": self.stock_in_no,
                "supplier": supplier,
                "invoice_no": invoice_no,
                "paid_from": PAID_FROM_FUND,
                "total_cost_fen": total,
                "fund_entry_id": entry_id,
                "note": "补货",
                "created_by_id": self.sm.keeper_id,
                "created_at": when,
            },
        )
        for product, qty in lines:
            self._move(
                product[0],
                MOVE_STOCK_IN,
                qty,
                product[2],
                when,
                supplier=supplier,
                invoice_no=invoice_no,
                note="补货",
                ref_type=REF_STOCK_IN,
                ref_id=doc_id,
                created_by_id=self.sm.keeper_id,
            )

    # ---- the month-end count

    def _count(self, when: datetime, month: str) -> None:
        """Counted after closing time, approved and signed off the same evening."""
        sm, rng, ids, writer = self.sm, self.rng, self.ids, self.writer
        full = periods.parse_month(month)[1] in FULL_COUNT_MONTHS
        pids = [p[0] for p in sm.products] if full else sorted(self.moved)
        if not pids:
            return
        st_id = ids.take(Stocktake)
        counted_at = when + timedelta(minutes=10)
        approved_at = when + timedelta(minutes=20)
        writer.add(
            Stocktake,
            {
                "id": st_id,
                "supermarket_id": sm.id,
                "status": COUNT_POSTED,
                "note": "季度全盘" if full else "月末盘点（本月有进出的商品）",
                "started_by_id": sm.keeper_id,
                "started_at": when,
                "submitted_by_id": sm.keeper_id,
                "submitted_at": when + timedelta(minutes=15),
                "approved_by_id": sm.admin_id,
                "approved_at": approved_at,
                "posted_by_id": sm.supervisor_id,
                "posted_at": when + timedelta(minutes=30),
                "start_movement_id": ids.last(StockMovement),
                "scope": "全部商品" if full else "部分商品",
                "cancelled_by_id": None,
                "cancelled_at": None,
            },
        )
        variances = []
        for pid in pids:
            book = self.stock.get(pid, 0)
            variance = 0
            if book > 0 and rng.random() < COUNT_VARIANCE_RATE:
                variance = max(-book, rng.choice((-2, -1, -1, -1, 1, 1, 2)))
            cost = self.by_id[pid][2]
            line_id = ids.take(StocktakeLine)
            writer.add(
                StocktakeLine,
                {
                    "id": line_id,
                    "stocktake_id": st_id,
                    "product_id": pid,
                    "book_qty": book,
                    "unit_cost_fen": cost,
                    "counted_qty": book + variance,
                    "counted_at": counted_at,
                    "posted_variance": variance,
                    "count_movement_id": self.last_move.get(pid, 0),
                    "posted_unit_cost_fen": cost,
                },
            )
            writer.add(
                StocktakeCount,
                {
                    "id": ids.take(StocktakeCount),
                    "stocktake_id": st_id,
                    "line_id": line_id,
                    "kind": COUNT_EVENT_SET,
                    "quantity": book + variance,
                    "result_qty": book + variance,
                    "device": "button",
                    "client_key": None,
                    "user_id": sm.keeper_id,
                    "at": counted_at,
                },
            )
            if variance:
                variances.append((pid, variance, cost))
        for pid, variance, cost in variances:
            self._move(
                pid,
                MOVE_COUNT,
                variance,
                cost,
                approved_at,
                reason=REASON_COUNT,
                ref_type=REF_STOCKTAKE,
                ref_id=st_id,
                note=f"盘点 #{st_id}",
                created_by_id=sm.admin_id,
            )
        self.moved = set()  # the count's own postings are not next month's movement
        self.clock = max(self.clock, when + timedelta(minutes=30))

    # ---- the month-end close

    def _close(self, when: datetime, month: str) -> None:
        """The admin closes the month a day or two after it ended: the report is built by
        ``monthend.build_report`` from the rows written so far, which are exactly the rows a
        real close would see then (what came after the month ended is still a few days' worth,
        so the report reads little beyond its month). The report reads ledgers only, never
        the snapshots, which are set once at the end."""
        self.writer.flush()
        t0 = time.perf_counter()
        report = monthend.build_report(self.sm.id, month)
        self.report_seconds += time.perf_counter() - t0
        db.session.connection().execute(
            MonthClose.__table__.insert(),
            {
                "id": self.ids.take(MonthClose),
                "supermarket_id": self.sm.id,
                "month": month,
                "report": report,
                "summary": monthend.report_summary(report),
                "closed_by_id": self.sm.admin_id,
                "closed_at": when,
            },
        )
        self.closes += 1

    # ---- snapshots equal to their ledgers

    def _snapshots(self) -> None:
        """Flush the rows and set every snapshot (balances, stock, pool, next receipt number)
        to what the ledgers say."""
        sm = self.sm
        self.writer.flush()
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
                    "bal": self.balances[index],
                    "earned": self.earned[index],
                    "redeemed": self.redeemed[index],
                    "at": self.last_entry_at[index],
                }
                for index, (_hid, account_id, _card) in enumerate(sm.accounts)
            ],
        )
        supermarkets = Supermarket.__table__
        conn.execute(
            supermarkets.update()
            .where(supermarkets.c.id == sm.id)
            .values(next_receipt_no=self.receipt_no + 1)
        )
        funds = FundAccount.__table__
        conn.execute(
            funds.update()
            .where(funds.c.id == self.fund_id)
            .values(balance_fen=self.fund_balance, updated_at=self.clock)
        )
        if self.stock:
            products = Product.__table__
            conn.execute(
                products.update()
                .where(products.c.id == sa.bindparam("pid"))
                .values(stock_qty=sa.bindparam("qty")),
                [{"pid": pid, "qty": qty} for pid, qty in self.stock.items()],
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


def _analyze() -> None:
    """On PostgreSQL, refresh the planner's statistics of the tables just filled.

    Without them (autovacuum may be off, and is slow to notice bulk loads) the planner takes a
    county's stock ledger for a few hundred rows and scans it whole for every month-end report:
    one report took 0.5 s at 60 supermarkets instead of 0.05 s, and it grew with every one.
    """
    if db.engine.dialect.name != "postgresql":
        return
    with db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        for model in (*_Writer.ORDER, MonthClose):
            conn.exec_driver_sql(f'ANALYZE "{model.__table__.name}"')


def _advance_sequences(ids: _Ids) -> None:
    """On PostgreSQL, move each id sequence past the ids assigned here."""
    if db.engine.dialect.name != "postgresql":
        return
    for table, next_id in ids.next.items():
        db.session.execute(
            sa.text("SELECT setval(pg_get_serial_sequence(:t, 'id'), :v, false)"),
            {"t": table, "v": next_id},
        )


@click.command()
@click.argument("scale_name", metavar="village|town|county", type=click.Choice(list(SCALES)))
@click.option("--seed", default=2026, show_default=True, type=int, help="随机种子（结果可重复）")
@with_appcontext
def scale_command(scale_name: str, seed: int) -> None:
    """Generate a village, town or county into the app's database with a progress bar; an
    empty database is migrated first. Not for a real installation: the data is made up."""
    if not table_names():
        click.echo("数据库还是空的，先按迁移建表……")
        upgrade_database()
    target = SCALES[scale_name]
    click.echo(
        f"生成{scale_name}规模数据：{target.supermarkets} 个超市、{target.households} 户、"
        f"约 {target.entries} 条积分流水、约 {target.redemptions} 张兑换单"
    )
    with click.progressbar(length=target.supermarkets, label="超市") as bar:
        done = 0

        def progress(i: int, _n: int) -> None:
            nonlocal done
            bar.update(i - done)
            done = i

        summary = generate(scale_name, seed=seed, progress=progress)
    click.echo(
        f"完成，用时 {summary.seconds:.0f} 秒：{summary.households} 户、"
        f"{summary.point_entries} 条积分流水、{summary.redemptions} 张兑换单、"
        f"{summary.stock_movements} 条库存流水、{summary.fund_entries} 条基金池流水"
    )
    click.echo("柜台登录：每个超市的店长 <超市编号小写>k（如 s0001k）/ keeper123 / PIN 1234")


if __name__ == "__main__":
    from kiosk import create_app

    scale_command(obj=ScriptInfo(create_app=create_app))
