"""The Alembic migrations build exactly the schema the models describe, on both backends.

A model changed without a new migration makes ``compare_metadata`` report a difference, and
this test fails: regenerate with the command in docs/development.md.
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest
import sqlalchemy as sa

from kiosk import schema
from kiosk.extensions import db


def test_upgrade_builds_exactly_the_models(empty_app):
    assert schema.table_names() == set()
    assert schema.upgrade_database() == "created"
    assert schema.current_revision() == schema.head_revision()
    assert schema.schema_differences() == []
    assert {t.name for t in db.metadata.sorted_tables} <= schema.table_names()


def test_upgrade_twice_is_a_no_op(empty_app):
    schema.upgrade_database()
    assert schema.upgrade_database() == "current"
    assert schema.schema_differences() == []


def test_downgrade_to_base_and_up_again(empty_app):
    import flask_migrate

    schema.upgrade_database()
    flask_migrate.downgrade(revision="base")
    assert schema.table_names() <= {schema.VERSION_TABLE}
    assert schema.upgrade_database() == "created"
    assert schema.schema_differences() == []


def test_drift_between_models_and_database_is_detected(empty_app):
    """The guard itself works: a column the migrations do not know about is reported."""
    schema.upgrade_database()
    with db.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE households ADD COLUMN nickname VARCHAR(20)")
    differences = schema.schema_differences()
    assert any("nickname" in str(d) for d in differences)


def test_unversioned_schema_that_matches_is_stamped(empty_app):
    db.create_all()
    assert schema.upgrade_database() == "stamped"
    assert schema.current_revision() == schema.head_revision()


def test_unversioned_schema_that_differs_is_refused(empty_app):
    db.create_all()
    with db.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE households ADD COLUMN nickname VARCHAR(20)")
    with pytest.raises(schema.SchemaMismatch, match="不一致"):
        schema.upgrade_database()
    assert schema.current_revision() is None


def test_month_close_summaries_are_filled_from_the_stored_reports(empty_app):
    """0004 adds ``month_closes.summary`` and fills it from each close's stored report: the
    headline the area report reads, equal to what ``report_summary`` makes of the report."""
    import flask_migrate

    from inventory.monthend import report_summary

    flask_migrate.upgrade(revision="0003")
    report = {
        "version": 1,
        "products": [{"product_id": 1, "closing_qty": 5, "closing_value": 500}],
        "stock_totals": {"opening_value": 0, "closing_value": 500},
        "fund": {"opening": 0, "closing": 1200},
        "tieout": {"points_net": 7},
    }
    closes = sa.table(
        "month_closes",
        sa.column("supermarket_id"),
        sa.column("month"),
        sa.column("report", sa.JSON),
        sa.column("closed_at"),
    )
    with db.engine.begin() as conn:
        conn.execute(
            sa.table(
                "supermarkets",
                sa.column("id"),
                sa.column("code"),
                sa.column("name"),
                sa.column("town"),
                sa.column("village"),
                sa.column("points_per_yuan"),
                sa.column("next_receipt_no"),
                sa.column("fund_advance_limit_fen"),
                sa.column("created_at"),
            ).insert(),
            [
                {
                    "id": 1,
                    "code": "S1",
                    "name": "东村",
                    "town": "",
                    "village": "",
                    "points_per_yuan": 1,
                    "next_receipt_no": 1,
                    "fund_advance_limit_fen": 0,
                    "created_at": datetime(2026, 1, 1),
                }
            ],
        )
        conn.execute(
            closes.insert(),
            [
                {
                    "supermarket_id": 1,
                    "month": "2026-09",
                    "report": report,
                    "closed_at": datetime(2026, 10, 2),
                },
                {
                    "supermarket_id": 1,
                    "month": "2026-10",
                    "report": {},
                    "closed_at": datetime(2026, 11, 2),
                },
            ],
        )
    flask_migrate.upgrade()
    assert schema.schema_differences() == []
    with db.engine.connect() as conn:
        rows = dict(
            conn.execute(sa.text("SELECT month, summary FROM month_closes ORDER BY month")).all()
        )
    summary = rows["2026-09"]
    if isinstance(summary, str):  # SQLite hands back the JSON text
        summary = json.loads(summary)
    assert summary == report_summary(report)
    assert summary == {
        "version": 1,
        "stock_totals": report["stock_totals"],
        "fund": report["fund"],
        "tieout": report["tieout"],
    }
    assert rows["2026-10"] is None  # a report without its sections has no summary
