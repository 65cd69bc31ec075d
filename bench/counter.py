"""Counter benchmark: scan → decision and a two-line redemption, each against its baseline.

    python bench/counter.py [--backends sqlite,postgresql] [--households 600] [--n 300]
                            [--scale village|town|county] [--clients 32] [--seconds 10]
                            [--sqlite PATH] [--pg URL]   (existing data, e.g. a county)

Every figure is measured beside its baseline in the same run and reported as a ratio, because
these machines are shared and noisy:
- scan (``POST /api/v1/scan``) against the bare indexed lookups it needs (card, household,
  account) on the same engine;
- redemption (``POST /api/v1/redemptions``, two lines) against the bare SQL transaction doing
  the same writes plus an empty Flask request through the same app.
Results, with the machine, go to docs/benchmarks.md (``--no-write`` to only print).
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from types import SimpleNamespace

import sqlalchemy as sa

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench.scale import generate  # noqa: E402
from bench.stats import percentile, throwaway_database, write_results  # noqa: E402
from inventory.models import Product, StockMovement  # noqa: E402
from inventory.stock import StockInLine, receive_stock  # noqa: E402
from kiosk import audit, create_app  # noqa: E402
from kiosk.auth import issue_token  # noqa: E402
from kiosk.cards import payload_for  # noqa: E402
from kiosk.config import DefaultConfig  # noqa: E402
from kiosk.demo import load_demo  # noqa: E402
from kiosk.extensions import db  # noqa: E402
from kiosk.models import (  # noqa: E402
    AuditChainHead,
    AuditEvent,
    Card,
    Household,
    PointAccount,
    PointEntry,
    PrintJob,
    Redemption,
    RedemptionLine,
    Supermarket,
    User,
)
from kiosk.points import award_points  # noqa: E402
from kiosk.rules import policies, presets  # noqa: E402


def timed(fn: Callable[[int], object], n: int) -> list[float]:
    """Milliseconds for each of n calls of fn(i), after a short warm-up."""
    for i in range(min(10, n)):
        fn(-1 - i)
    out = []
    for i in range(n):
        start = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - start) * 1000)
    return out


def summary(samples: list[float]) -> dict[str, float]:
    return {
        "p50": statistics.median(samples),
        "p95": percentile(samples, 0.95),
    }


def make_database(backend: str, workdir: str) -> tuple[str, Callable[[], None]]:
    return throwaway_database(backend, workdir, "jifen_bench")


def bench_app(url: str):
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "bench",
            "JIFEN_CARD_SECRET": "bench",
            "WTF_CSRF_ENABLED": False,
            # The app's own options (a ping on each checkout) with a pool for 32 kiosks.
            "SQLALCHEMY_ENGINE_OPTIONS": DefaultConfig.SQLALCHEMY_ENGINE_OPTIONS
            | {"pool_size": 40, "max_overflow": 10},
        }
    )
    app.add_url_rule("/bench/empty", "bench_empty", lambda: ("", 204))
    return app


def run_backend(
    backend: str,
    households: int,
    n: int,
    scale_name: str | None,
    clients: int,
    seconds: float,
    existing: str | None = None,
) -> dict[str, object]:
    """Benchmark one backend on fresh data (dropped afterwards), or on the ``existing``
    database (a URL: e.g. a county generated once with ``python bench/scale.py county``), which
    keeps the benchmark's redemptions."""
    if existing:
        url, drop = existing, lambda: None
    else:
        workdir = tempfile.mkdtemp(prefix="jifen-bench-")
        url, drop = make_database(backend, workdir)
    try:
        app = bench_app(url)
        with app.app_context():
            if existing:
                households = db.session.scalar(sa.select(sa.func.count(Household.id)))
                supermarkets = db.session.scalar(sa.select(sa.func.count(Supermarket.id)))
                label = scale_name or f"{supermarkets} supermarkets"
            else:
                db.create_all()
                started = time.perf_counter()
                if scale_name:
                    made = generate(scale_name)
                    households = made.households
                else:
                    load_demo(households_count=households)
                built = time.perf_counter() - started
                print(f"  data ready in {built:.0f} s", file=sys.stderr)
                label = scale_name or "demo"
            calls = prepare(app)
            facts = {
                "backend": backend,
                "households": households,
                "data": label,
                "entries": db.session.scalar(sa.select(sa.func.count(PointEntry.id))),
            }
        # Timed outside the set-up's app context: each request pushes its own, with its own
        # database session, as under a real server.
        result = measure(calls, n) | facts
        if backend == "postgresql" and clients:
            result["throughput"] = throughput(url, clients, seconds)
        return result
    finally:
        drop()


def prepare(app) -> dict[str, Callable[[int], None]]:
    """The calls to time (made ready inside an app context, called outside it)."""
    # The first supermarket (on county data, one of 300) and its keeper.
    supermarket = db.session.scalar(sa.select(Supermarket).order_by(Supermarket.id))
    keeper = db.session.scalar(
        sa.select(User)
        .where(User.supermarket_id == supermarket.id, User.role == "keeper")
        .order_by(User.id)
    )
    # The benchmark redeems today, whatever the date: its supermarkets run 羊亭's rules
    # (always open, no gate), so a closed window never turns a redemption into a refusal.
    policies.set_policy(supermarket.id, presets.YANGTING, actor=None)
    token = issue_token(keeper.id, label="bench")
    auth = {"Authorization": f"Bearer {token}"}
    cards = db.session.scalars(
        sa.select(Card)
        .join(Household, Household.id == Card.household_id)
        .where(Card.status == "active", Household.supermarket_id == supermarket.id)
        .order_by(Card.id)
        .limit(300)
    ).all()
    payloads = [payload_for(c) for c in cards]
    for card in cards:  # enough points for every redemption below
        award_points(card.household_id, 10_000, reason="基准测试", actor=None)
    goods = db.session.scalars(
        sa.select(Product)
        .where(
            Product.supermarket_id == supermarket.id,
            Product.kind == "goods",
            Product.stock_qty > 0,
            Product.points_price > 0,
        )
        .order_by(Product.points_price)
        .limit(2)
    ).all()
    receive_stock(  # plenty of stock, through the ledger
        supermarket.id,
        [StockInLine(p.id, 100_000, p.unit_cost_fen) for p in goods],
        actor=keeper,
    )
    product_ids = [p.id for p in goods]
    client = app.test_client()

    def scan(i: int) -> None:
        r = client.post("/api/v1/scan", json={"payload": payloads[i % len(payloads)]}, headers=auth)
        assert r.status_code == 200, r.get_data(as_text=True)

    engine = db.engine
    card_t, acc_t = Card.__table__, PointAccount.__table__
    hh_t = sa.table("households", sa.column("id"), sa.column("status"))
    serials = [(c.serial, c.issue_no) for c in cards]

    def bare_scan(i: int) -> None:
        serial, issue = serials[i % len(serials)]
        with engine.connect() as conn:
            row = conn.execute(
                sa.select(card_t.c.household_id, card_t.c.status).where(
                    card_t.c.serial == serial, card_t.c.issue_no == issue
                )
            ).one()
            conn.execute(sa.select(hh_t.c.status).where(hh_t.c.id == row.household_id)).one()
            conn.execute(
                sa.select(acc_t.c.balance).where(acc_t.c.household_id == row.household_id)
            ).one()

    def redeem(i: int) -> None:
        body = {
            "card": payloads[i % len(payloads)],
            "lines": [{"product_id": pid, "quantity": 1} for pid in product_ids],
            "idempotency_key": f"bench-{uuid.uuid4().hex}",
        }
        r = client.post("/api/v1/redemptions", json=body, headers=auth)
        assert r.status_code == 201, r.get_data(as_text=True)

    households = [c.household_id for c in cards]
    engine_ = db.engine
    supermarket_id, keeper_id = supermarket.id, keeper.id

    def bare_redeem(i: int) -> None:
        bare_transaction(
            engine_, households[i % len(households)], supermarket_id, keeper_id, product_ids
        )

    def empty(i: int) -> None:
        assert client.get("/bench/empty").status_code == 204

    return {
        "scan": scan,
        "scan_baseline": bare_scan,
        "redeem": redeem,
        "redeem_bare_tx": bare_redeem,
        "empty_request": empty,
    }


def measure(calls: dict[str, Callable[[int], None]], n: int) -> dict[str, object]:
    return {name: summary(timed(call, n)) for name, call in calls.items()}


_bare_counter = iter(range(10**9))


# A receipt's size: the print job row the redemption saves carries its bytes and text.
_RECEIPT_BYTES = bytes(range(256)) * 6
_RECEIPT_TEXT = "积分超市兑换小票\n" * 20


def bare_transaction(
    engine: sa.Engine, household_id: int, supermarket_id: int, keeper_id: int, product_ids: list
) -> None:
    """The same locks and writes as a two-line redemption, in bare SQL, committed: the
    account, the goods, the receipt number, the redemption and its lines, the stock movements,
    the point entry, the receipt's print job, and the audit row linked into the supermarket's
    hash chain under its head's lock."""
    acc_t, prod_t, move_t = PointAccount.__table__, Product.__table__, StockMovement.__table__
    entry_t, red_t, line_t = PointEntry.__table__, Redemption.__table__, RedemptionLine.__table__
    sm_t, job_t = Supermarket.__table__, PrintJob.__table__
    audit_t, head_t = AuditEvent.__table__, AuditChainHead.__table__
    with engine.connect() as conn:
        conn = conn.execution_options(sqlite_begin="IMMEDIATE")
        with conn.begin():
            acc = conn.execute(
                sa.select(acc_t.c.id, acc_t.c.balance)
                .where(acc_t.c.household_id == household_id)
                .with_for_update()
            ).one()
            rows = conn.execute(
                sa.select(prod_t.c.id, prod_t.c.stock_qty, prod_t.c.unit_cost_fen)
                .where(prod_t.c.id.in_(product_ids))
                .order_by(prod_t.c.id)
                .with_for_update()
            ).all()
            total = sum(-(-r.unit_cost_fen // 100) for r in rows)
            no = conn.execute(
                sa.update(sm_t)
                .where(sm_t.c.id == supermarket_id)
                .values(next_receipt_no=sm_t.c.next_receipt_no + 1)
                .returning(sm_t.c.next_receipt_no)
            ).scalar_one()
            now = datetime.now(UTC).replace(tzinfo=None)
            red_id = conn.execute(
                sa.insert(red_t)
                .values(
                    supermarket_id=supermarket_id,
                    receipt_no=f"BENCH-{next(_bare_counter)}-{no}",
                    household_id=household_id,
                    account_id=acc.id,
                    keeper_id=keeper_id,
                    idempotency_key=uuid.uuid4().hex,
                    cart_hash="bench",
                    total_points=total,
                    spent_points=total,
                    total_cost_fen=sum(r.unit_cost_fen for r in rows),
                    balance_before=acc.balance,
                    balance_after=acc.balance - total,
                    status="completed",
                    created_at=now,
                )
                .returning(red_t.c.id)
            ).scalar_one()
            for r in rows:
                conn.execute(
                    sa.insert(line_t).values(
                        redemption_id=red_id,
                        product_id=r.id,
                        product_name="x",
                        unit="",
                        quantity=1,
                        unit_points=-(-r.unit_cost_fen // 100),
                        unit_cost_fen=r.unit_cost_fen,
                        line_points=-(-r.unit_cost_fen // 100),
                    )
                )
                conn.execute(
                    sa.update(prod_t)
                    .where(prod_t.c.id == r.id)
                    .values(stock_qty=prod_t.c.stock_qty - 1)
                )
                conn.execute(
                    sa.insert(move_t).values(
                        product_id=r.id,
                        kind="redemption",
                        quantity=-1,
                        unit_cost_fen=r.unit_cost_fen,
                        quantity_after=r.stock_qty - 1,
                        redemption_id=red_id,
                        supplier="",
                        invoice_no="",
                        note="",
                        created_at=now,
                    )
                )
            conn.execute(
                sa.update(acc_t)
                .where(acc_t.c.id == acc.id)
                .values(
                    balance=acc_t.c.balance - total,
                    redeemed_total=acc_t.c.redeemed_total + total,
                    updated_at=now,
                )
            )
            conn.execute(
                sa.insert(entry_t).values(
                    account_id=acc.id,
                    kind="redemption",
                    amount=-total,
                    balance_after=acc.balance - total,
                    reason="bench",
                    redemption_id=red_id,
                    created_at=now,
                )
            )
            conn.execute(
                sa.insert(job_t).values(
                    supermarket_id=supermarket_id,
                    kind="receipt",
                    redemption_id=red_id,
                    printer="preview",
                    copy_no=1,
                    status="printed",
                    payload=_RECEIPT_BYTES,
                    text=_RECEIPT_TEXT,
                    attempts=1,
                    requested_by_id=keeper_id,
                    created_at=now,
                    printed_at=now,
                )
            )
            head = conn.execute(
                sa.select(head_t.c.seq, head_t.c.hash)
                .where(head_t.c.chain == supermarket_id)
                .with_for_update()
            ).one_or_none()
            if head is None:  # the chain's first row (the app's redemptions usually made it)
                conn.execute(
                    sa.insert(head_t).values(
                        chain=supermarket_id, seq=0, hash=audit.GENESIS, updated_at=now
                    )
                )
                head = SimpleNamespace(seq=0, hash=audit.GENESIS)
            row = SimpleNamespace(
                seq=head.seq + 1,
                supermarket_id=supermarket_id,
                actor_id=keeper_id,
                action="redemption.create",
                subject_type="Redemption",
                subject_id=red_id,
                data={"receipt_no": f"BENCH-{no}", "total_points": total},
                created_at=now,
            )
            digest = audit.row_hash(row, head.hash)
            conn.execute(
                sa.insert(audit_t).values(
                    **vars(row), chain=supermarket_id, prev_hash=head.hash, hash=digest
                )
            )
            conn.execute(
                sa.update(head_t)
                .where(head_t.c.chain == supermarket_id)
                .values(seq=row.seq, hash=digest, updated_at=now)
            )


NOTES_MARKER = "<!-- notes: written by hand, kept by bench/counter.py -->"


# --- throughput: many kiosks at once on one PostgreSQL ----------------------------------------


def _prepare_throughput(clients: int) -> dict[str, list]:
    """Work for ``clients`` kiosks: one household per kiosk in distinct supermarkets where
    there are enough (a county), and a few hot households all kiosks share."""
    sms = db.session.scalars(sa.select(Supermarket).order_by(Supermarket.id).limit(clients)).all()
    plans: dict[str, list] = {"distinct": [], "hot": []}
    for sm in sms:  # (see measure: always open)
        policies.set_policy(sm.id, presets.YANGTING, actor=None)
    for i in range(clients):
        sm = sms[i % len(sms)]
        keeper = db.session.scalar(
            sa.select(User).where(User.supermarket_id == sm.id, User.role == "keeper")
        )
        cards = db.session.scalars(
            sa.select(Card)
            .join(Household, Household.id == Card.household_id)
            .where(Household.supermarket_id == sm.id, Card.status == "active")
            .order_by(Card.id)
            .offset(i // len(sms))
            .limit(1)
        ).all()
        goods = db.session.scalars(
            sa.select(Product)
            .where(Product.supermarket_id == sm.id, Product.kind == "goods")
            .order_by(Product.points_price, Product.id)
            .limit(2)
        ).all()
        plans["distinct"].append((sm.id, keeper.id, cards[0], [p.id for p in goods]))
    # Hot: four households of the first supermarket, every kiosk on one of them.
    first = plans["distinct"][0]
    hot_cards = db.session.scalars(
        sa.select(Card)
        .join(Household, Household.id == Card.household_id)
        .where(Household.supermarket_id == first[0], Card.status == "active")
        .order_by(Card.id)
        .limit(4)
    ).all()
    plans["hot"] = [(first[0], first[1], hot_cards[i % 4], first[3]) for i in range(clients)]
    seen_cards: set[int] = set()
    seen_products: set[int] = set()
    for plan in plans["distinct"] + plans["hot"]:
        sm_id, keeper_id, card, product_ids = plan
        if card.id not in seen_cards:
            seen_cards.add(card.id)
            award_points(card.household_id, 100_000, reason="基准测试", actor=None)
        fresh = [p for p in product_ids if p not in seen_products]
        if fresh:
            seen_products.update(fresh)
            costs = dict(
                db.session.execute(
                    sa.select(Product.id, Product.unit_cost_fen).where(Product.id.in_(fresh))
                ).all()
            )
            receive_stock(sm_id, [StockInLine(p, 100_000, costs[p]) for p in fresh], actor=None)
    tokens: dict[int, str] = {}
    out: dict[str, list] = {}
    for name, rows in plans.items():
        out[name] = []
        for sm_id, keeper_id, card, product_ids in rows:
            if keeper_id not in tokens:
                tokens[keeper_id] = issue_token(keeper_id, label="bench")
            out[name].append(
                (
                    tokens[keeper_id],
                    payload_for(card),
                    card.household_id,
                    sm_id,
                    keeper_id,
                    product_ids,
                )
            )
    return out


def post_redemption(client, token: str, payload: str, product_ids: list[int], prefix: str):
    """A kiosk's two-line redemption through the app, one of each product, a fresh key."""
    return client.post(
        "/api/v1/redemptions",
        json={
            "card": payload,
            "lines": [{"product_id": p, "quantity": 1} for p in product_ids],
            "idempotency_key": f"{prefix}-{uuid.uuid4().hex}",
        },
        headers={"Authorization": f"Bearer {token}"},
    )


def _worker(url: str, mode: str, work: list, seconds: float, queue, ready, go) -> None:
    """One process: len(work) kiosk threads redeeming (or running the bare transaction),
    started when every process is ready (start-up is not part of the measured work)."""
    import threading

    app = bench_app(url)
    ok = [0] * len(work)
    errors = [0] * len(work)
    with app.app_context():
        engine = db.engine

    def once(i: int, client) -> bool:
        token, payload, household_id, sm_id, keeper_id, product_ids = work[i]
        if mode == "app":
            return post_redemption(client, token, payload, product_ids, "tp").status_code == 201
        bare_transaction(engine, household_id, sm_id, keeper_id, product_ids)
        return True

    # One redemption first, not counted: what loads on first use (the receipt's renderer,
    # the printer profile) is start-up, not the work.
    once(0, app.test_client())
    ready.put(1)
    go.wait()
    cpu_before = _cpu_seconds()
    deadline = time.perf_counter() + seconds

    def kiosk(i: int) -> None:
        client = app.test_client()
        while time.perf_counter() < deadline:
            try:
                good = once(i, client)
            except Exception:  # noqa: BLE001 - an error is a figure here, not a crash
                good = False
            if good:
                ok[i] += 1
            else:
                errors[i] += 1

    threads = [threading.Thread(target=kiosk, args=(i,)) for i in range(len(work))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    queue.put((sum(ok), sum(errors), _cpu_seconds() - cpu_before))


def _cpu_seconds() -> float:
    """CPU time (user + system) this process has used so far."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _postgres_cpu() -> dict[int, float] | None:
    """CPU seconds (user + system) used so far by each PostgreSQL server process on this
    machine (backends, WAL writer, checkpointer...), or None where /proc cannot tell. A
    process's figure includes its reaped children's: a backend that exits in the measured
    window (a client disconnecting) moves its CPU into the postmaster's, so nothing is lost."""
    if not os.path.isdir("/proc"):
        return None
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[int, float] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", encoding="ascii", errors="replace") as f:
                stat = f.read()
        except OSError:
            continue  # gone meanwhile
        comm, rest = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :]
        if comm != "postgres":
            continue
        fields = rest.split()
        # utime, stime, cutime, cstime
        out[int(name)] = sum(int(fields[i]) for i in (11, 12, 13, 14)) / tick
    return out or None


def _postgres_cpu_since(before: dict[int, float] | None, settle: bool = False) -> float | None:
    """PostgreSQL's CPU seconds since ``before``; ``settle``: first give the backends of
    clients that just disconnected time to exit and be reaped (a backend between its exit and
    the postmaster's wait shows no CPU at all)."""
    if settle:
        time.sleep(0.5)
    after = _postgres_cpu()
    if before is None or after is None:
        return None
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def _run_clients(
    url: str, mode: str, work: list, seconds: float
) -> tuple[float, int, float, float | None]:
    """(completed per second, errors, CPU ms the kiosk processes spent per completed one:
    the app and its SQLAlchemy side, and CPU ms PostgreSQL's processes spent per completed
    one, when PostgreSQL runs on this machine)."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    processes = min(len(work), max(2, (os.cpu_count() or 2) * 2))
    queue, ready, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    shares = [work[i::processes] for i in range(processes)]
    procs = [
        ctx.Process(target=_worker, args=(url, mode, w, seconds, queue, ready, go)) for w in shares
    ]
    for p in procs:
        p.start()
    for _ in procs:
        ready.get()
    local = sa.make_url(url).host in ("127.0.0.1", "localhost", "::1", None)
    pg_before = _postgres_cpu() if local else None
    go.set()  # interpreter and app start-up are not part of the measured work
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    pg_cpu = _postgres_cpu_since(pg_before, settle=True)
    cpu = sum(r[2] for r in results)
    ok = sum(r[0] for r in results)
    errors = sum(r[1] for r in results)
    pg_ms = pg_cpu * 1000 / max(ok, 1) if pg_cpu is not None else None
    return ok / seconds, errors, cpu * 1000 / max(ok, 1), pg_ms


# The rows one API redemption locks, each named by the statement that takes its lock, in the
# order the redemption takes them: a lock is held from that statement to the commit.
LOCKS = (
    ("household", "the household's account", "FROM point_accounts", "FOR UPDATE"),
    ("goods", "the goods' rows (stock)", "FROM products", "FOR UPDATE"),
    ("receipt", "the supermarket's receipt number", "UPDATE supermarkets", ""),
    ("chain", "the supermarket's audit chain head", "FROM audit_chain_heads", "FOR UPDATE"),
)


def lock_holds(app, plan: tuple, n: int = 120) -> dict[str, float]:
    """How long one kiosk's redemption holds each lock (median ms, from the statement taking
    it to the connection's return after the commit), with nothing else running: the app's own
    pace, this machine standing in for a kiosk box. While one redemption holds a row, every
    other redemption needing that row waits, so 1000 ÷ the hold is the most redemptions a
    second that can pass one row, however many kiosks and cores."""
    token, payload, _household_id, _sm_id, _keeper_id, product_ids = plan
    client = app.test_client()
    with app.app_context():
        engine = db.engine
    marks: list[tuple[float, str]] = []

    def statement(conn, cursor, text, *args) -> None:
        marks.append((time.perf_counter(), text))

    def checkin(dbapi_conn, record) -> None:
        marks.append((time.perf_counter(), ""))

    sa.event.listen(engine, "before_cursor_execute", statement)
    sa.event.listen(engine.pool, "checkin", checkin)
    holds: dict[str, list[float]] = {name: [] for name, *_ in LOCKS}
    try:
        for i in range(n + 10):
            marks.clear()
            r = post_redemption(client, token, payload, product_ids, "lh")
            assert r.status_code == 201, r.get_json()
            if i < 10:
                continue  # first uses: start-up, not the work
            end = marks[-1][0]
            for name, _label, table, suffix in LOCKS:
                taken = next(
                    t for t, text in marks if table in text and text.rstrip().endswith(suffix)
                )
                holds[name].append((end - taken) * 1000)
    finally:
        sa.event.remove(engine, "before_cursor_execute", statement)
        sa.event.remove(engine.pool, "checkin", checkin)
    return {name: statistics.median(v) for name, v in holds.items()}


def throughput(url: str, clients: int, seconds: float) -> dict[str, object]:
    """Redemptions per second with ``clients`` concurrent kiosks, beside the bare transaction."""
    app = bench_app(url)
    with app.app_context():
        work = _prepare_throughput(clients)
    out: dict[str, object] = {"clients": clients, "seconds": seconds}
    out["holds"] = lock_holds(app, work["hot"][0])
    print(f"  lock holds (ms): {out['holds']}", file=sys.stderr)
    for name in ("distinct", "hot"):
        rate, errors, cpu, pg_ms = _run_clients(url, "app", work[name], seconds)
        bare_rate, bare_errors, bare_cpu, bare_pg_ms = _run_clients(
            url, "bare", work[name], seconds
        )
        out[name] = {
            "rate": rate,
            "errors": errors,
            "cpu_ms": cpu,
            "pg_cpu_ms": pg_ms,
            "bare": bare_rate,
            "bare_errors": bare_errors,
            "bare_cpu_ms": bare_cpu,
            "bare_pg_cpu_ms": bare_pg_ms,
        }
        print(
            f"  {name}: {rate:.0f}/s ({errors} errors, {cpu:.1f} CPU ms each, PostgreSQL "
            f"{_ms(pg_ms)}), bare {bare_rate:.0f}/s ({bare_cpu:.1f} CPU ms each, PostgreSQL "
            f"{_ms(bare_pg_ms)})",
            file=sys.stderr,
        )
    with app.app_context():
        from kiosk.check import run_checks

        problems = run_checks()
    out["check"] = len(problems)
    return out


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def _capacity(pg_ms: float | None) -> str:
    """Redemptions per second this machine's cores could give PostgreSQL's share alone."""
    if not pg_ms:
        return "n/a"
    return f"{(os.cpu_count() or 1) * 1000 / pg_ms:.0f}"


def render(results: list[dict[str, object]], n: int) -> str:
    lines = [
        "# Benchmarks",
        "",
        "Written by `python bench/counter.py`; every figure beside its baseline from the same run.",
        "",
        f"- run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {n} requests per figure, in-process "
        "(Flask test client: the app's full request path without the network)",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        f"- Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"SQLAlchemy {sa.__version__}",
        "",
        "| backend | data | figure | p50 ms | p95 ms | baseline p50 ms | baseline p95 ms "
        "| p95 ratio |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        data = f"{r['data']}: {r['households']} households, {r['entries']:,} entries"
        scan, base = r["scan"], r["scan_baseline"]
        lines.append(
            f"| {r['backend']} | {data} | scan → decision | {scan['p50']:.2f} | "
            f"{scan['p95']:.2f} | {base['p50']:.2f} | {base['p95']:.2f} | "
            f"{scan['p95'] / base['p95']:.1f}× |"
        )
        red, tx, empty = r["redeem"], r["redeem_bare_tx"], r["empty_request"]
        b50, b95 = tx["p50"] + empty["p50"], tx["p95"] + empty["p95"]
        lines.append(
            f"| {r['backend']} | {data} | redemption, 2 lines | {red['p50']:.2f} | "
            f"{red['p95']:.2f} | {b50:.2f} | {b95:.2f} | {red['p95'] / b95:.1f}× |"
        )
    lines += [
        "",
        "Baselines: for the scan, the three indexed lookups it needs (card by serial and issue, "
        "household, account) on the same engine; for the redemption, the bare SQL transaction "
        "doing the same locks and writes and committing them (in the benchmark's throw-away database) plus an empty Flask request. "
        "Issue 7's goals: redemption ≤ 3× its baseline; scan ≤ 10 ms p95 on SQLite, "
        "≤ 15 ms on PostgreSQL.",
        "",
    ]
    tps = [r for r in results if "throughput" in r]
    if tps:
        lines += [
            "## Throughput: concurrent kiosks on one PostgreSQL",
            "",
            "| kiosks | households | redemptions/s | errors | CPU ms each | PostgreSQL CPU ms "
            "each | database-bound rate/s | bare transaction/s | its CPU ms each | its "
            "PostgreSQL CPU ms each | ratio | `jifen check` after |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for r in tps:
            t = r["throughput"]
            for name, label in (("distinct", "distinct (one village each)"), ("hot", "4 hot")):
                f = t[name]
                lines.append(
                    f"| {t['clients']} | {label} | {f['rate']:.0f} | {f['errors']} | "
                    f"{f['cpu_ms']:.1f} | {_ms(f.get('pg_cpu_ms'))} | "
                    f"{_capacity(f.get('pg_cpu_ms'))} | {f['bare']:.0f} | "
                    f"{f['bare_cpu_ms']:.1f} | {_ms(f.get('bare_pg_cpu_ms'))} | "
                    f"{f['bare'] / max(f['rate'], 1e-9):.1f}× | "
                    f"{'clean' if t['check'] == 0 else str(t['check']) + ' problems'} |"
                )
        lines += [
            "",
            f"Each kiosk is a thread posting two-line redemptions through the app (Flask test "
            f"client, full request path) for {tps[0]['throughput']['seconds']:.0f} s, spread "
            "over several processes; the baseline runs the bare SQL transaction with the same "
            "kiosks. *CPU ms each* is the CPU time the kiosk processes (the app and its "
            "database driver, in-process; PostgreSQL's own work is not counted) spent per "
            f"completed redemption: even with a database that cost nothing, {os.cpu_count()} "
            f"cores could complete at most {os.cpu_count()} × 1000 ÷ that per second. "
            "*PostgreSQL CPU ms each* is what PostgreSQL's own processes on this machine "
            "(backends, WAL writer, checkpointer) spent per completed redemption, read from "
            "/proc around the run; *database-bound rate* is this machine's "
            f"{os.cpu_count()} cores ÷ that: the rate this machine could sustain as the "
            "county's database server when the kiosks run the app on their own boxes (as "
            "deployed: each kiosk runs jifen with `DATABASE_URL` pointing here), a capacity "
            "derived from the measured CPU, not a measured rate. "
            "Issue 7's goal: ≥ 500 redemptions/s with zero errors.",
            "",
        ]
        holds = tps[0]["throughput"].get("holds")
        if holds:
            lines += [
                "### How long a redemption holds each row it locks (one kiosk)",
                "",
                "| row | held p50 ms | at most redemptions/s through that one row |",
                "| --- | --- | --- |",
            ]
            for name, label, *_ in LOCKS:
                lines.append(f"| {label} | {holds[name]:.1f} | {1000 / holds[name]:.0f} |")
            lines += [
                "",
                "One kiosk redeeming for the first supermarket's first hot household, nothing "
                "else running: each lock from the statement that takes it to the commit's "
                "end, at the app's own pace (this machine standing in for the kiosk box). "
                "While one redemption holds a row, every other redemption that needs it waits, "
                "so no number of kiosks or cores passes more than 1000 ÷ the hold a second "
                "through one row: the 4 hot households' kiosks all take the same goods, so "
                "that row bounds the hot rate; kiosks of one household are bounded by the "
                "household's row times the hot households. With contention the holds grow "
                "(the holders share the cores), so the bounds are upper bounds.",
                "",
            ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--households", type=int, default=600)
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument(
        "--scale",
        choices=["village", "town", "county"],
        default=None,
        help="generated data (bench.scale) instead of the demo village",
    )
    parser.add_argument("--clients", type=int, default=32, help="kiosks for the throughput run")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument(
        "--sqlite", metavar="PATH", help="an existing SQLite database to use (e.g. a county)"
    )
    parser.add_argument(
        "--pg", metavar="URL", help="an existing PostgreSQL database to use (e.g. a county)"
    )
    args = parser.parse_args()
    existing = {
        "sqlite": f"sqlite:///{os.path.abspath(args.sqlite)}" if args.sqlite else None,
        "postgresql": args.pg,
    }
    results = []
    for backend in [b for b in args.backends.split(",") if b]:
        print(f"benchmarking {backend} ...", file=sys.stderr)
        results.append(
            run_backend(
                backend,
                args.households,
                args.n,
                args.scale,
                args.clients,
                args.seconds,
                existing=existing.get(backend),
            )
        )
    text = render(results, args.n)
    print(text)
    if not args.no_write:
        write_results(os.path.join(ROOT, "docs", "benchmarks.md"), text, NOTES_MARKER)


if __name__ == "__main__":
    main()
