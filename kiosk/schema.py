"""The database schema's version: upgrade through the Alembic migrations in kiosk/migrations.

``jifen init`` calls :func:`upgrade_database`. A database made before it had migrations (by
``create_all``, as the test fixtures do) is stamped at the head revision, but only when its
tables match the models exactly; anything else is refused rather than guessed at.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import current_app

from kiosk.extensions import db, real_migrate

# Alembic and Flask-Migrate are imported where they are used: a serving kiosk only asks
# for table_names() and never loads them.

VERSION_TABLE = "alembic_version"


class SchemaMismatch(Exception):
    """The database has tables that no migration made and that differ from the models."""


def _migrate_config():
    return real_migrate(current_app).migrate.get_config()


def head_revision() -> str | None:
    """The newest revision among kiosk/migrations/versions."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_migrate_config()).get_current_head()


def current_revision() -> str | None:
    """The revision the database is at (None for a database no migration has touched)."""
    from alembic.migration import MigrationContext

    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def schema_differences() -> list[Any]:
    """Alembic's differences between the models and the database (empty when they agree)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, db.metadata))


def table_names() -> set[str]:
    """The tables that exist in the database."""
    with db.engine.connect() as conn:
        return set(sa.inspect(conn).get_table_names())


def upgrade_database() -> str:
    """Bring the schema to the head revision. Returns 'created', 'upgraded', 'current' or
    'stamped' (an unversioned schema that already matched the models)."""
    import flask_migrate

    real_migrate(current_app)
    tables = table_names()
    ours = {t.name for t in db.metadata.sorted_tables}
    if VERSION_TABLE not in tables and tables & ours:
        differences = schema_differences()
        if differences:
            raise SchemaMismatch(
                "数据库里已有表，但没有迁移记录，且与当前模型不一致："
                + "; ".join(str(d) for d in differences[:5])
            )
        flask_migrate.stamp(revision="head")
        return "stamped"
    before = current_revision()
    if before is not None and before == head_revision():
        return "current"
    flask_migrate.upgrade(revision="head")
    db.engine.dispose()  # connections opened before the upgrade may cache the old schema
    return "created" if before is None else "upgraded"
