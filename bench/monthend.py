"""Month-end benchmark: a village month and a county month, each beside a bare grouped query.

    python bench/monthend.py [--backends sqlite,postgresql] [--runs 15]
                             [--sqlite PATH] [--pg URL] [--month 2026-10]
                             [--dense 300] [--no-write]

Every figure is measured beside its baseline in the same run, the two taking turns, because
these machines are shared and noisy. The baseline is the bare grouped SQL over the same
month's stock movements on the same engine (``SELECT product_id, kind, sum(quantity),
sum(quantity * unit_cost_fen) ... GROUP BY product_id, kind``; for one supermarket joined to
its products): the least any month-end report has to read.

- **village**: ``bench.scale.generate("village")`` into a throw-away database per backend;
  ``build_report`` of the last complete month with the previous month closed (the opening is
  its stored closing), then with no month closed at all (the opening summed from the ledger).
- **county**: an existing county database (``--sqlite PATH`` / ``--pg URL``, e.g. made by
  ``python bench/scale.py county``): one supermarket's month (``build_report``), the county's
  last complete month (``build_area_report``, open, its previous month closed) and, when
  closed, the month before it (every line read from the stored closes).
- **dense** (``--dense N``): a month of about a million movements, which the generated county
  does not have: the same generator (``bench.scale``) run in a throw-away database with its
  three years of history squeezed into one month for N supermarkets; ``build_area_report``.

Results, with the machine, go to docs/monthend-benchmarks.md (``--no-write`` to only print);
the notes below the marker in that file are written by hand and kept.
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
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import sqlalchemy as sa

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench import scale  # noqa: E402
from bench.stats import percentile, throwaway_database, write_results  # noqa: E402
from inventory import monthend, periods  # noqa: E402
from inventory.models import MonthClose, Product, StockMovement  # noqa: E402
from kiosk import clock, create_app  # noqa: E402
from kiosk.extensions import db  # noqa: E402
from kiosk.models import Supermarket  # noqa: E402

NOTES_MARKER = "<!-- notes: written by hand, kept by bench/monthend.py -->"
GOALS = (
    "Issue 7's goals: a village month ≤ 50 ms, a county month (about 1 million movements) ≤ 2 s."
)


# ---- databases --------------------------------------------------------------------------------


def make_database(backend: str, workdir: str) -> tuple[str, Callable[[], None]]:
    return throwaway_database(backend, workdir, "monthend_bench")


def bench_app(url: str):
    return create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "JIFEN_CARD_SECRET": "bench"}
    )


def analyze() -> None:
    """Fresh planner statistics after a bulk load (autovacuum would get there in a minute)."""
    if db.engine.dialect.name == "postgresql":
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")


# ---- measuring --------------------------------------------------------------------------------


def side_by_side(
    figure: Callable[[], Any], baseline: Callable[[], Any], runs: int
) -> tuple[list[float], list[float]]:
    """Milliseconds of ``runs`` calls of each, taking turns, after one warm-up call of each.
    Each call starts a fresh read transaction, as a page or command would."""
    out: tuple[list[float], list[float]] = ([], [])
    for i in range(runs + 1):
        for fn, samples in ((figure, out[0]), (baseline, out[1])):
            db.session.rollback()
            db.session.expire_all()
            started = time.perf_counter()
            fn()
            elapsed = (time.perf_counter() - started) * 1000
            if i:
                samples.append(elapsed)
    db.session.rollback()
    return out


def bare_grouped(start: datetime, end: datetime, supermarket_ids: list[int] | None) -> Any:
    """The baseline: the month's movements summed by product and kind, nothing else."""
    m = StockMovement
    query = sa.select(
        m.product_id, m.kind, sa.func.sum(m.quantity), sa.func.sum(m.quantity * m.unit_cost_fen)
    ).where(m.created_at >= start, m.created_at < end)
    if supermarket_ids is not None:
        query = query.join(Product, Product.id == m.product_id).where(
            Product.supermarket_id.in_(supermarket_ids)
        )
    query = query.group_by(m.product_id, m.kind)
    return lambda: db.session.execute(query).all()


def movements_in(start: datetime, end: datetime, supermarket_ids: list[int] | None) -> int:
    m = StockMovement
    query = sa.select(sa.func.count(m.id)).where(m.created_at >= start, m.created_at < end)
    if supermarket_ids is not None:
        query = query.join(Product, Product.id == m.product_id).where(
            Product.supermarket_id.in_(supermarket_ids)
        )
    return int(db.session.scalar(query) or 0)


def row(
    backend: str, data: str, figure: str, movements: int, samples: tuple[list, list]
) -> dict[str, Any]:
    mine, base = samples
    return {
        "backend": backend,
        "data": data,
        "figure": figure,
        "movements": movements,
        "p50": statistics.median(mine),
        "p95": percentile(mine, 0.95),
        "base_p50": statistics.median(base),
        "base_p95": percentile(base, 0.95),
    }


def last_complete_month() -> str:
    return periods.previous_month(periods.month_key(clock.local_now()))


def one_supermarket_figures(
    backend: str, data: str, sid: int, month: str, runs: int, label: str
) -> dict[str, Any]:
    start, end = periods.month_bounds_utc(month)
    report = monthend.build_report(sid, month)
    samples = side_by_side(
        lambda: monthend.build_report(sid, month), bare_grouped(start, end, [sid]), runs
    )
    figure = f"{label} {month}: build_report, {len(report['products'])} products, opening from " + (
        "the previous close" if report["opening_from"] == "close" else "the ledger"
    )
    return row(backend, data, figure, movements_in(start, end, [sid]), samples)


def area_figures(
    backend: str, data: str, month: str, runs: int, town: str | None = None
) -> dict[str, Any] | None:
    if not hasattr(monthend, "build_area_report"):  # (the benchmark run on older code)
        return None
    start, end = periods.month_bounds_utc(month)
    area = monthend.build_area_report(month, town=town)
    ids = [line["supermarket"]["id"] for line in area["lines"]] if town else None
    samples = side_by_side(
        lambda: monthend.build_area_report(month, town=town), bare_grouped(start, end, ids), runs
    )
    closed = area["closed"]
    state = (
        "closed: stored reports"
        if closed == area["supermarkets"]
        else f"open, {closed} of {area['supermarkets']} closed"
        if closed
        else "open"
    )
    where = town or "county"
    figure = (
        f"{where} month {month}: build_area_report, {area['supermarkets']} supermarkets, {state}"
    )
    return row(backend, data, figure, movements_in(start, end, ids), samples)


# ---- the runs ---------------------------------------------------------------------------------


def run_village(backend: str, runs: int) -> list[dict[str, Any]]:
    workdir = tempfile.mkdtemp(prefix="jifen-monthend-")
    url, drop = make_database(backend, workdir)
    try:
        app = bench_app(url)
        with app.app_context():
            db.create_all()
            made = scale.generate("village")
            analyze()
            sid = db.session.scalar(sa.select(sa.func.min(Supermarket.id)))
            month = last_complete_month()
            _close_through(sid, periods.previous_month(month))
            data = f"village: {made.stock_movements:,} movements in 3 years"
            out = [one_supermarket_figures(backend, data, sid, month, runs, "village month")]
            # The same month with no month closed: the opening summed from the whole ledger.
            db.session.execute(sa.delete(MonthClose))
            db.session.commit()
            out.append(one_supermarket_figures(backend, data, sid, month, runs, "village month"))
            db.session.remove()
            db.engine.dispose()
        return out
    finally:
        drop()


def _close_through(sid: int, last: str) -> None:
    """Close the supermarket's months in order through ``last`` (the generator may have)."""
    from kiosk.models import ROLE_ADMIN, User

    admin = db.session.scalar(
        sa.select(User).where(User.supermarket_id == sid, User.role == ROLE_ADMIN)
    )
    month = periods.next_month_to_close(sid)
    while month <= last:
        monthend.close_month(sid, month, actor=admin)
        month = periods.next_month(month)


def run_county(backend: str, url: str, month: str | None, runs: int) -> list[dict[str, Any]]:
    app = bench_app(url)
    out = []
    with app.app_context():
        month = month or last_complete_month()
        n = db.session.scalar(sa.select(sa.func.count(Supermarket.id)))
        total = db.session.scalar(sa.select(sa.func.count(StockMovement.id)))
        data = f"county: {n} supermarkets, {total:,} movements in all"
        sid = db.session.scalar(sa.select(sa.func.min(Supermarket.id)))
        out.append(one_supermarket_figures(backend, data, sid, month, runs, "village month"))
        for figure in (
            area_figures(backend, data, month, max(3, runs // 3)),
            area_figures(backend, data, periods.previous_month(month), max(3, runs // 3)),
        ):
            if figure is not None:
                out.append(figure)
        db.session.remove()
        db.engine.dispose()
    return out


def run_dense(backend: str, supermarkets: int, runs: int) -> list[dict[str, Any]]:
    """A month of about a million movements: the generator's history squeezed into a month."""
    dense = scale.Scale(
        supermarkets, supermarkets * 200, 1_000, supermarkets * 6_300, supermarkets * 1_650
    )
    workdir = tempfile.mkdtemp(prefix="jifen-monthend-")
    url, drop = make_database(backend, workdir)
    try:
        app = bench_app(url)
        with app.app_context():
            db.create_all()
            month = periods.previous_month(last_complete_month())
            start, end = periods.month_bounds_utc(month)
            now = end - timedelta(hours=8)  # the month's last afternoon, local time
            days = (now - start).days - 1
            started = time.perf_counter()
            with (
                mock.patch.dict(scale.SCALES, {"dense-month": dense}),
                mock.patch.object(scale, "YEARS", days / 365),
            ):
                made = scale.generate("dense-month", now=now)
            print(f"  dense month ready in {time.perf_counter() - started:.0f} s", file=sys.stderr)
            analyze()
            data = (
                f"dense month: {supermarkets} supermarkets, {made.stock_movements:,} movements, "
                f"{made.redemptions:,} redemptions"
            )
            out = [area_figures(backend, data, month, max(3, runs // 3))]
            db.session.remove()
            db.engine.dispose()
        return [r for r in out if r is not None]
    finally:
        drop()


# ---- the page ---------------------------------------------------------------------------------


def render(results: list[dict[str, Any]], runs: int) -> str:
    lines = [
        "# Month-end benchmarks",
        "",
        "Written by `python bench/monthend.py`; every figure beside its baseline from the same "
        "run (the two taking turns).",
        "",
        f"- run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {runs} runs per village figure, "
        f"{max(3, runs // 3)} per county figure, each in a fresh read transaction",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}; "
        f"load average {' / '.join(f'{x:.1f}' for x in os.getloadavg())} at the end of the run",
        f"- Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"SQLAlchemy {sa.__version__}",
        "",
        "| backend | data | figure | movements in the month | p50 ms | p95 ms | baseline p50 ms "
        "| baseline p95 ms | p50 ratio |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        lines.append(
            f"| {r['backend']} | {r['data']} | {r['figure']} | {r['movements']:,} | "
            f"{r['p50']:.1f} | {r['p95']:.1f} | {r['base_p50']:.1f} | {r['base_p95']:.1f} | "
            f"{r['p50'] / max(r['base_p50'], 1e-9):.1f}× |"
        )
    lines += [
        "",
        "Baseline: the bare grouped SQL over the same month's stock movements on the same "
        "engine (`SELECT product_id, kind, sum(quantity), sum(quantity * unit_cost_fen) ... "
        "GROUP BY product_id, kind`; for one supermarket or town joined to its products). " + GOALS,
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--sqlite", default=None, help="a county database file to measure")
    parser.add_argument("--pg", default=None, help="a county PostgreSQL URL to measure")
    parser.add_argument("--month", default=None, help="the county month (default: last complete)")
    parser.add_argument(
        "--dense", type=int, default=0, help="supermarkets of a ~1M-movement month (0: skip)"
    )
    parser.add_argument("--no-village", action="store_true")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    backends = [b for b in args.backends.split(",") if b]
    results: list[dict[str, Any]] = []
    for backend in backends:
        if not args.no_village:
            print(f"village on {backend} ...", file=sys.stderr)
            results += run_village(backend, args.runs)
    for backend, url in (("sqlite", args.sqlite), ("postgresql", args.pg)):
        if url and backend in backends:
            if backend == "sqlite" and "://" not in url:
                url = f"sqlite:///{os.path.abspath(url)}"
            print(f"county on {backend} ...", file=sys.stderr)
            results += run_county(backend, url, args.month, args.runs)
    if args.dense:
        for backend in backends:
            print(f"dense month on {backend} ...", file=sys.stderr)
            results += run_dense(backend, args.dense, args.runs)
    text = render(results, args.runs)
    print(text)
    if not args.no_write:
        write_results(os.path.join(ROOT, "docs", "monthend-benchmarks.md"), text, NOTES_MARKER)


if __name__ == "__main__":
    main()
