"""Backup under load: ``jifen backup`` of a SQLite database while four kiosks redeem, against a
plain ``sqlite3`` CLI ``.backup`` of the same file in the same run.

    python bench/backup.py --sqlite PATH [--kiosks 4] [--quiet 8] [--rounds 2] [--limit 180]
    python bench/backup.py --scale village          (generates the data first)

PATH is left as it is: the run works on a copy in a temporary folder (made with the backup
API while nothing writes). Four kiosks (threads of this process, each posting two-line
redemptions through the app's API, in different supermarkets where there are several) redeem
for the whole run. Phases, each round, with a quiet spell (the kiosks alone) before each: the
online snapshot alone (what ``jifen backup`` shares the live database with: SQLite's backup
API in one step, into a file), the whole ``jifen backup`` (a process of its own, as the
nightly timer runs it: snapshot, checks, archive, verification), then the sqlite3 CLI's
``.backup`` (stepwise, 100 pages a step: it restarts whenever a kiosk writes between
two steps), cut off after ``--limit`` seconds if it has not finished. Both backups run at
``nice 10``, as the nightly unit runs ``jifen backup`` (``--nice 0`` on a machine shared with
other work, where nice 10 would measure the others).

For each phase: its duration, the redemptions done, and their latency (median, p99, max);
the longest hold-up is the slowest redemption that overlapped the phase. Prints a Markdown
block (for docs/backup.md) and, with --out, writes it to a file.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import sqlalchemy as sa  # noqa: E402

from bench.counter import bench_app, post_redemption  # noqa: E402
from bench.stats import percentile  # noqa: E402
from kiosk.extensions import db  # noqa: E402


def _copy(source: str, target: str) -> None:
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    src.backup(dst)
    dst.close()
    src.close()


def _generate(scale: str, path: str) -> None:
    from bench.scale import generate
    from kiosk.schema import upgrade_database

    app = bench_app(f"sqlite:///{path}")
    with app.app_context():
        upgrade_database()
        started = time.perf_counter()
        generate(scale, seed=2026)
        print(f"generated {scale} in {time.perf_counter() - started:.0f} s", flush=True)
        db.engine.dispose()


def _plan(count: int) -> list[tuple]:
    """Kiosks in the supermarkets that have a keeper (the generated S0001…), one each while
    there are enough (a town), else several in one (a village), each with its keeper's token,
    a household of its own with points to spare and two goods with stock to spare."""
    from inventory.models import Product
    from inventory.stock import StockInLine, receive_stock
    from kiosk.auth import issue_token
    from kiosk.cards import payload_for
    from kiosk.models import Card, Household, Supermarket, User
    from kiosk.points import award_points
    from kiosk.rules import policies, presets

    keepers = db.session.execute(
        sa.select(Supermarket.id, sa.func.min(User.id))
        .join(User, User.supermarket_id == Supermarket.id)
        .where(User.role == "keeper", User.active.is_(True))
        .group_by(Supermarket.id)
        .order_by(Supermarket.id)
        .limit(count)
    ).all()
    if not keepers:
        raise SystemExit("no supermarket with a keeper (make one with python bench/scale.py)")
    for sm_id, _keeper in keepers:
        policies.set_policy(sm_id, presets.YANGTING, actor=None)  # open every day
    work = []
    stocked: set[int] = set()
    for i in range(count):
        sm_id, keeper_id = keepers[i % len(keepers)]
        card = db.session.scalar(
            sa.select(Card)
            .join(Household, Household.id == Card.household_id)
            .where(Household.supermarket_id == sm_id, Card.status == "active")
            .order_by(Card.id)
            .offset(i // len(keepers))
            .limit(1)
        )
        goods = db.session.execute(
            sa.select(Product.id, Product.unit_cost_fen)
            .where(Product.supermarket_id == sm_id, Product.kind == "goods")
            .order_by(Product.points_price, Product.id)
            .limit(2)
        ).all()
        award_points(card.household_id, 1_000_000, reason="基准测试", actor=None)
        if sm_id not in stocked:
            stocked.add(sm_id)
            lines = [StockInLine(p, 100_000, cost) for p, cost in goods]
            receive_stock(sm_id, lines, actor=None)
        token = issue_token(keeper_id, label="bench")
        work.append(
            (
                token,
                payload_for(card),
                card.household_id,
                sm_id,
                keeper_id,
                [p for p, _cost in goods],
            )
        )
    return work


class Kiosks:
    """Kiosk threads redeeming until stopped; every redemption's (start, end, ok)."""

    def __init__(self, url: str, count: int) -> None:
        self.app = bench_app(url)
        with self.app.app_context():
            self.work = _plan(count)
            db.session.remove()
        self.samples: list[tuple[float, float, bool]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._kiosk, args=(i,)) for i in range(count)]

    def _kiosk(self, i: int) -> None:
        token, payload, _hh, _sm, _keeper, product_ids = self.work[i]
        client = self.app.test_client()
        post_redemption(client, token, payload, product_ids, "warm")  # first use loads things
        while not self._stop.is_set():
            start = time.perf_counter()
            try:
                ok = post_redemption(client, token, payload, product_ids, "bk").status_code == 201
            except Exception:  # noqa: BLE001 - a failure is a figure here
                ok = False
            with self._lock:
                self.samples.append((start, time.perf_counter(), ok))

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join()

    def during(self, begin: float, end: float) -> dict[str, float]:
        """The redemptions that overlapped [begin, end]: count, failures, latency in ms."""
        with self._lock:
            rows = [s for s in self.samples if s[1] >= begin and s[0] <= end]
        ms = [(e - s) * 1000 for s, e, _ok in rows] or [0.0]
        return {
            "n": len(rows),
            "failed": sum(1 for r in rows if not r[2]),
            "median": statistics.median(ms),
            "p99": percentile(ms, 0.99),
            "max": max(ms),
        }


NICE = 10
PHASES = ("quiet", "online snapshot", "quiet", "jifen backup", "quiet", "sqlite3 .backup")


def _as_the_timer_runs_it() -> None:
    """Both backups at the nightly unit's priority (jifen-backup.service: Nice=10)."""
    if NICE:
        os.nice(NICE)


def _jifen_backup(instance: str, url: str, target: str) -> dict[str, float]:
    """``jifen backup --to target`` in a process of its own; its wall time and its parts."""
    env = dict(os.environ, JIFEN_INSTANCE=instance, DATABASE_URL=url)
    env.pop("JIFEN_BACKUP_PASSPHRASE", None)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", "from kiosk.cli import main; main()", "backup", "--to", target],
        env=env,
        preexec_fn=_as_the_timer_runs_it,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"jifen backup failed: {done.stderr}")
    path = done.stdout.strip().splitlines()[-1]
    from kiosk.backup import open_archive

    unpacked = tempfile.mkdtemp(dir=target)
    manifest = open_archive(path, unpacked, None)
    shutil.rmtree(unpacked)
    return {"wall": wall, "size_mb": os.path.getsize(path) / 1e6, **manifest["seconds"]}


def _snapshot_alone(path: str, target: str) -> dict[str, float]:
    """jifen backup's database read alone (kiosk.backup.sqlite_snapshot), in a process; the
    snapshot's own start and end on the shared monotonic clock (perf_counter), without the
    process's start-up."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, time; from kiosk.backup import sqlite_snapshot; "
            "a = time.perf_counter(); sqlite_snapshot(sys.argv[1], sys.argv[2]); "
            "print(a, time.perf_counter())",
            path,
            target,
        ],
        preexec_fn=_as_the_timer_runs_it,
        capture_output=True,
        text=True,
        check=True,
    )
    begin, end = (float(x) for x in done.stdout.split())
    return {"begin": begin, "end": end}


def _sqlite_cli_backup(path: str, target: str, limit: float) -> dict[str, float]:
    started = time.perf_counter()
    proc = subprocess.Popen(
        ["sqlite3", path, f".backup '{target}'"], preexec_fn=_as_the_timer_runs_it
    )
    try:
        proc.wait(timeout=limit)
        finished = proc.returncode == 0
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        finished = False
    return {"wall": time.perf_counter() - started, "finished": finished}


def run(path: str, kiosks: int, quiet: float, rounds: int, limit: float, phases: list[str]) -> str:
    work = tempfile.mkdtemp(prefix="jifen-bench-backup-")
    live = os.path.join(work, "jifen.sqlite3")
    try:
        _copy(path, live)
        size_mb = os.path.getsize(live) / 1e6
        url = f"sqlite:///{live}"
        instance = os.path.join(work, "instance")
        os.makedirs(instance)
        team = Kiosks(url, kiosks)
        team.start()
        rows = []
        time.sleep(2)  # the kiosks' first redemptions (warm-up) are not measured
        for r in range(rounds):
            for name in phases:
                begin = time.perf_counter()
                extra: dict = {}
                if name == "quiet":
                    time.sleep(quiet)
                elif name == "jifen backup":
                    extra = _jifen_backup(instance, url, os.path.join(work, "backups"))
                elif name == "online snapshot":
                    target = os.path.join(work, f"snap-{r}.sqlite3")
                    extra = _snapshot_alone(live, target)
                    os.unlink(target)
                else:
                    target = os.path.join(work, f"cli-{r}.sqlite3")
                    extra = _sqlite_cli_backup(live, target, limit)
                    if os.path.exists(target):
                        os.unlink(target)
                end = time.perf_counter()
                if "begin" in extra:  # the phase is the snapshot itself
                    begin, end = extra.pop("begin"), extra.pop("end")
                rows.append((r + 1, name, end - begin, team.during(begin, end), extra))
                print(rows[-1], flush=True)
        team.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return render(path, size_mb, kiosks, rows, limit)


def render(path: str, size_mb: float, kiosks: int, rows: list, limit: float) -> str:
    load = os.getloadavg()
    lines = [
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} "
        f"({os.cpu_count()} CPUs, load {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} at the end); "
        f"`{os.path.basename(path)}`, {size_mb:.0f} MB; {kiosks} kiosks redeeming throughout; "
        f"backups at nice {NICE}.",
        "",
        "| round | phase | duration s | redemptions | median ms | p99 ms | longest ms | notes |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for rnd, name, seconds, lat, extra in rows:
        notes = ""
        if name == "jifen backup":
            notes = (
                f"database read {extra['snapshot']:.1f} s, checks {extra['checks']:.1f} s; "
                f"archive {extra['size_mb']:.0f} MB"
            )
        elif name == "sqlite3 .backup":
            notes = "finished" if extra["finished"] else f"**not finished after {limit:.0f} s**"
        failed = f" ({lat['failed']} failed)" if lat["failed"] else ""
        lines.append(
            f"| {rnd} | {name} | {seconds:.1f} | {lat['n']}{failed} | {lat['median']:.0f} | "
            f"{lat['p99']:.0f} | {lat['max']:.0f} | {notes} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sqlite", help="an existing SQLite database (python bench/scale.py town)")
    parser.add_argument("--scale", choices=["village", "town"], help="generate the data first")
    parser.add_argument("--kiosks", type=int, default=4)
    parser.add_argument("--quiet", type=float, default=8.0, help="seconds of each quiet spell")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--limit", type=float, default=180.0, help="cut the CLI .backup off")
    parser.add_argument("--out", help="also write the Markdown block to this file")
    parser.add_argument("--phases", help=f"a comma list of phases (default {','.join(PHASES)})")
    parser.add_argument(
        "--nice",
        type=int,
        default=10,
        help="the backups' niceness (10 as the nightly unit; 0 on a machine busy with others)",
    )
    args = parser.parse_args()
    global NICE
    NICE = args.nice
    multiprocessing.set_start_method("spawn")
    path = args.sqlite
    made = None
    if path is None:
        if args.scale is None:
            parser.error("give --sqlite PATH or --scale")
        made = tempfile.mkdtemp(prefix="jifen-bench-data-")
        path = os.path.join(made, f"{args.scale}.sqlite3")
        _generate(args.scale, path)
    try:
        phases = args.phases.split(",") if args.phases else list(PHASES)
        text = run(path, args.kiosks, args.quiet, args.rounds, args.limit, phases)
    finally:
        if made:
            shutil.rmtree(made, ignore_errors=True)
    print(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text)


if __name__ == "__main__":
    main()
