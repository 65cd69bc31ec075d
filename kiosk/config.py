"""Default configuration. Instance config (``instance/jifen.cfg``) and test overrides follow."""

from __future__ import annotations

import os


class DefaultConfig:
    """Settings every installation starts from."""

    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    BABEL_DEFAULT_LOCALE = "zh"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    # English catalogue (compiled at start by kiosk.i18n); absolute, whatever the working directory.
    BABEL_TRANSLATION_DIRECTORIES = os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "translations"
    )
    JIFEN_TIMEZONE = "Asia/Shanghai"
    # Which supermarket this kiosk serves (its code); the first one when unset.
    JIFEN_SUPERMARKET = None
    # Printer: "preview" keeps receipts in the database and shows them on screen.
    JIFEN_PRINTER = {"type": "preview", "paper_mm": 80}
    JIFEN_PASSWORD_METHOD = "scrypt"
    # Failed logins (kiosk.login_limits): the wait after the 1st, 2nd, ... wrong password or
    # PIN on an account or a device, in seconds (the last repeats); a counter is forgotten
    # after JIFEN_LOGIN_FORGET_MINUTES without a failure. At most JIFEN_PIN_GUESSES_PER_HOUR
    # wrong PINs an hour per account and per device; then the PIN waits out the hour (the
    # password still works after the ordinary wait).
    JIFEN_LOGIN_DELAYS = (0, 0, 15, 30, 60, 120)
    JIFEN_LOGIN_FORGET_MINUTES = 60
    JIFEN_PIN_GUESSES_PER_HOUR = 10
    JIFEN_SELF_SERVICE_IDLE_SECONDS = 20
    PERMANENT_SESSION_LIFETIME = 8 * 3600
    SESSION_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = None
    # A session ends this long after the last request (the counter left logged in); the
    # absolute limit from login is PERMANENT_SESSION_LIFETIME.
    JIFEN_SESSION_IDLE_MINUTES = 30
    # Forged card codes (kiosk.scan_guard): per window, MAX_FAILURES forged or unknown codes
    # are answered; the next ones get 429 for LOCK_MINUTES (valid cards are still answered),
    # and HALT_FAILURES of them in one window and its lock stop all scanning for LOCK_MINUTES.
    # SELF: per self-service kiosk (address); COUNTER: per API token and per user.
    JIFEN_SELF_SCAN_MAX_FAILURES = 10
    JIFEN_SELF_SCAN_WINDOW_MINUTES = 5
    JIFEN_SELF_SCAN_LOCK_MINUTES = 5
    JIFEN_SELF_SCAN_HALT_FAILURES = 30
    JIFEN_COUNTER_SCAN_MAX_FAILURES = 20
    JIFEN_COUNTER_SCAN_WINDOW_MINUTES = 10
    JIFEN_COUNTER_SCAN_LOCK_MINUTES = 10
    JIFEN_COUNTER_SCAN_HALT_FAILURES = 60
    # Request limits (kiosk.web.guards): the largest body anything may send (a 20 MB import
    # and its form), the default for JSON and forms, and how deep a JSON body may nest.
    MAX_CONTENT_LENGTH = 21 * 1024 * 1024
    JIFEN_MAX_BODY_BYTES = 1024 * 1024
    MAX_FORM_MEMORY_SIZE = JIFEN_MAX_BODY_BYTES  # a form's text fields (Flask's default: 500 kB)
    JIFEN_MAX_JSON_DEPTH = 32


def database_url_from_env(instance_path: str) -> str:
    """``DATABASE_URL`` when set (PostgreSQL for a town or county), else SQLite in instance/."""
    url = os.environ.get("DATABASE_URL")
    if url:
        if url.startswith("postgres://"):
            url = "postgresql://" + url[len("postgres://") :]
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://") :]
        return url
    return "sqlite:///" + os.path.join(instance_path, "jifen.sqlite3")
