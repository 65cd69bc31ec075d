"""Installation config: generated secrets, overridden by the village's jifen.cfg and the env."""

from __future__ import annotations

from kiosk import create_app
from kiosk.extensions import db


def _app(tmp_path, monkeypatch):
    monkeypatch.setenv("JIFEN_INSTANCE", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite3'}")
    return create_app()


def test_secrets_are_generated_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("JIFEN_CARD_SECRET", raising=False)
    first = _app(tmp_path, monkeypatch).config["JIFEN_CARD_SECRET"]
    again = _app(tmp_path, monkeypatch).config["JIFEN_CARD_SECRET"]
    assert first == again and len(first) >= 32
    assert (tmp_path / "secrets.cfg").stat().st_mode & 0o077 == 0


def test_jifen_cfg_and_environment_override_the_generated_secret(tmp_path, monkeypatch):
    monkeypatch.delenv("JIFEN_CARD_SECRET", raising=False)
    _app(tmp_path, monkeypatch)
    (tmp_path / "jifen.cfg").write_text("JIFEN_CARD_SECRET = 'shared-by-the-town'\n")
    assert _app(tmp_path, monkeypatch).config["JIFEN_CARD_SECRET"] == "shared-by-the-town"
    monkeypatch.setenv("JIFEN_CARD_SECRET", "from-the-environment")
    assert _app(tmp_path, monkeypatch).config["JIFEN_CARD_SECRET"] == "from-the-environment"


def test_a_relative_instance_folder_is_taken_from_where_jifen_starts(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JIFEN_INSTANCE", "village")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app()
    assert app.instance_path == str(tmp_path / "village")
    assert (
        app.config["SQLALCHEMY_DATABASE_URI"]
        == f"sqlite:///{tmp_path / 'village' / 'jifen.sqlite3'}"
    )
    assert (tmp_path / "village" / "secrets.cfg").exists()


def test_postgres_urls_use_psycopg(tmp_path, monkeypatch):
    monkeypatch.setenv("JIFEN_INSTANCE", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", "postgres://u@127.0.0.1:5432/jifen")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@127.0.0.1:5432/jifen"


def test_api_answers_in_readable_utf8(client):
    body = client.post("/api/v1/scan", json={"payload": "x"}).get_data()
    assert "请先登录".encode() in body and b"\\u" not in body


def test_each_backend_runs_with_its_session_settings(app):
    """SQLite: WAL, synchronous=FULL, foreign keys on. PostgreSQL: JIT compilation off (it
    cost a county's month-end report a quarter of its time), on every pooled connection."""
    conn = db.session.connection()
    if db.engine.dialect.name == "sqlite":
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    else:
        assert conn.exec_driver_sql("SHOW jit").scalar() == "off"
    db.session.rollback()
    with db.engine.connect() as other:  # a second connection from the pool
        if db.engine.dialect.name == "postgresql":
            assert other.exec_driver_sql("SHOW jit").scalar() == "off"
        else:
            assert other.exec_driver_sql("PRAGMA synchronous").scalar() == 2
