"""Fixtures: an app on SQLite and on PostgreSQL for every database test, client, runner.

Every test that uses ``app`` runs twice, once per backend. PostgreSQL is the server on
127.0.0.1:5432 (override with JIFEN_TEST_PG_URL); the suite makes its own database there and
drops it at the end. Set JIFEN_TEST_BACKENDS=sqlite to run on SQLite alone while developing;
CI runs both and never skips.

Each test still gets a brand-new app and an empty database; what that costs is paid once per
process where it can be (see "What every test pays for" below), which is most of the suite's
time on a small machine.
"""

from __future__ import annotations

import atexit
import inspect
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask_sqlalchemy import SQLAlchemy
from werkzeug.routing import Rule

from kiosk import create_app
from kiosk.database import configure_engine
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


# --- What every test pays for, paid once -----------------------------------------------------


def _reuse_url_builders() -> None:
    """Compile each URL rule's builder once per process instead of once per app.

    werkzeug compiles two small Python functions for every rule an app registers (about 200
    rules here): 90% of ``create_app``, 0.1 s a test on a 2-core machine. The functions
    depend only on the rule's text, its defaults and its converters, and reach the rule
    itself through their bound ``self``, so a fresh app may share them. If werkzeug changes
    the private method, nothing is patched and apps are only slower to make.
    """
    original = getattr(Rule, "_compile_builder", None)
    if original is None or list(inspect.signature(original).parameters) != [
        "self",
        "append_unknown",
    ]:
        return
    compiled: dict[tuple, object] = {}

    def compile_builder(self: Rule, append_unknown: bool = True):
        defaults = tuple(
            sorted(
                (name, type(self._converters.get(name)).__qualname__, repr(value))
                for name, value in (self.defaults or {}).items()
            )
        )
        key = (self.rule, append_unknown, tuple(self._trace), defaults)
        if key not in compiled:
            compiled[key] = original(self, append_unknown)
        return compiled[key]

    Rule._compile_builder = compile_builder  # type: ignore[method-assign]


_reuse_url_builders()


# PostgreSQL engines a finished test handed back, by (URL, options), and each engine's key.
_free_engines: dict[tuple[str, str], list[sa.Engine]] = {}
_engine_keys: dict[int, tuple[str, str]] = {}


def _reuse_postgresql_engines() -> None:
    """Give a test's app an engine an earlier test on the same PostgreSQL database handed back.

    SQLAlchemy caches each statement's compiled SQL in its engine: a fresh engine per test
    compiled every statement again (a sixth of a test's time). Only the ``app`` fixture hands
    its engine back, after disposing its pool, so a test starts
    with new connections all the same, and a second app in a test (two servers on one
    database) gets an engine of its own. SQLite files are per test and keep their own engines.
    If Flask-SQLAlchemy changes the private method, nothing is patched: tests are only slower."""
    original = getattr(SQLAlchemy, "_make_engine", None)
    if original is None or list(inspect.signature(original).parameters) != [
        "self",
        "bind_key",
        "options",
        "app",
    ]:
        return

    def make_engine(self, bind_key, options, app):
        url = str(options.get("url", ""))
        settings = repr(sorted((k, repr(v)) for k, v in options.items() if k != "url"))
        if url.startswith("sqlite"):
            return _with_shared_dialect(original(self, bind_key, options, app), settings)
        if not url.startswith("postgresql"):
            return original(self, bind_key, options, app)
        key = (url, settings)
        free = _free_engines.get(key)
        if free:
            return free.pop()
        engine = original(self, bind_key, options, app)
        _engine_keys[id(engine)] = key
        return engine

    SQLAlchemy._make_engine = make_engine  # type: ignore[method-assign]


# The first SQLite engine's dialect and compiled-statement cache, by the engines' options.
_sqlite_dialects: dict[str, tuple[Any, Any]] = {}


def _with_shared_dialect(engine: sa.Engine, settings: str) -> sa.Engine:
    """A SQLite engine (each test has its own file) that compiles through an earlier one's
    dialect and cache: SQLAlchemy keys a compiled statement by its dialect object, so engines
    with dialects of their own could not share. A dialect holds no state of a database file,
    only pysqlite's settings and what it learnt on its first connection (SQLite's version),
    the same for engines made with the same options; so the dialect shared is one that has
    connected (until one has, each engine keeps its own)."""
    shared = _sqlite_dialects.get(settings)
    if shared is None or shared[0].server_version_info is None:
        _sqlite_dialects[settings] = (engine.dialect, engine._compiled_cache)
        return engine
    engine.dialect, engine._compiled_cache = shared
    engine.pool._dialect = shared[0]
    return engine


def _hand_back(engine: sa.Engine) -> None:
    """After ``engine.dispose()``: the next test's app may have it."""
    key = _engine_keys.get(id(engine))
    if key is not None:
        _free_engines.setdefault(key, []).append(engine)


_reuse_postgresql_engines()


def _prepare_shared_files() -> None:
    """Make, once, what every app writes beside the code on its first start: python-escpos's
    capability cache (under the instance folder) and the compiled message catalogues.

    This runs when pytest loads this file, before pytest-xdist starts its workers: on a clean
    clone, two workers starting at once would otherwise race on escpos's cache, which it
    writes in place (one reads the other's half-written file)."""
    create_app(dict(TEST_CONFIG))


_prepare_shared_files()

_sqlite_schema: Path | None = None


def _sqlite_database(path: Path) -> None:
    """A fresh SQLite file at ``path`` with the models' schema: a copy of one made once per
    process by ``create_all`` (a copy takes milliseconds; creating every table took 30 ms a
    test on a quiet machine and half a second on a busy one)."""
    global _sqlite_schema
    if _sqlite_schema is None:
        folder = tempfile.mkdtemp(prefix="jifen-schema-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        schema = Path(folder) / "schema.sqlite3"
        engine = sa.create_engine(f"sqlite:///{schema}")
        configure_engine(engine)  # the app's pragmas: the file is in WAL mode, as the app's
        db.metadata.create_all(engine)
        engine.dispose()  # checkpoints the WAL into the file
        _sqlite_schema = schema
    shutil.copyfile(_sqlite_schema, path)


def _empty_postgresql(engine: sa.Engine) -> None:
    """Empty every table and restart every used sequence, as a fresh database would have them.

    Deleting the rows a test left takes milliseconds; TRUNCATE of every table made new files
    for each table and index: 0.15 s a test on a quiet machine, up to 0.9 s on a busy one.
    """
    tables = ", ".join(f"'{t.name}'" for t in reversed(db.metadata.sorted_tables))
    with engine.begin() as conn:
        conn.exec_driver_sql(
            f"""DO $$
            DECLARE name text;
            BEGIN
              FOREACH name IN ARRAY ARRAY[{tables}] LOOP
                EXECUTE 'DELETE FROM ' || quote_ident(name);
              END LOOP;
              -- A sequence never called shows no last_value; RESTART makes it so again.
              FOR name IN SELECT sequencename FROM pg_sequences
                          WHERE schemaname = current_schema() AND last_value IS NOT NULL LOOP
                EXECUTE 'ALTER SEQUENCE ' || quote_ident(name) || ' RESTART';
              END LOOP;
            END $$"""
        )
        # As SQLite's fresh file: a schema made by create_all, with no migration version (a
        # test of `jifen init` stamps one; the next test must not find it).
        conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")


# --- Fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_database_url():
    """A fresh PostgreSQL database for this test session (dropped afterwards)."""
    name = f"jifen_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        conn.exec_driver_sql(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    url = sa.make_url(PG_ADMIN_URL).set(database=name)
    engine = sa.create_engine(url)
    db.metadata.create_all(engine)
    engine.dispose()
    yield url.render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def make_app(request, tmp_path, extra: dict | None = None):
    backend = request.param if hasattr(request, "param") else "sqlite"
    config = dict(TEST_CONFIG)
    database = tmp_path / "jifen.sqlite3"
    if backend == "postgresql":
        config["SQLALCHEMY_DATABASE_URI"] = request.getfixturevalue("pg_database_url")
    else:
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{database}"
    # Each test's own printer settings file, never the instance folder's.
    config["JIFEN_PRINTER_FILE"] = str(tmp_path / "printer.json")
    config.update(extra or {})
    copied = config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{database}" and not database.exists()
    if copied:
        _sqlite_database(database)
    app = create_app(config)
    app.config["JIFEN_BACKEND"] = backend
    with app.app_context():
        if backend == "postgresql":
            _empty_postgresql(db.engine)
        elif not copied:  # a second app on the test's file keeps its rows, as it always did
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
        _hand_back(db.engine)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def sign_in(client, username: str, password: str = "secret123"):
    """``client`` signed in through the login form as ``username`` (the user fixtures' password)."""
    r = client.post("/login/password", data={"username": username, "password": password})
    assert r.status_code == 302, r.get_data(as_text=True)
    return client


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


@pytest.fixture(scope="session")
def chromium_process():
    """One headless chromium for all the browser tests this process runs (starting one takes
    seconds on a small machine); each test opens its own context, so no cookie is shared.
    Browser tests ask for ``browser`` (tests/browser_support.py)."""
    from tests.browser_support import chromium

    with chromium() as browser:
        yield browser
