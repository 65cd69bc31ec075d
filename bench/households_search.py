"""Household search at county scale: 200,000 households over 300 supermarkets (bench.scale's
county), or all in ONE supermarket (``--supermarkets 1``, the worst case: every query is
filtered by supermarket, so a county's search only reads its own supermarket's rows).

    python bench/households_search.py [--backends sqlite,postgresql] [--households 200000]
                                      [--supermarkets 300] [--n 20] [--trgm]

Rows are bulk-inserted with search keys built by kiosk.search_keys (the build rate is
reported too), then kiosk.households.search_households is timed for typical queries: two and
three initials, full pinyin, a Chinese name, a household number, and a query matching
nothing (a full scan with no early stop). Prints median and worst milliseconds per query.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid

import sqlalchemy as sa

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from kiosk import create_app  # noqa: E402
from kiosk.database import write_transaction  # noqa: E402
from kiosk.extensions import db  # noqa: E402
from kiosk.households import search_households  # noqa: E402
from kiosk.models import Household, Member, PointAccount, Supermarket  # noqa: E402
from kiosk.search_keys import build_search_key  # noqa: E402

PG_ADMIN_URL = os.environ.get(
    "JIFEN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤单解"  # noqa: E501
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国红玉萍文辉海波宁春梅德林云飞鹏浩"


def name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def populate(households: int, supermarkets: int, seed: int = 7) -> float:
    """Insert the households, members and accounts; return seconds spent building keys."""
    rng = random.Random(seed)
    with write_transaction():
        rows = [Supermarket(code=f"B{i:04d}", name=f"压测超市{i}") for i in range(supermarkets)]
        db.session.add_all(rows)
        db.session.flush()
        sm_ids = [sm.id for sm in rows]
    key_seconds = 0.0
    batch = 5000
    next_id = 1
    for start in range(0, households, batch):
        homes, members, accounts = [], [], []
        for i in range(start, min(start + batch, households)):
            people = [name(rng) for _ in range(rng.choice((1, 2, 3, 4)))]
            number = f"C{i:06d}"
            t0 = time.perf_counter()
            key = build_search_key(number, people)
            key_seconds += time.perf_counter() - t0
            homes.append(
                {
                    "id": next_id,
                    "supermarket_id": sm_ids[i % supermarkets],
                    "number": number,
                    "head_name": people[0],
                    "village": "村" + str(i % 300),
                    "group_name": "",
                    "status": "active",
                    "search_key": key,
                }
            )
            members += [{"household_id": next_id, "name": p, "relation": ""} for p in people]
            accounts.append({"household_id": next_id})
            next_id += 1
        with write_transaction():
            db.session.execute(sa.insert(Household), homes)
            db.session.execute(sa.insert(Member), members)
            db.session.execute(sa.insert(PointAccount), accounts)
    return key_seconds


def queries(sm_id: int) -> list[str]:
    """Queries a person would type for a real household of the measured supermarket, and one
    that matches nothing (a full scan with no early stop)."""
    from kiosk.search_keys import name_words

    home = db.session.scalar(
        sa.select(Household).where(Household.supermarket_id == sm_id).order_by(Household.id)
    )
    _, full, initials, *_ = name_words(home.head_name)
    return [initials[:2], initials, full, home.head_name, home.number, "qqqqqq"]


def time_queries(n: int) -> dict[str, tuple[float, float, int]]:
    sm_id = db.session.scalar(sa.select(sa.func.min(Supermarket.id)))
    out = {}
    for q in queries(sm_id):
        search_households(sm_id, q)  # warm
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            rows = search_households(sm_id, q)
            times.append((time.perf_counter() - t0) * 1000)
            db.session.rollback()
        out[q] = (statistics.median(times), max(times), len(rows))
    return out


def run(backend: str, households: int, supermarkets: int, n: int, trgm: bool) -> None:
    config = {"TESTING": True, "SECRET_KEY": "bench", "JIFEN_CARD_SECRET": "bench"}
    cleanup = None
    if backend == "postgresql":
        dbname = f"jifen_bench_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{dbname}"')
        config["SQLALCHEMY_DATABASE_URI"] = (
            sa.make_url(PG_ADMIN_URL).set(database=dbname).render_as_string(hide_password=False)
        )

        def cleanup() -> None:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
            admin.dispose()

    else:
        path = os.path.join(tempfile.mkdtemp(), "bench.sqlite3")
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{path}"
    app = create_app(config)
    try:
        with app.app_context():
            db.create_all()
            t0 = time.perf_counter()
            key_seconds = populate(households, supermarkets)
            load = time.perf_counter() - t0
            if backend == "postgresql":
                with db.engine.connect() as conn:
                    conn.exec_driver_sql("ANALYZE")
                    conn.commit()
            print(
                f"[{backend}] {households} households in {supermarkets} supermarket(s) "
                f"loaded in {load:.1f}s; "
                f"search keys built at {households / key_seconds:,.0f} households/s"
            )
            if trgm and backend == "postgresql":
                with db.engine.connect() as conn:
                    conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
                    conn.exec_driver_sql(
                        "CREATE INDEX ix_households_search_key_trgm ON households"
                        " USING gin (search_key gin_trgm_ops)"
                    )
                    conn.exec_driver_sql("ANALYZE")
                    conn.commit()
                print(f"[{backend}] with a pg_trgm GIN index on search_key")
            for q, (median, worst, count) in time_queries(n).items():
                print(
                    f"[{backend}]   q={q!r:12} median {median:6.1f} ms  max {worst:6.1f} ms"
                    f"  ({count} rows)"
                )
            db.session.remove()
            db.engine.dispose()
    finally:
        if cleanup:
            cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--households", type=int, default=200_000)
    parser.add_argument("--supermarkets", type=int, default=300)
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument(
        "--trgm", action="store_true", help="PostgreSQL: add a pg_trgm GIN index on the keys"
    )
    args = parser.parse_args()
    for backend in args.backends.split(","):
        run(backend, args.households, args.supermarkets, args.n, args.trgm)


if __name__ == "__main__":
    main()
