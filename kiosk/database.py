"""Engine set-up and the one way services open a write transaction.

SQLite: WAL journal, ``synchronous=FULL``, foreign keys on, and write transactions opened with
``BEGIN IMMEDIATE`` so two kiosks serialise on the write lock instead of failing late.
PostgreSQL: services lock the rows they decrease with ``SELECT ... FOR UPDATE``; JIT is off.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVarTuple

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from kiosk.extensions import db

_Ts = TypeVarTuple("_Ts")  # a select's columns, kept through lock()

_configured: weakref.WeakSet = weakref.WeakSet()


def configure_engine(engine: sa.Engine) -> None:
    """Install the SQLite pragmas and begin hook on an engine (idempotent); on PostgreSQL,
    turn JIT compilation off for the engine's connections."""
    if engine in _configured:
        return
    if engine.dialect.name == "postgresql":
        _configured.add(engine)
        event.listen(engine, "connect", _postgresql_session)
        return
    if engine.dialect.name != "sqlite":
        return
    _configured.add(engine)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:
        # Let SQLAlchemy (below) emit BEGIN itself so that it can choose IMMEDIATE.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def _postgresql_session(dbapi_conn, _record) -> None:
    # JIT: the planner compiles any statement it costs above jit_above_cost, which the month's
    # grouped reports over a county are. Compiling took 250 ms of a 940 ms county area report
    # and bought nothing back (its statements run in well under a second); the counter's
    # statements never reach the threshold.
    autocommit = dbapi_conn.autocommit
    dbapi_conn.autocommit = True
    dbapi_conn.execute("SET jit = off")
    dbapi_conn.autocommit = autocommit


@contextmanager
def write_transaction(
    *, keep_loaded: bool = False, carry: Iterable[object] = ()
) -> Iterator[Session]:
    """Open the session's write transaction, commit on success, roll back on any error.

    Views only read before calling a service, so a read transaction still open is ended
    first; the write transaction then starts with ``BEGIN IMMEDIATE`` on SQLite. What that
    read transaction loaded is read afresh in the write transaction, except the ``carry``
    objects: the request's own context (the signed-in user acting), which the request stands
    on whatever it read, so reading it a second time would only cost a statement.

    ``keep_loaded``: the objects the transaction loaded and wrote keep their values after
    the commit (they are exactly what was committed, read under the transaction's locks),
    so the caller's answer is built without reading them again. They are expired as soon as
    the session begins its next transaction, so nothing later ever reads them stale.
    """
    session = db.session()
    kept = frozenset(id(obj) for obj in carry)
    if session.in_transaction():
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("unflushed changes outside a service transaction")
        if not _continues(session, kept):
            if kept:
                _commit_unexpired(session)
                _expire_all_but(session, kept)
            else:
                session.commit()
    if not session.in_transaction():
        session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
    try:
        yield session
        if keep_loaded:
            _commit_unexpired(session)
            session.info[_KEPT] = True
        else:
            session.commit()
    except BaseException:
        session.rollback()
        raise


def _continues(session: Session, kept: frozenset[int]) -> bool:
    """On PostgreSQL a read transaction that loaded nothing but the carried objects (``kept``:
    their ids) becomes the write transaction. Under read committed every statement reads what
    is committed when it runs, so ending it and beginning another would read nothing anew: it
    would only cost a COMMIT, a BEGIN and a second checkout of a pooled connection (with its
    ping). SQLite must end it: its write transaction begins IMMEDIATE."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    # (objects a committed transaction expired are read afresh wherever they are used)
    return bool(kept) and all(
        id(obj) in kept or sa.inspect(obj).expired for obj in session.identity_map.values()
    )


def _commit_unexpired(session: Session) -> None:
    """Commit, leaving the loaded objects' values in place (the caller says what expires)."""
    previous, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()
    finally:
        session.expire_on_commit = previous


def _expire_all_but(session: Session, kept: frozenset[int] = frozenset()) -> None:
    """Expire every loaded object but those in ``kept`` (ids), so the next read reads afresh;
    a change made to an object and not yet written stays, to be written."""
    for obj in list(session.identity_map.values()):
        if id(obj) in kept:
            continue
        state = sa.inspect(obj)
        if state.modified:
            session.expire(obj, list(state.unmodified))
        else:
            session.expire(obj)


_KEPT = "jifen.kept_loaded"


@event.listens_for(Session, "after_begin")
def _expire_kept(session: Session, _transaction, _connection) -> None:
    """The first transaction after a ``keep_loaded`` commit reads everything afresh, but for
    a change made to a kept object meanwhile: it stays, to be written by this transaction."""
    if session.info.pop(_KEPT, False):
        _expire_all_but(session)


def lock(stmt: sa.Select[*_Ts]) -> sa.Select[*_Ts]:
    """Add ``FOR UPDATE`` to a select (a no-op on SQLite, which holds the write lock)."""
    return stmt.with_for_update()
