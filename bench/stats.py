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


def throwaway_database(backend: str, workdir: str, prefix: str) -> tuple[str, Callable[[], None]]:
    """(URL, drop) of a new empty database: a file in ``workdir`` on SQLite, a database named
    ``prefix_<random>`` on PostgreSQL. ``drop()`` removes it and ``workdir``."""
    import shutil
    import uuid

    import sqlalchemy as sa

    if backend == "sqlite":
        return (
            f"sqlite:///{os.path.join(workdir, 'bench.sqlite3')}",
            lambda: shutil.rmtree(workdir, ignore_errors=True),
        )
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
        shutil.rmtree(workdir, ignore_errors=True)

    url = sa.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    return url, drop
