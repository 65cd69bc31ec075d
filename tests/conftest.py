"""Fixtures: an app on SQLite and on PostgreSQL for every database test, client, runner.

Every test that uses ``app`` runs twice, once per backend. PostgreSQL is the server on
127.0.0.1:5432 (override with JIFEN_TEST_PG_URL); the suite makes its own database there and
drops it at the end. Set JIFEN_TEST_BACKENDS=sqlite to run on SQLite alone while developing;
CI runs both and never skips.
"""

from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa

from kiosk import create_app
from kiosk.extensions import db
from tests import factories

PG_ADMIN_URL = os.environ.get(
    "JIFEN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = [b for b in os.environ.get("JIFEN_TEST_BACKENDS", "sqlite,postgresql").split(",") if b]

TEST_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "test-secret-key",
    "JIFEN_CARD_SECRET": "test-card-secret",
    "WTF_CSRF_ENABLED": False,
    # Fast hashes in tests; installations use scrypt (the default).
    "JIFEN_PASSWORD_METHOD": "pbkdf2:sha256:1000",
    "JIFEN_PRINTER": {"type": "preview", "paper_mm": 80},
    # Room for the 32 concurrent kiosks of the concurrency tests (connections open lazily).
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "pool_size": 5, "max_overflow": 40},
}


@pytest.fixture(scope="session")
def pg_database_url():
    """A fresh PostgreSQL database for this test session (dropped afterwards)."""
    name = f"jifen_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.make_url(PG_ADMIN_URL).set(database=name)
    engine = sa.create_engine(url)
    db.metadata.create_all(engine)
    engine.dispose()
    yield url.render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def _truncate_all(engine: sa.Engine) -> None:
    tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        # As SQLite's fresh file: a schema made by create_all, with no migration version (a
        # test of `jifen init` stamps one; the next test must not find it).
        conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")


def make_app(request, tmp_path, extra: dict | None = None):
    backend = request.param if hasattr(request, "param") else "sqlite"
    config = dict(TEST_CONFIG)
    if backend == "postgresql":
        config["SQLALCHEMY_DATABASE_URI"] = request.getfixturevalue("pg_database_url")
    else:
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'jifen.sqlite3'}"
    # Each test's own printer settings file, never the instance folder's.
    config["JIFEN_PRINTER_FILE"] = str(tmp_path / "printer.json")
    config.update(extra or {})
    app = create_app(config)
    app.config["JIFEN_BACKEND"] = backend
    with app.app_context():
        if backend == "postgresql":
            _truncate_all(db.engine)
        else:
            db.create_all()
    return app


@pytest.fixture(params=BACKENDS)
def app(request, tmp_path):
    """The app with an empty database, on each backend in turn, inside an app context."""
    app = make_app(request, tmp_path)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def supermarket(app):
    return factories.supermarket()


@pytest.fixture
def keeper(supermarket):
    return factories.user("keeper1", "keeper", supermarket, pin="1234", display_name="王店长")


@pytest.fixture
def admin(supermarket):
    return factories.user("admin1", "admin", supermarket, display_name="李主任")


@pytest.fixture
def supervisor(supermarket):
    return factories.user("super1", "supervisor", supermarket, display_name="赵监督")


@pytest.fixture(params=BACKENDS)
def empty_app(request, tmp_path):
    """An app on a brand-new, empty database (no create_all, no migrations), on each backend:
    for the tests of the migrations themselves."""
    admin = None
    name = f"jifen_mig_{uuid.uuid4().hex[:10]}"
    if request.param == "postgresql":
        admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = sa.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()
    if admin is not None:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
