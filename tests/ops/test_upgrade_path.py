"""Upgrades lose nothing: a database filled at every earlier migration comes to the head whole.

A demo village is made once at the head. For each revision 0001 … head, a new database is
migrated to that revision and filled with the village by plain INSERTs into the tables and
columns that revision has (what a box running that version would hold), then upgraded to the
head. Every row count and a content hash of the ledgers must be unchanged, and ``jifen check``
clean, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import os
from datetime import datetime

import pytest
import sqlalchemy as sa

from inventory.models import MOVE_COUNT
from kiosk import create_app
from kiosk.extensions import db
from tests.conftest import TEST_CONFIG

VERSIONS = os.path.join(os.path.dirname(__file__), "..", "..", "kiosk", "migrations", "versions")
REVISIONS = sorted(n[:4] for n in os.listdir(VERSIONS) if n[:4].isdigit() and n.endswith(".py"))
# The books whose content must survive byte for byte (the hash covers every column the older
# revision had).
LEDGERS = (
    "point_accounts",
    "point_entries",
    "redemptions",
    "redemption_lines",
    "stock_movements",
    "fund_accounts",
    "fund_entries",
    "audit_events",
    "audit_chain_heads",
    "households",
    "members",
    "cards",
    "products",
)


@pytest.fixture(scope="module")
def village(tmp_path_factory):
    """Every row of a small demo village made at the head: {table: [row dict, ...]}."""
    from kiosk.demo import load_demo

    path = tmp_path_factory.mktemp("village") / "village.sqlite3"
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    with app.app_context():
        db.create_all()
        load_demo(households_count=8)
        rows = {}
        with db.engine.connect() as conn:
            for table in db.metadata.sorted_tables:
                order = list(table.primary_key.columns)
                rows[table.name] = [
                    dict(r._mapping) for r in conn.execute(table.select().order_by(*order))
                ]
        db.session.remove()
        db.engine.dispose()
    assert rows["point_entries"] and rows["redemptions"] and rows["stock_movements"]
    assert rows["audit_events"] and rows["fund_entries"]
    assert any(m["kind"] == MOVE_COUNT for m in rows["stock_movements"])
    return {"current": rows, "before stocktakes": _without_stocktakes(rows)}


def _without_stocktakes(rows: dict) -> dict:
    """The village as a box that could not count stock yet held it (before 0003): no counts,
    and each product's stock without its counts' variances."""
    rows = {name: [dict(r) for r in table] for name, table in rows.items()}
    counted: dict[int, int] = {}
    for move in rows["stock_movements"]:
        if move["kind"] == MOVE_COUNT:
            counted[move["product_id"]] = counted.get(move["product_id"], 0) + move["quantity"]
    rows["stock_movements"] = [m for m in rows["stock_movements"] if m["kind"] != MOVE_COUNT]
    for product in rows["products"]:
        product["stock_qty"] -= counted.get(product["id"], 0)
        assert product["stock_qty"] >= 0
    for name in ("stocktakes", "stocktake_lines", "stocktake_counts"):
        rows[name] = []
    return rows


def _fill(conn: sa.Connection, village: dict) -> dict[str, list[str]]:
    """INSERT the village into the tables and columns the database has now; those columns."""
    existing = sa.MetaData()
    existing.reflect(conn)
    village = village["current" if "stocktakes" in existing.tables else "before stocktakes"]
    columns: dict[str, list[str]] = {}
    for model_table in db.metadata.sorted_tables:
        table = existing.tables.get(model_table.name)
        if table is None:
            continue
        names = [c.name for c in table.columns]
        columns[table.name] = names
        rows = [{k: v for k, v in row.items() if k in names} for row in village[table.name]]
        if rows:
            conn.execute(table.insert(), rows)
    if conn.dialect.name == "postgresql":  # the ids were given: move each sequence past them
        for table, names in columns.items():
            if "id" in names:
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"coalesce(max(id), 0) + 1, false) FROM {table}"
                )
    return columns


def _normal(value) -> str:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat()
    if isinstance(value, dict | list):
        import json

        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return repr(value)


def _state(conn: sa.Connection, columns: dict[str, list[str]]) -> tuple[dict, str]:
    """Row counts of the given tables and a sha256 over the ledgers' given columns."""
    meta = sa.MetaData()
    meta.reflect(conn, only=list(columns))
    counts, digest = {}, hashlib.sha256()
    for name, names in sorted(columns.items()):
        table = meta.tables[name]
        counts[name] = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
        if name not in LEDGERS:
            continue
        order = list(table.primary_key.columns)
        for row in conn.execute(sa.select(*[table.c[n] for n in names]).order_by(*order)):
            digest.update(("|".join(_normal(v) for v in row) + "\n").encode())
    return counts, digest.hexdigest()


@pytest.mark.parametrize("revision", REVISIONS)
def test_a_filled_database_at_each_revision_upgrades_without_loss(empty_app, village, revision):
    import flask_migrate

    from kiosk.check import run_checks
    from kiosk.schema import current_revision, head_revision, upgrade_database

    flask_migrate.upgrade(revision=revision)
    assert current_revision() == revision
    with db.engine.begin() as conn:
        columns = _fill(conn, village)
    with db.engine.connect() as conn:
        before = _state(conn, columns)
    assert sum(before[0].values()) > 100

    outcome = upgrade_database()
    assert outcome == ("current" if revision == head_revision() else "upgraded")
    assert current_revision() == head_revision()
    with db.engine.connect() as conn:
        after = _state(conn, columns)
    assert after[0] == before[0]  # row counts of every table the old revision had
    assert after[1] == before[1]  # the ledgers' content
    assert [str(p) for p in run_checks()] == []
