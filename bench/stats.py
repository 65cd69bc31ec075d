"""What the benchmarks share: small statistics, throw-away databases, the results file."""

from __future__ import annotations

import os
from collections.abc import Callable


def percentile(samples: list[float], q: float) -> float:
    """The sample at quantile ``q`` (nearest rank) of ``samples``."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def write_results(path: str, text: str, marker: str) -> None:
    """Write a benchmark's generated ``text`` to ``path``, keeping everything from ``marker``
    on (the notes written by hand) from the file as it was."""
    notes = ""
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            old = f.read()
        if marker in old:
            notes = old[old.index(marker) :]
    with open(path, "w", encoding="utf-8") as f:
        f.write(text + ("\n" + notes if notes else ""))


PG_ADMIN_URL = os.environ.get(
    "JIFEN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def throwaway_database(
    backend: str, workdir: str, prefix: str, template: str | None = None
) -> tuple[str, Callable[[], None]]:
    """(URL, drop) of a new empty database: a file in ``workdir`` on SQLite, a database named
    ``prefix_<random>`` on PostgreSQL. ``drop()`` removes it and ``workdir``.

    ``template`` (PostgreSQL, a database URL): the new database is a copy of that one, on its
    server. The files are copied (``STRATEGY = FILE_COPY``) and a checkpoint taken, rather
    than the whole database written through the WAL (PostgreSQL 15's default), whose
    checkpoints would then run during the measured minutes; nothing may be connected to it.
    """
    import shutil
    import uuid

    import sqlalchemy as sa

    if backend == "sqlite":
        return (
            f"sqlite:///{os.path.join(workdir, 'bench.sqlite3')}",
            lambda: shutil.rmtree(workdir, ignore_errors=True),
        )
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin_url = sa.make_url(template).set(database="postgres") if template else PG_ADMIN_URL
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if template:
            source = sa.make_url(template).database
            conn.exec_driver_sql(
                f'CREATE DATABASE "{name}" TEMPLATE "{source}" STRATEGY = FILE_COPY'
            )
            conn.exec_driver_sql("CHECKPOINT")
        else:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
        shutil.rmtree(workdir, ignore_errors=True)

    url = sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    return url, drop
