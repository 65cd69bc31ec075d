"""Kinds and statuses are closed sets held by the database: every StrEnum-backed column has a
CHECK constraint (kiosk.choices.one_of), migration 0008 makes exactly the models' constraints,
and a row with an unknown kind is refused on both backends."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from inventory.models import MovementKind
from kiosk import schema
from kiosk.extensions import db
from kiosk.models import EntryKind, HouseholdStatus, PointEntry, Role
from tests import factories

QUOTED = re.compile(r"'([^']*)'")


def _model_checks() -> dict[tuple[str, str], set[str]]:
    return {
        (table.name, constraint.name): set(QUOTED.findall(str(constraint.sqltext)))
        for table in db.metadata.sorted_tables
        for constraint in table.constraints
        if isinstance(constraint, sa.CheckConstraint)
    }


def _database_checks() -> dict[tuple[str, str], set[str]]:
    inspector = sa.inspect(db.engine)
    return {
        (table, check["name"]): set(QUOTED.findall(check["sqltext"]))
        for table in inspector.get_table_names()
        for check in inspector.get_check_constraints(table)
    }


def test_every_closed_set_has_its_constraint():
    checks = _model_checks()
    assert checks[("point_entries", "ck_point_entries_kind")] == set(EntryKind)
    assert checks[("stock_movements", "ck_stock_movements_kind")] == set(MovementKind)
    assert checks[("users", "ck_users_role")] == set(Role)
    assert checks[("print_jobs", "ck_print_jobs_status")] == {
        "queued",
        "sending",
        "printed",
        "failed",
    }
    assert len(checks) == 22


def test_the_migration_makes_exactly_the_models_constraints(empty_app):
    schema.upgrade_database()
    assert _database_checks() == _model_checks()


def test_the_published_notice_index_stays_partial(empty_app):
    """SQLite adds a CHECK by copying the table; the one-published-notice index keeps its WHERE."""
    schema.upgrade_database()
    with db.engine.connect() as conn:
        if db.engine.dialect.name == "sqlite":
            sql = conn.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE name = 'uq_notices_published_period'"
            ).scalar_one()
        else:
            sql = conn.exec_driver_sql(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'uq_notices_published_period'"
            ).scalar_one()
    assert "UNIQUE" in sql.upper() and "published" in sql and "WHERE" in sql.upper()


def test_the_downgrade_removes_them(empty_app):
    import flask_migrate

    schema.upgrade_database()
    flask_migrate.downgrade(revision="0007")
    assert _database_checks() == {}
    flask_migrate.upgrade()
    assert _database_checks() == _model_checks()


def test_a_member_equals_its_stored_string():
    assert EntryKind.AWARD == "award" and f"{EntryKind.AWARD}" == "award"
    assert HouseholdStatus("inactive") is HouseholdStatus.INACTIVE


def test_an_unknown_point_entry_kind_is_refused(app, supermarket):
    household = factories.household(supermarket, points=5)
    entry = db.session.scalars(sa.select(PointEntry).limit(1)).one()
    columns = {c.name: getattr(entry, c.key) for c in PointEntry.__table__.columns}
    columns.pop("id")
    with db.engine.connect() as conn:
        conn.execute(sa.insert(PointEntry.__table__).values(columns))  # the known kind goes in
        conn.rollback()
        with pytest.raises(IntegrityError):
            conn.execute(sa.insert(PointEntry.__table__).values({**columns, "kind": "bonus"}))
    assert household.account.balance == 5


@pytest.mark.parametrize(
    ("table", "column", "value"),
    [("users", "role", "owner"), ("households", "status", "moved")],
)
def test_an_unknown_status_or_role_is_refused_by_an_update(app, supermarket, table, column, value):
    factories.household(supermarket)
    factories.user("someone", "keeper", supermarket)
    db.session.commit()
    with db.engine.connect() as conn, pytest.raises(IntegrityError):
        conn.execute(sa.text(f"UPDATE {table} SET {column} = :value"), {"value": value})
