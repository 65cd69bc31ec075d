"""Unbound Flask extensions, bound to the app in :func:`kiosk.create_app`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click
from flask import Flask
from flask_babel import Babel
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base shared by every jifen model (kiosk and inventory)."""


class LazyMigrate:
    """Flask-Migrate, set up on first use: a serving kiosk never loads it (or Alembic, a
    fifth of the start-up time).

    ``init_app`` puts a stand-in at ``app.extensions["migrate"]`` and a ``db`` command group
    that loads Flask-Migrate's own commands when it is run; the first look at the stand-in
    (``jifen init``, a migration's env.py, ``jifen db ...``) sets up the real extension.
    """

    def init_app(self, app: Flask, db: SQLAlchemy, *, directory: str) -> None:
        app.extensions["migrate"] = _PendingMigrate(app, db, directory)
        app.cli.add_command(_LazyDbGroup("db", help="Flask-Migrate 的数据库迁移命令"))


class _PendingMigrate:
    def __init__(self, app: Flask, db: SQLAlchemy, directory: str) -> None:
        self._setup = (app, db, directory)

    def load(self) -> Any:
        from flask_migrate import Migrate

        app, db, directory = self._setup
        Migrate(app, db, directory=directory)
        return app.extensions["migrate"]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.load(), name)


def real_migrate(app: Flask) -> Any:
    """The app's Flask-Migrate configuration, set up now if it was still pending."""
    config = app.extensions["migrate"]
    return config.load() if isinstance(config, _PendingMigrate) else config


class _LazyDbGroup(click.Group):
    """``jifen db``: Flask-Migrate's own command group, imported when it is run."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        from flask_migrate.cli import db as real_group

        return real_group.make_context(info_name, args, parent=parent, **extra)


db = SQLAlchemy(model_class=Base)
if TYPE_CHECKING:
    # At run time ``db.Model`` is a subclass of Base that Flask-SQLAlchemy makes; the type
    # checker is told so, and sees each model's mapped columns.
    Model = Base
else:
    Model = db.Model
migrate = LazyMigrate()
babel = Babel()
csrf = CSRFProtect()
