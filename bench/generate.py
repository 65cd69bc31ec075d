"""Generate a village, town or county (bench.scale) and time it, then time ``jifen check``.

    DATABASE_URL=... python bench/generate.py --scale county [--seed 2026] [--check-only]

The database is migrated first when it is empty (as ``jifen demo`` does). Prints the wall
time and peak RSS of the generation, the rows of every table, and each check's time and
problems, so that docs/scale.md can be filled from one run.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time

import sqlalchemy as sa

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from kiosk import create_app  # noqa: E402
from kiosk.extensions import db  # noqa: E402


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def row_counts() -> dict[str, int]:
    return {
        t.name: db.session.scalar(sa.select(sa.func.count()).select_from(t)) or 0
        for t in db.metadata.sorted_tables
    }


def timed_checks(memory_gb: float) -> None:
    """Each check of ``jifen check`` in a child process of its own, printed as it finishes
    with its seconds, problems and peak RSS; a child is refused memory beyond ``memory_gb``
    (a MemoryError, not the machine's OOM killer, on a check that cannot hold a county)."""
    from kiosk.check import CHECKS

    total = 0.0
    found = 0
    failed = []
    db.session.remove()
    db.engine.dispose()
    for fn in CHECKS:
        name = fn.__module__ + "." + fn.__name__
        read, write = os.pipe()
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:  # the child: one check, its result down the pipe
            os.close(read)
            limit = int(memory_gb * 1024**3)
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            start = time.perf_counter()
            try:
                problems = [str(p) for p in fn()]
                result = f"{time.perf_counter() - start:.2f} {len(problems)}\n" + "\n".join(
                    problems[:5]
                )
            except MemoryError:
                result = f"{time.perf_counter() - start:.2f} -1\nMemoryError beyond {memory_gb} GB"
            os.write(write, result.encode())
            os._exit(0)
        os.close(write)
        with os.fdopen(read) as pipe:
            output = pipe.read()
        _, _, usage = os.wait4(pid, 0)
        head, _, detail = output.partition("\n")
        seconds, count = (head.split() + ["0", "-1"])[:2] if head else ("0", "-1")
        total += float(seconds)
        found += max(0, int(count))
        rss = usage.ru_maxrss / 1024
        status = "FAILED" if int(count) < 0 else f"{count} problems"
        if int(count) < 0:
            failed.append(name)
        print(f"  check {name:48} {float(seconds):8.2f} s  {status}  peak RSS {rss:.0f} MB")
        for line in detail.splitlines():
            print(f"      {line}")
        sys.stdout.flush()
    print(f"jifen check: {total:.1f} s, {found} problems, {len(failed)} checks failed {failed}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=["village", "town", "county"], default="village")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--check-only", action="store_true", help="only time jifen check")
    parser.add_argument("--no-check", action="store_true", help="only generate")
    parser.add_argument(
        "--resume", action="store_true", help="carry on after an interrupted run's supermarkets"
    )
    parser.add_argument(
        "--check-memory-gb", type=float, default=8.0, help="memory allowed to one check"
    )
    args = parser.parse_args()

    app = create_app()
    with app.app_context():
        url = db.engine.url
        print(f"database: {url.render_as_string(hide_password=True)}")
        print(
            f"machine: {platform.platform()}, {os.cpu_count()} cores, "
            f"Python {sys.version.split()[0]}"
        )
        if not args.check_only:
            from bench import scale
            from kiosk.schema import table_names, upgrade_database

            if not table_names():
                print("migrating:", upgrade_database())
            start = time.perf_counter()

            def progress(i: int, n: int) -> None:
                if i == n or i % max(1, n // 60) == 0:
                    print(
                        f"  {i}/{n} supermarkets, {time.perf_counter() - start:.0f} s", flush=True
                    )

            summary = scale.generate(
                args.scale, seed=args.seed, progress=progress, resume=args.resume
            )
            wall = time.perf_counter() - start
            print(
                f"generated {args.scale}: {wall:.1f} s wall, of which "
                f"{summary.report_seconds:.1f} s building month-end reports; "
                f"peak RSS {peak_rss_mb():.0f} MB"
            )
        for name, count in row_counts().items():
            if count:
                print(f"  {name:24} {count:>12,}")
        if not args.no_check:
            timed_checks(args.check_memory_gb)


if __name__ == "__main__":
    main()
