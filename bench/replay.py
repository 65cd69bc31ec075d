"""The county's PostgreSQL alone: the counter's redemption statements replayed by pgbench.

``bench/counter.py`` runs 32 kiosks through the app, and the kiosks' Python shares this
machine's 2 cores with PostgreSQL, so its rate says as much about the kiosks as about the
server. As deployed, each kiosk runs jifen on its own box against one PostgreSQL. This
benchmark asks the server-side question directly: pgbench (a C client that costs little CPU)
sends the statements one API redemption sends, in the same order, with the same locks and
writes (the sign-in's token look-up, the card, the account and goods locked, the idempotency
and month checks, the standing reads, the receipt number, the redemption and its lines, the
stock, the balance, the receipt's print job, the movements, the point entry, the audit row
and its chain head; the pool's ping; one transaction), paced as a kiosk box paces them (and
back to back), 32 clients at once, on a copy of the given database, against distinct
households (one village each) and against four hot ones.

In the same run, the app itself redeems on the same copy (``bench/counter.py``'s kiosks), and
both report PostgreSQL's own CPU per redemption, read from /proc: the replay is only a fair
stand-in for the app where the two are close, and the table shows both.

    python bench/replay.py --pg postgresql+psycopg://postgres@127.0.0.1:5432/county_pg

The copy (``jifen_replay_<random>``, made with ``CREATE DATABASE ... TEMPLATE``, so nothing may
be connected to the source) is dropped afterwards. Results go to ``docs/replay-benchmarks.md``.
The replayed rows are real rows in the copy, but their audit hashes are not the app's (pgbench
cannot compute the app's canonical JSON), which is why it runs on a copy.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime

import sqlalchemy as sa

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.counter import (  # noqa: E402
    _postgres_cpu,
    _postgres_cpu_since,
    _prepare_throughput,
    _run_clients,
    bench_app,
)
from bench.stats import throwaway_database, write_results  # noqa: E402
from kiosk.auth import _hash_token  # noqa: E402
from kiosk.cards import parse_payload  # noqa: E402
from kiosk.clock import local_now  # noqa: E402
from kiosk.extensions import db  # noqa: E402
from kiosk.models import Card, Supermarket  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTES_MARKER = "<!-- notes: written by hand, kept by bench/replay.py -->"

# One API redemption's statements (see tests/api/test_api_counter.py, which asserts what the app
# reads and writes), in its order, as pgbench runs them with -M prepared (psycopg prepares the
# app's statements too). The two-row INSERTs take SQLAlchemy's "insertmanyvalues" form, as the
# app sends them (plain VALUES cost the server a fifth less: the stand-in was too cheap). The kiosk's plan (which card, goods and keeper) comes with its
# sign-in: one more primary-key probe in the token look-up.
SCRIPT = r"""
\set key random(1, 9000000000000000000)
SELECT 1;
BEGIN;
SELECT users.id, users.supermarket_id, users.username, users.display_name, users.role,
       users.password_hash, users.pin_hash, users.failed_attempts, users.locked_until,
       users.active, users.created_at, api_tokens.id AS tid, api_tokens.last_used_at AS tlu,
       plan.serial AS sr, plan.issue_no AS iss, plan.household_id AS hid,
       plan.supermarket_id AS sid, plan.keeper_id AS kid, plan.card_id AS cid, plan.p1,
       plan.p2, plan.code
  FROM bench_replay_plan AS plan
  JOIN api_tokens ON api_tokens.token_hash = plan.token_hash
  JOIN users ON users.id = api_tokens.user_id
 WHERE plan.mode = :mode AND plan.client = :client_id
   AND api_tokens.revoked_at IS NULL AND users.active IS true \gset
SELECT households.id, households.supermarket_id, households.number, households.head_name,
       households.village, households.group_name, households.status, households.created_at,
       households.inactive_reason, households.search_key, cards.id AS id_1,
       cards.household_id, cards.serial, cards.issue_no, cards.status AS status_1,
       cards.issued_at, cards.revoked_at, cards.revoke_reason
  FROM cards JOIN households ON households.id = cards.household_id
 WHERE cards.serial = :sr AND cards.issue_no = :iss;
SELECT id AS aid, balance AS bal FROM point_accounts WHERE household_id = :hid FOR UPDATE \gset
SELECT * FROM redemptions WHERE idempotency_key = 'rp-' || :client_id || '-' || :key;
SELECT month_closes.id FROM month_closes
 WHERE month_closes.supermarket_id = :sid AND month_closes.month = :month;
SELECT supermarkets.id, supermarkets.code, supermarkets.name, supermarkets.town,
       supermarkets.village, supermarkets.points_per_yuan, supermarkets.policy,
       supermarkets.next_receipt_no, supermarkets.fund_advance_limit_fen,
       supermarkets.created_at
  FROM supermarkets WHERE supermarkets.id = :sid;
SELECT products.id, products.supermarket_id, products.sku, products.barcode, products.name,
       products.unit, products.category_id, products.kind, products.unit_cost_fen,
       products.points_price, products.stock_qty, products.active, products.restriction_key,
       products.created_at
  FROM products WHERE products.supermarket_id = :sid AND products.id IN (:p1, :p2)
 ORDER BY products.id FOR UPDATE;
SELECT household_id, member_id, period, score FROM assessments
 WHERE household_id = :hid ORDER BY id;
SELECT id, birth_date FROM members WHERE household_id = :hid AND active IS true ORDER BY id;
UPDATE supermarkets SET next_receipt_no = next_receipt_no + 1 WHERE id = :sid
 RETURNING next_receipt_no AS rno \gset
INSERT INTO redemptions (supermarket_id, receipt_no, household_id, account_id, card_id,
       keeper_id, idempotency_key, cart_hash, total_points, spent_points, quota_left,
       total_cost_fen, balance_before, balance_after, status, created_at, voided_at,
       voided_by_id, void_reason)
VALUES (:sid, :code || '-' || lpad((:rno - 1)::text, 8, '0'), :hid, :aid, :cid, :kid,
        'rp-' || :client_id || '-' || :key, md5(:key::text) || md5(:hid::text), 2, 2, NULL,
        200, :bal, :bal - 2, 'completed', now()::timestamp, NULL, NULL, NULL)
RETURNING id AS rid \gset
INSERT INTO redemption_lines (redemption_id, product_id, product_name, unit, quantity,
       unit_points, unit_cost_fen, line_points, restriction_key)
SELECT p0::INTEGER, p1::INTEGER, p2::VARCHAR, p3::VARCHAR, p4::INTEGER, p5::INTEGER,
       p6::INTEGER, p7::INTEGER, p8::VARCHAR
  FROM (VALUES (:rid::INTEGER, :p1::INTEGER, '大米'::VARCHAR, '袋'::VARCHAR, 1::INTEGER,
                1::INTEGER, 100::INTEGER, 1::INTEGER, NULL::VARCHAR, 0),
               (:rid::INTEGER, :p2::INTEGER, '香皂'::VARCHAR, '块'::VARCHAR, 1::INTEGER,
                1::INTEGER, 100::INTEGER, 1::INTEGER, NULL::VARCHAR, 1))
       AS imp_sen(p0, p1, p2, p3, p4, p5, p6, p7, p8, sen_counter)
 ORDER BY sen_counter
RETURNING redemption_lines.id, redemption_lines.id AS id__1;
UPDATE products SET stock_qty = stock_qty - 1 WHERE id = :p1;
UPDATE products SET stock_qty = stock_qty - 1 WHERE id = :p2;
UPDATE point_accounts SET balance = balance - 2, redeemed_total = redeemed_total + 2,
       updated_at = now()::timestamp WHERE id = :aid;
INSERT INTO print_jobs (supermarket_id, kind, redemption_id, printer, copy_no, status,
       payload, text, attempts, last_error, requested_by_id, created_at, claimed_at,
       printed_at)
VALUES (:sid, 'receipt', :rid, 'preview', 1, 'printed', decode(repeat('1b40', 187), 'hex'),
        repeat('积分超市兑换小票 大米 1袋 ', 31), 1, NULL, :kid, now()::timestamp, NULL,
        now()::timestamp)
RETURNING id;
INSERT INTO stock_movements (product_id, kind, quantity, unit_cost_fen, quantity_after,
       redemption_id, reverses_id, supplier, invoice_no, note, reason, ref_type, ref_id,
       created_by_id, created_at)
SELECT p0::INTEGER, p1::VARCHAR, p2::INTEGER, p3::INTEGER, p4::INTEGER, p5::INTEGER,
       p6::INTEGER, p7::VARCHAR, p8::VARCHAR, p9::VARCHAR, p10::VARCHAR, p11::VARCHAR,
       p12::INTEGER, p13::INTEGER, p14::TIMESTAMP WITHOUT TIME ZONE
  FROM (VALUES (:p1::INTEGER, 'redemption'::VARCHAR, -1::INTEGER, 100::INTEGER, 0::INTEGER,
                :rid::INTEGER, NULL::INTEGER, ''::VARCHAR, ''::VARCHAR, ''::VARCHAR,
                ''::VARCHAR, ''::VARCHAR, NULL::INTEGER, :kid::INTEGER,
                now()::TIMESTAMP WITHOUT TIME ZONE, 0),
               (:p2::INTEGER, 'redemption'::VARCHAR, -1::INTEGER, 100::INTEGER, 0::INTEGER,
                :rid::INTEGER, NULL::INTEGER, ''::VARCHAR, ''::VARCHAR, ''::VARCHAR,
                ''::VARCHAR, ''::VARCHAR, NULL::INTEGER, :kid::INTEGER,
                now()::TIMESTAMP WITHOUT TIME ZONE, 1))
       AS imp_sen(p0, p1, p2, p3, p4, p5, p6, p7, p8, p9, p10, p11, p12, p13, p14, sen_counter)
 ORDER BY sen_counter
RETURNING stock_movements.id, stock_movements.id AS id__1;
INSERT INTO point_entries (account_id, kind, amount, balance_after, reason, redemption_id,
       reverses_id, idempotency_key, created_by_id, created_at)
VALUES (:aid, 'redemption', -2, :bal - 2, '兑换 ' || :rid, :rid, NULL, NULL, :kid,
        now()::timestamp)
RETURNING id;
SELECT seq AS hseq, hash AS hhash FROM audit_chain_heads WHERE chain = :sid FOR UPDATE \gset
INSERT INTO audit_events (supermarket_id, actor_id, action, subject_type, subject_id, data,
       created_at, chain, seq, prev_hash, hash)
VALUES (:sid, :kid, 'redemption.create', 'Redemption', :rid,
        '{"receipt_no": "replay", "total_points": 2, "lines": [[1, 1, 1], [2, 1, 1]]}',
        now()::timestamp, :sid, :hseq + 1, :hhash, md5(:hhash) || md5(:rid::text))
RETURNING id;
UPDATE audit_chain_heads SET seq = :hseq + 1, hash = md5(:hhash) || md5(:rid::text),
       updated_at = now()::timestamp WHERE chain = :sid;
COMMIT;
"""


def _plans(url: str, clients: int) -> tuple[dict[str, list], dict[str, list[tuple]], str]:
    """The kiosks' plans as bench/counter.py makes them (points and stock through the app's
    services), the rows pgbench reads them from, and the supermarkets' month."""
    app = bench_app(url)
    with app.app_context():
        work = _prepare_throughput(clients)
        db.session.commit()
        out: dict[str, list[tuple]] = {}
        for mode, rows in work.items():
            out[mode] = []
            for client, (token, payload, household_id, sm_id, keeper_id, products) in enumerate(
                rows
            ):
                serial, issue_no = parse_payload(payload)
                card_id = db.session.scalar(
                    sa.select(Card.id).where(Card.serial == serial, Card.issue_no == issue_no)
                )
                code = db.session.get(Supermarket, sm_id).code
                out[mode].append(
                    (
                        mode,
                        client,
                        _hash_token(token),
                        serial,
                        issue_no,
                        household_id,
                        sm_id,
                        keeper_id,
                        card_id,
                        products[0],
                        products[1],
                        code,
                    )
                )
        month = f"{local_now():%Y-%m}"  # the supermarket's month, as the counter checks it
    return work, out, month


def _store_plans(url: str, rows: dict[str, list[tuple]]) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE bench_replay_plan (mode text, client int, token_hash text, serial int,"
            " issue_no int, household_id int, supermarket_id int, keeper_id int, card_id int,"
            " p1 int, p2 int, code text, PRIMARY KEY (mode, client))"
        )
        for mode in ("distinct", "hot"):
            conn.execute(
                sa.text(
                    "INSERT INTO bench_replay_plan VALUES (:m, :c, :t, :s, :i, :h, :sm, :k,"
                    " :card, :p1, :p2, :code)"
                ),
                [
                    dict(
                        zip(
                            ("m", "c", "t", "s", "i", "h", "sm", "k", "card", "p1", "p2", "code"),
                            row,
                            strict=True,
                        )
                    )
                    for row in rows[mode]
                ],
            )
    engine.dispose()


def _pgbench(url: str, script: str, mode: str, month: str, clients: int, seconds: float) -> dict:
    """Run pgbench; (transactions per second, failed, pgbench's CPU ms and PostgreSQL's CPU ms
    per transaction)."""
    u = sa.make_url(url)
    before_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    pg_before = _postgres_cpu()
    proc = subprocess.run(
        [
            shutil.which("pgbench") or "pgbench",
            "-n",
            "-M",
            "prepared",
            "-c",
            str(clients),
            "-j",
            str(max(1, min(clients, os.cpu_count() or 2))),
            "-T",
            str(int(seconds)),
            "-D",
            f"mode={mode}",
            "-D",
            f"month={month}",
            "-f",
            script,
            "-h",
            u.host or "127.0.0.1",
            "-p",
            str(u.port or 5432),
            "-U",
            u.username or "postgres",
            u.database,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    pg_cpu = _postgres_cpu_since(pg_before, settle=True)
    after_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"pgbench failed:\n{proc.stdout}\n{proc.stderr}")
    done = failed = 0
    tps = 0.0
    for line in proc.stdout.splitlines():
        if line.startswith("number of transactions actually processed:"):
            done = int(line.split(":")[1].split()[0])
        elif line.startswith("number of failed transactions:"):
            failed = int(line.split(":")[1].split()[0])
        elif line.startswith("tps = "):
            tps = float(line.split()[2])
    client_cpu = (after_children.ru_utime + after_children.ru_stime) - (
        before_children.ru_utime + before_children.ru_stime
    )
    return {
        "rate": tps,
        "done": done,
        "failed": failed,
        "client_cpu_ms": client_cpu * 1000 / max(done, 1),
        "pg_cpu_ms": pg_cpu * 1000 / max(done, 1) if pg_cpu is not None else None,
    }


def _ends_statement(line: str) -> bool:
    return line.rstrip().endswith((";", "\\gset"))


STATEMENTS = sum(1 for line in SCRIPT.splitlines() if _ends_statement(line))


def paced(script: str, pace_us: int) -> str:
    """The script with a pause after each statement (as many as ``STATEMENTS`` counts): the
    kiosk's own work between them."""
    out = []
    for line in script.splitlines():
        out.append(line)
        if _ends_statement(line):
            out.append(f"\\sleep {pace_us} us")
    return "\n".join(out) + "\n"


def _script(workdir: str, name: str, text: str) -> str:
    path = os.path.join(workdir, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def _app(url: str, work: list, seconds: float) -> dict:
    rate, errors, cpu, pg_ms = _run_clients(url, "app", work, seconds)
    return {"rate": rate, "errors": errors, "cpu_ms": cpu, "pg_cpu_ms": pg_ms}


def _checkpoint(url: str) -> None:
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql("CHECKPOINT")
    engine.dispose()


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def render(rows: list[dict], source: str, clients: int, seconds: float, pace_us: int) -> str:
    cores = os.cpu_count() or 1
    lines = [
        "# The county's PostgreSQL alone: the counter's statements replayed",
        "",
        "Written by `python bench/replay.py`; every figure beside its baseline from the same run.",
        "",
        f"- run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {seconds:.0f} s each, on a copy of "
        f"`{source}`; paced: {pace_us} µs after each of the {STATEMENTS} statements",
        f"- machine: {platform.machine()}, {cores} cores, {platform.platform()}",
        "",
        "| kiosks | statements | pgbench replay/s | failed | PostgreSQL CPU ms each | "
        "pgbench CPU ms each | app through Flask/s | its errors | its PostgreSQL CPU ms each "
        "| its kiosks' CPU ms each | PostgreSQL CPU, replay ÷ app |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        rep, app = r["replay"], r["app"]
        if app is None:
            app_cells = "| – | – | – | – | – |"
        else:
            ratio = (
                f"{rep['pg_cpu_ms'] / app['pg_cpu_ms']:.2f}"
                if rep["pg_cpu_ms"] and app["pg_cpu_ms"]
                else "n/a"
            )
            app_cells = (
                f"| {app['rate']:.0f} | {app['errors']} | {_ms(app['pg_cpu_ms'])} | "
                f"{app['cpu_ms']:.1f} | {ratio} |"
            )
        lines.append(
            f"| {r['label']} | {r['pace']} | **{rep['rate']:.0f}** | {rep['failed']} | "
            f"{_ms(rep['pg_cpu_ms'])} | {_ms(rep['client_cpu_ms'])} " + app_cells
        )
    lines += [
        "",
        "*pgbench replay*: the statements of one API redemption (the pool's ping, the "
        "sign-in's token look-up, then in one transaction the card, the account and the goods "
        "locked, the idempotency and month checks, the supermarket, the standing reads, the "
        "receipt number, the redemption and its two lines, the stock, the balance, the "
        "receipt's print job, the movements, the point entry, the audit row and its chain head) "
        "sent by pgbench, prepared, one kiosk per client; *paced*: with a pause after each "
        "statement, the app's own CPU per redemption (one kiosk, measured first in the same "
        "run) spread over the statements, as a kiosk box running jifen sends them; *back to "
        "back*: no pause, the server's ceiling for these statements. *App through Flask*: the "
        "same kiosks posting `POST /api/v1/redemptions` through the app (bench/counter.py's "
        "throughput run) on the same copy, their Python on these same cores. *PostgreSQL CPU "
        "ms each*: what PostgreSQL's own processes spent per completed redemption, from /proc. "
        "The last column says how close the replay's cost to the server is to the app's: read "
        "it on the 1-kiosk row, where nothing else competes for the cores; with 32 kiosks the "
        "app's Python kiosks share the 2 cores with PostgreSQL (which they would not as "
        "deployed, each kiosk on its own box) and PostgreSQL's CPU per redemption rises with "
        "the contention. Issue 7's goal: ≥ 500 redemptions/s with 32 kiosks and zero errors.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", required=True, help="the database to copy (e.g. a county)")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="jifen-replay-")
    url, drop = throwaway_database("postgresql", workdir, "jifen_replay", template=args.pg)
    rows = []
    try:
        work, plan_rows, month = _plans(url, args.clients)
        _store_plans(url, plan_rows)
        _checkpoint(url)  # the set-up's writes out of the way of the measured runs
        # One kiosk through the app first: its CPU per redemption, spread over the
        # statements, is the pace at which a kiosk sends them.
        app1 = _app(url, work["distinct"][:1], args.seconds)
        pace_us = round(app1["cpu_ms"] * 1000 / STATEMENTS)
        scripts = {
            "back to back": _script(workdir, "unpaced.sql", SCRIPT),
            "paced": _script(workdir, "paced.sql", paced(SCRIPT, pace_us)),
        }
        runs = (
            ("distinct", 1, "1 kiosk", "paced"),
            ("distinct", args.clients, f"{args.clients}, distinct (one village each)", "paced"),
            ("hot", args.clients, f"{args.clients}, 4 hot", "paced"),
            ("distinct", args.clients, f"{args.clients}, distinct", "back to back"),
        )
        for mode, clients, label, pace in runs:
            print(f"replaying {label}, {pace} ...", file=sys.stderr)
            replay = _pgbench(url, scripts[pace], mode, month, clients, args.seconds)
            if clients == 1:
                app = app1
            elif pace == "paced":
                app = _app(url, work[mode][:clients], args.seconds)
            else:
                app = None
            print(f"  replay {replay}, app {app}", file=sys.stderr)
            rows.append({"label": label, "pace": pace, "replay": replay, "app": app})
    finally:
        drop()
    source = sa.make_url(args.pg).database
    text = render(rows, source, args.clients, args.seconds, pace_us)
    print(text)
    if not args.no_write:
        write_results(os.path.join(ROOT, "docs", "replay-benchmarks.md"), text, NOTES_MARKER)


if __name__ == "__main__":
    main()
