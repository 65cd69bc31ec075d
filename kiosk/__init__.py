"""jifen's kiosk application: the Flask app factory.

Built in steps as in cookiecutter-flask: defaults, then instance config, then test overrides;
then extensions, blueprints, error handlers and CLI commands.
"""

from __future__ import annotations

import logging
import os
import secrets
from typing import Any

from flask import Flask

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

logger = logging.getLogger(__name__)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create and configure the kiosk app."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=os.path.join(ROOT, "templates"),
        static_folder=os.path.join(HERE, "static"),
    )
    from kiosk.config import DefaultConfig, database_url_from_env

    app.config.from_object(DefaultConfig)
    # Absolute, so a relative JIFEN_INSTANCE ("./village") means the same folder everywhere.
    instance_path = os.path.abspath(os.environ.get("JIFEN_INSTANCE") or app.instance_path)
    app.instance_path = instance_path
    app.config["SQLALCHEMY_DATABASE_URI"] = database_url_from_env(instance_path)
    # Before anything imports python-escpos: its capability cache goes under the instance.
    from hardware.escpos_cache import pin_capability_cache

    pin_capability_cache(os.path.join(instance_path, "cache", "escpos"))
    if test_config is None:
        os.makedirs(instance_path, exist_ok=True)
        # Generated secrets first, so that the village's own jifen.cfg and then the
        # environment (JIFEN_CARD_SECRET, JIFEN_SECRET_KEY) override them.
        _load_or_create_secrets(app)
        app.config.from_pyfile(os.path.join(instance_path, "jifen.cfg"), silent=True)
        for env_name, key in (
            ("JIFEN_CARD_SECRET", "JIFEN_CARD_SECRET"),
            ("JIFEN_SECRET_KEY", "SECRET_KEY"),
        ):
            if os.environ.get(env_name):
                app.config[key] = os.environ[env_name]
    else:
        app.config.update(test_config)

    # Chinese in JSON as UTF-8, readable in logs and by people reading the API's answers; a
    # service's sentence (kiosk.messages.Message) in the request's language.
    from kiosk.messages import MessageJSONProvider

    app.json = MessageJSONProvider(app)
    app.json.ensure_ascii = False
    register_request_guards(app)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    return app


def _load_or_create_secrets(app: Flask) -> None:
    """Installation secrets live in instance/secrets.cfg, made once on first start.

    Several kiosks on one PostgreSQL database must share ``JIFEN_CARD_SECRET``: set it in each
    kiosk's instance/jifen.cfg or in the environment variable of the same name.
    """
    path = os.path.join(app.instance_path, "secrets.cfg")
    if not os.path.exists(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(f"SECRET_KEY = {secrets.token_hex(32)!r}\n")
            f.write(f"JIFEN_CARD_SECRET = {secrets.token_hex(32)!r}\n")
    app.config.from_pyfile(path)


def register_request_guards(app: Flask) -> None:
    """Bounded ids, body sizes, JSON depth and no control characters, before any view runs."""
    from kiosk.web.guards import install

    @app.before_request
    def _forget_previous_user() -> None:
        # current_user() caches on g; a test client may reuse one app context for many requests.
        # First of the hooks: a guard's refusal is rendered in this request's language too.
        from flask import g

        g.pop("jifen_user", None)
        g.pop("jifen_auth", None)
        g.pop("jifen_supermarket", None)
        g.pop("_flask_babel", None)  # Flask-Babel's per-context locale cache

    install(app)


def register_extensions(app: Flask) -> None:
    from kiosk import models  # noqa: F401  (registers every mapper)
    from kiosk.database import configure_engine
    from kiosk.extensions import babel, csrf, db, migrate
    from kiosk.i18n import ensure_compiled

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(HERE, "migrations"))
    # Flask-Babel reads compiled .mo files; they are built here, not kept in git.
    translation_dirs = app.config.get("BABEL_TRANSLATION_DIRECTORIES", "translations")
    for translations_dir in translation_dirs.split(";"):
        ensure_compiled(os.path.join(app.root_path, translations_dir))
    babel.init_app(app, locale_selector=_select_locale)
    csrf.init_app(app)
    with app.app_context():
        configure_engine(db.engine)

    from kiosk.formatting import register_template_helpers

    register_template_helpers(app)


def _select_locale() -> str:
    from flask import has_request_context, request, session

    if not has_request_context():
        return "zh"  # the CLI and other work outside a request (report files) speak Chinese
    lang = request.args.get("lang") or session.get("lang")
    if lang in ("zh", "en"):
        session["lang"] = lang
        return lang
    return "zh"


def register_blueprints(app: Flask) -> None:
    from kiosk.api import bp as api_bp
    from kiosk.web import register_web

    app.register_blueprint(api_bp)
    register_web(app)


def register_errorhandlers(app: Flask) -> None:
    from kiosk.web.errors import register

    register(app)


def register_commands(app: Flask) -> None:
    from kiosk.cli import register

    register(app)
